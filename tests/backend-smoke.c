/* SPDX-License-Identifier: Apache-2.0 */
/* backend-smoke: one backend call, made from a kuryr.conf as kuryrd makes
 * its backend, for end-to-end tests of a backend's verbs that kuryrctl
 * does not have yet (load balancers). Prints the call's JSON on stdout, or
 * "ERRNO-NAME: message" on stderr and exits with the errno.
 *
 *   backend-smoke CONF lb-create NAME NETWORK [VIP]
 *   backend-smoke CONF lb-get|lb-delete LB
 *   backend-smoke CONF lb-list
 *   backend-smoke CONF pool-create LB POOL PROTO PORT [MEMBER_PORT [CHECK DELAY TIMEOUT RETRIES]]
 *   backend-smoke CONF pool-get|pool-delete POOL
 *   backend-smoke CONF member-add POOL ADDRESS [PORT [NETWORK [OWNER]]]
 *   backend-smoke CONF member-remove POOL MEMBER
 *   backend-smoke CONF caps */
#include <stdio.h>
#include <stdlib.h>

#include "backend/backend.h"
#include "daemon/config.h"
#include "json-util.h"
#include "macro.h"

static const char *errno_name(int e)
{
	switch (e) {
	case ENOENT:
		return "ENOENT";
	case ESRCH:
		return "ESRCH";
	case EEXIST:
		return "EEXIST";
	case EINVAL:
		return "EINVAL";
	case ENOTUNIQ:
		return "ENOTUNIQ";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case ENOTCONN:
		return "ENOTCONN";
	case EBUSY:
		return "EBUSY";
	case EIO:
		return "EIO";
	default:
		return "E?";
	}
}

static unsigned num(const char *s)
{
	return s ? (unsigned)strtoul(s, NULL, 10) : 0;
}

static int call(struct backend *b, int argc, char **argv, json_t **ret, char **msg)
{
	const struct backend_ops *o = b->ops;
	const char *v = argv[0];

	if (streq(v, "caps")) {
		*ret = json_pack("{s:b, s:b}", "loadbalancers", o->caps & BACKEND_CAP_LOADBALANCERS,
				 "lb_fast", o->caps & BACKEND_CAP_LB_FAST);
		return 0;
	}
	if (!o->lb_create)
		return -EOPNOTSUPP;
	if (streq(v, "lb-create") && argc >= 3)
		return o->lb_create(
		    b, &(struct lb_spec){ .name = argv[1], .network = argv[2], .vip = argv[3] },
		    ret, msg);
	if (streq(v, "lb-get") && argc >= 2)
		return o->lb_get(b, argv[1], ret, msg);
	if (streq(v, "lb-list"))
		return o->lb_list(b, ret, msg);
	if (streq(v, "lb-delete") && argc >= 2)
		return o->lb_delete(b, argv[1], msg);
	if (streq(v, "pool-create") && argc >= 5) {
		struct lb_pool_spec s = {
			.lb = argv[1],
			.name = argv[2],
			.protocol = argv[3],
			.port = num(argv[4]),
			.member_port = argc > 5 ? num(argv[5]) : 0,
		};
		if (argc >= 10) {
			s.check = argv[6];
			s.delay = num(argv[7]);
			s.timeout = num(argv[8]);
			s.max_retries = num(argv[9]);
		}
		return o->lb_pool_create(b, &s, ret, msg);
	}
	if (streq(v, "pool-get") && argc >= 2)
		return o->lb_pool_get(b, argv[1], ret, msg);
	if (streq(v, "pool-delete") && argc >= 2)
		return o->lb_pool_delete(b, argv[1], msg);
	if (streq(v, "member-add") && argc >= 3) {
		struct kuryr_network net;
		struct lb_member_spec s = {
			.pool = argv[1],
			.address = argv[2],
			.port = argc > 3 ? num(argv[3]) : 0,
			.owner = argc > 5 ? argv[5] : "",
		};
		if (argc > 4 && *argv[4]) {
			int r = o->network_get(b, argv[4], &net, msg);

			if (r < 0)
				return r;
			s.net = &net;
		}
		return o->lb_member_add(b, &s, ret, msg);
	}
	if (streq(v, "member-remove") && argc >= 3)
		return o->lb_member_remove(b, argv[1], argv[2], msg);
	*msg = strdup("bad usage (see tests/backend-smoke.c)");
	return -EINVAL;
}

int main(int argc, char **argv)
{
	_cleanup_free_ char *msg = NULL;
	json_t *ret = NULL;
	struct kuryr_config cfg;
	const struct backend_driver *drv;
	struct backend *b = NULL;
	int r;

	if (argc < 3) {
		fprintf(stderr, "usage: %s CONF VERB ARGS... (see tests/backend-smoke.c)\n",
			argv[0]);
		return 2;
	}
	if (config_init(&cfg) < 0)
		return 1;
	r = config_load(&cfg, argv[1], &msg);
	if (r == 0)
		r = config_finish(&cfg, &msg);
	if (r >= 0) {
		drv = config_backend_driver(&cfg);
		r = drv->new (config_backend(&cfg, drv->name),
			      &(struct backend_env){ .host = cfg.host ? cfg.host : "smoke",
						     .bridge = config_bridge(&cfg) },
			      &b, &msg);
	}
	if (r >= 0)
		r = call(b, argc - 2, argv + 2, &ret, &msg);
	if (r < 0)
		fprintf(stderr, "%s: %s\n", errno_name(-r), msg ? msg : strerror(-r));
	else if (ret) {
		char *s = json_dumps(ret, JSON_COMPACT | JSON_SORT_KEYS);

		printf("%s\n", s ? s : "null");
		free(s);
	}
	json_decref(ret);
	backend_free(b);
	config_release(&cfg);
	return r < 0 ? -r : 0;
}
