/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "neutron": the session with Octavia (the load-balancer API v2),
 * which lb.c's load balancers are made through. Its URL is [octavia]
 * endpoint_override, else Keystone's catalog (service type load-balancer,
 * at Neutron's interface and region). It has the credentials, timeout and
 * retry rules of the Neutron session, but a session of its own: an
 * os_session serves one service type, so with Keystone it logs in once
 * more for its own token (the catalog lookup is part of the login).
 *
 * Octavia locks a load balancer while a change of it or of anything under
 * it is made (provisioning_status PENDING_*; with the OVN provider some
 * 0.1 s), and a change of a locked one is refused with 409: a change
 * waits for ACTIVE before and after, and repeats what a 409 refused. */
#include <stdio.h>

#include "neutron-private.h"
#include "time-util.h"

#define NO_ENDPOINT                                                                       \
	"no load-balancer endpoint: set [octavia] endpoint_override or register Octavia " \
	"in Keystone"

int octavia_new(struct neutron_backend *nb, const struct neutron_opts *o, char **reterr_msg)
{
	const char *url = o->octavia_endpoint ? o->octavia_endpoint : "";
	int r;

	/* Without Keystone there is no catalog to find Octavia in. */
	if (!*url && o->auth->auth_type == OS_AUTH_NONE)
		return 0;
	r = os_auth_config_copy(&nb->lb_auth, o->auth);
	if (r < 0)
		return r;
	nb->lb_auth_set = true;
	free(nb->lb_auth.endpoint_override);
	nb->lb_auth.endpoint_override = strdup(url);
	if (!nb->lb_auth.endpoint_override)
		return -ENOMEM;
	return os_session_new(&(struct os_session_opts){ .auth = &nb->lb_auth,
							 .service_type = "load-balancer",
							 .timeout_ms = nb->timeout_ms,
							 .max_concurrent = o->max_concurrent },
			      &nb->lb, reterr_msg);
}

void octavia_free(struct neutron_backend *nb)
{
	os_session_free(nb->lb);
	nb->lb = NULL;
	if (nb->lb_auth_set)
		os_auth_config_release(&nb->lb_auth);
	nb->lb_auth_set = false;
}

uint64_t octavia_deadline(struct neutron_backend *nb)
{
	return now_ms() + (uint64_t)nb->timeout_ms;
}

static int left_ms(uint64_t deadline_ms)
{
	uint64_t now = now_ms();

	return deadline_ms > now + 1 ? (int)(deadline_ms - now) : 1;
}

int octavia_api(struct neutron_backend *nb, const char *method, const char *path, json_t *body,
		uint64_t deadline_ms, json_t **ret, char **reterr_msg)
{
	_cleanup_free_ char *full = NULL, *msg = NULL;
	long status = 0;
	int r;

	if (ret)
		*ret = NULL;
	if (!nb->lb) {
		json_decref(body);
		set_errmsg(reterr_msg, NO_ENDPOINT);
		return -EOPNOTSUPP;
	}
	if (asprintf(&full, "/v2/lbaas%s", path) < 0) {
		json_decref(body);
		return -ENOMEM;
	}
	r = os_request(nb->lb, method, full, body, left_ms(deadline_ms),
		       streq(method, "POST") ? 0 : OS_REQ_IDEMPOTENT, ret, &status, &msg);
	if (r == 0)
		return 0;
	if (r == -EACCES && os_session_no_service(nb->lb)) {
		set_errmsg(reterr_msg, NO_ENDPOINT " (%s)", msg ? msg : "not in the catalog");
		return -EOPNOTSUPP;
	}
	if (status == 501) {
		/* The provider (ovn) has no such protocol, algorithm or
		 * check type: Octavia's faultstring says which. */
		set_errmsg(reterr_msg, "Octavia cannot do that: %s", msg ? msg : "HTTP 501");
		return -EOPNOTSUPP;
	}
	if (status == 409 && msg && strstr(msg, "immutable")) {
		set_errmsg(reterr_msg, "%s", msg);
		return -EBUSY;
	}
	if (reterr_msg && msg) {
		free(*reterr_msg);
		*reterr_msg = TAKE_PTR(msg);
	}
	/* The backend contract: unreachable is -ENOTCONN, never -ENOENT. */
	return r == -ECONNREFUSED ? -ENOTCONN : r;
}

int octavia_wait_active(struct neutron_backend *nb, const char *lb_id, uint64_t deadline_ms,
			char **reterr_msg)
{
	_cleanup_free_ char *path = strdup_printf("/loadbalancers/%s", lb_id);
	long pause = 20;

	if (!path)
		return -ENOMEM;
	for (;;) {
		_cleanup_json_ json_t *res = NULL;
		const char *st;
		int r;

		r = octavia_api(nb, "GET", path, NULL, deadline_ms, &res, reterr_msg);
		if (r < 0)
			return r;
		st = json_object_get_str(json_object_get(res, "loadbalancer"),
					 "provisioning_status");
		if (streq_ptr(st, "ACTIVE"))
			return 0;
		if (streq_ptr(st, "ERROR")) {
			set_errmsg(reterr_msg,
				   "Octavia's load balancer %s is in provisioning_status ERROR "
				   "(octavia's log says why; delete it and make it again)",
				   lb_id);
			return -EIO;
		}
		if (now_ms() + (uint64_t)pause >= deadline_ms) {
			set_errmsg(reterr_msg,
				   "Octavia's load balancer %s still %s after the timeout", lb_id,
				   st ? st : "without a status");
			return -ETIMEDOUT;
		}
		msleep(pause);
		if (pause < 400)
			pause *= 2;
	}
}

int octavia_change(struct neutron_backend *nb, const char *lb_id, const char *method,
		   const char *path, json_t *body, uint64_t deadline_ms, json_t **ret,
		   char **reterr_msg)
{
	_cleanup_json_ json_t *b = body;
	int r;

	for (;;) {
		r = octavia_wait_active(nb, lb_id, deadline_ms, reterr_msg);
		if (r < 0)
			return r;
		r = octavia_api(nb, method, path, b ? json_incref(b) : NULL, deadline_ms, ret,
				reterr_msg);
		/* Someone else's change came in between: wait for it. */
		if (r != -EBUSY || now_ms() >= deadline_ms)
			break;
		if (reterr_msg) {
			free(*reterr_msg);
			*reterr_msg = NULL;
		}
	}
	if (r < 0)
		return r;
	/* *ret stays: what was made, for the caller to undo. */
	return octavia_wait_active(nb, lb_id, deadline_ms, reterr_msg);
}
