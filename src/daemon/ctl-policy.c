/* SPDX-License-Identifier: Apache-2.0 */
/* The operator's verbs on trunks, security groups and QoS policies, for
 * backends that have them (capability bits). */
#include <stdio.h>

#include "daemon-private.h"
#include "json-util.h"
#include "log.h"

static json_t *unsupported(struct kuryrd *d, const char *what)
{
	_cleanup_free_ char *m = strdup_printf(
	    "%s need backend neutron (this node runs backend %s)", what, d->backend->ops->name);

	return reply_error(501, "not supported", m ? m : what);
}

/* trunk.create {port, name?}, trunk.show|delete {trunk},
 * trunk.add-subport {trunk, port, vlan}, trunk.remove-subport {trunk, port} */
json_t *ctl_trunk(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const struct backend_ops *ops = d->backend->ops;
	const char *trunk = json_object_get_str(args, "trunk");
	const char *port = json_object_get_str(args, "port");
	json_t *t = NULL;
	int r;

	if (!(ops->caps & BACKEND_CAP_TRUNKS))
		return unsupported(d, "trunks");
	if (streq(verb, "trunk.create")) {
		if (!port)
			return reply_error(400, "missing argument", "port");
		r = ops->trunk_create(d->backend, port, json_object_get_str(args, "name"), &t,
				      &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot create the trunk", err);
		log_info("event=trunk-create trunk=%s port=%s", json_object_get_str(t, "id"), port);
		return reply_ok(t);
	}
	if (!trunk)
		return reply_error(400, "missing argument", "trunk");
	if (streq(verb, "trunk.show")) {
		r = ops->trunk_get(d->backend, trunk, &t, &err);
		return r < 0 ? reply_ctl_errno(r, "cannot show the trunk", err) : reply_ok(t);
	}
	if (streq(verb, "trunk.delete")) {
		r = ops->trunk_delete(d->backend, trunk, &err);
		return r < 0 ? reply_ctl_errno(r, "cannot delete the trunk", err) : reply_ok(NULL);
	}
	if (!port)
		return reply_error(400, "missing argument", "port");
	if (streq(verb, "trunk.add-subport")) {
		json_t *vlan = json_object_get(args, "vlan");

		if (!json_is_integer(vlan))
			return reply_error(400, "missing argument", "vlan");
		r = ops->trunk_subport(d->backend, trunk, true, port,
				       (unsigned)json_integer_value(vlan), &err);
	} else
		r = ops->trunk_subport(d->backend, trunk, false, port, 0, &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot change the trunk's subports", err);
	r = ops->trunk_get(d->backend, trunk, &t, &err);
	return r < 0 ? reply_ctl_errno(r, "cannot show the trunk", err) : reply_ok(t);
}

/* A decimal in [lo, hi] from string @s: 0, or -EINVAL. */
static int parse_uint(const char *s, long lo, long hi, long *ret)
{
	char *end;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	*ret = strtol(s, &end, 10);
	return *end || errno || *ret < lo || *ret > hi ? -EINVAL : 0;
}

/* rule-add's arguments: direction?, protocol?, port? ("N" or "N:M"),
 * remote_ip?. NULL, or the error reply. */
static json_t *rule_parse(json_t *args, struct sg_rule *rule)
{
	const char *dir = json_object_get_str(args, "direction");
	const char *proto = json_object_get_str(args, "protocol");
	const char *port = json_object_get_str(args, "port");
	long lo = 0, hi = 0;

	*rule = (struct sg_rule){ .direction = dir ? dir : "ingress",
				  .protocol = proto,
				  .remote_ip_prefix = json_object_get_str(args, "remote_ip") };
	if (!streq(rule->direction, "ingress") && !streq(rule->direction, "egress"))
		return reply_error(400, "invalid argument", "--direction is ingress or egress");
	if (proto && !streq(proto, "tcp") && !streq(proto, "udp") && !streq(proto, "icmp"))
		return reply_error(400, "invalid argument", "--protocol is tcp, udp or icmp");
	if (port) {
		_cleanup_free_ char *p = strdup(port);
		char *colon = p ? strchr(p, ':') : NULL;

		if (colon)
			*colon = 0;
		if (!p || parse_uint(p, 1, 65535, &lo) < 0 ||
		    parse_uint(colon ? colon + 1 : p, lo, 65535, &hi) < 0)
			return reply_error(400, "invalid argument",
					   "--port is N or N:M, within 1..65535");
		if (!proto || streq(proto, "icmp"))
			return reply_error(400, "invalid argument",
					   "--port needs --protocol tcp or udp");
	}
	rule->port_min = (int)lo;
	rule->port_max = (int)hi;
	return NULL;
}

/* security-group.create|show|delete {name}, security-group.rule-add {name,
 * and rule_parse()'s} */
json_t *ctl_security_group(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const struct backend_ops *ops = d->backend->ops;
	const char *name = json_object_get_str(args, "name");
	json_t *out = NULL;
	int r;

	if (!(ops->caps & BACKEND_CAP_SECURITY_GROUPS))
		return unsupported(d, "security groups");
	if (!name || !*name)
		return reply_error(400, "missing argument", "name");
	if (streq(verb, "security-group.create")) {
		r = ops->sg_create(d->backend, name, &out, &err);
		return r < 0 ? reply_ctl_errno(r, "cannot create the security group", err)
			     : reply_ok(out);
	}
	if (streq(verb, "security-group.delete")) {
		r = ops->sg_delete(d->backend, name, &err);
		return r < 0 ? reply_ctl_errno(r, "cannot delete the security group", err)
			     : reply_ok(NULL);
	}
	if (streq(verb, "security-group.rule-add")) {
		struct sg_rule rule;
		json_t *bad = rule_parse(args, &rule);

		if (bad)
			return bad;
		r = ops->sg_rule_add(d->backend, name, &rule, &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot add the rule", err);
	}
	r = ops->sg_get(d->backend, name, &out, &err);
	return r < 0 ? reply_ctl_errno(r, "cannot show the security group", err) : reply_ok(out);
}

/* qos.create {name, max_kbps, max_burst_kbps?}, qos.delete {name} */
json_t *ctl_qos(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const struct backend_ops *ops = d->backend->ops;
	const char *name = json_object_get_str(args, "name");
	json_t *out = NULL;
	long kbps, burst = 0;
	int r;

	if (!(ops->caps & BACKEND_CAP_QOS))
		return unsupported(d, "QoS policies");
	if (!name || !*name)
		return reply_error(400, "missing argument", "name");
	if (streq(verb, "qos.delete")) {
		r = ops->qos_delete(d->backend, name, &err);
		return r < 0 ? reply_ctl_errno(r, "cannot delete the QoS policy", err)
			     : reply_ok(NULL);
	}
	if (parse_uint(json_object_get_str(args, "max_kbps"), 1, INT32_MAX, &kbps) < 0)
		return reply_error(400, "invalid argument",
				   "--max-kbps is a positive number of kbit/s");
	if (json_object_get(args, "max_burst_kbps") &&
	    parse_uint(json_object_get_str(args, "max_burst_kbps"), 0, INT32_MAX, &burst) < 0)
		return reply_error(400, "invalid argument", "--max-burst-kbps is a number of kbit");
	r = ops->qos_create(d->backend, name, (unsigned)kbps, (unsigned)burst, &out, &err);
	return r < 0 ? reply_ctl_errno(r, "cannot create the QoS policy", err) : reply_ok(out);
}
