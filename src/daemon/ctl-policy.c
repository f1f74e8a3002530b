/* SPDX-License-Identifier: Apache-2.0 */
/* The operator's verbs on trunks, security groups and QoS policies, for
 * backends that have them (capability bits). */
#include <arpa/inet.h>
#include <stdio.h>

#include "daemon-private.h"
#include "json-util.h"
#include "log.h"
#include "net-util.h"

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

static bool strv_contains(const char *const *v, const char *s)
{
	for (; *v; v++)
		if (streq(*v, s))
			return true;
	return false;
}

/* rule-add's arguments: direction?, ethertype?, protocol?, port? ("N"
 * or "N:M"), remote_ip? (normalized into @rip) or remote_group?. NULL, or
 * the error reply. */
static json_t *rule_parse(json_t *args, struct sg_rule *rule, char rip[64])
{
	static const char *const protocols[] = { "tcp", "udp", "icmp", "icmpv6", "any", NULL };
	const char *dir = json_object_get_str(args, "direction");
	const char *ether = json_object_get_str(args, "ethertype");
	const char *proto = json_object_get_str(args, "protocol");
	const char *port = json_object_get_str(args, "port");
	long lo = 0, hi = 0;

	*rule = (struct sg_rule){ .direction = dir ? dir : "ingress",
				  .ethertype = ether ? ether : "IPv4",
				  .protocol = proto && !streq(proto, "any") ? proto : NULL,
				  .remote_ip_prefix = json_object_get_str(args, "remote_ip"),
				  .remote_group = json_object_get_str(args, "remote_group") };
	if (!streq(rule->direction, "ingress") && !streq(rule->direction, "egress"))
		return reply_error(400, "invalid argument", "--direction is ingress or egress");
	if (!streq(rule->ethertype, "IPv4") && !streq(rule->ethertype, "IPv6"))
		return reply_error(400, "invalid argument", "--ethertype is IPv4 or IPv6");
	if (proto && !strv_contains(protocols, proto))
		return reply_error(400, "invalid argument",
				   "--protocol is tcp, udp, icmp, icmpv6 or any");
	if (proto && streq(proto, streq(rule->ethertype, "IPv4") ? "icmpv6" : "icmp"))
		return reply_error(400, "invalid argument",
				   streq(rule->ethertype, "IPv4")
				       ? "--protocol icmpv6 needs --ethertype IPv6"
				       : "--protocol icmp needs --ethertype IPv4");
	if (rule->remote_ip_prefix && rule->remote_group)
		return reply_error(400, "invalid argument",
				   "--remote-ip and --remote-group exclude each other");
	if (rule->remote_ip_prefix) {
		bool v4 = streq(rule->ethertype, "IPv4");

		if (ip_prefix_normalize(rule->remote_ip_prefix, v4 ? AF_INET : AF_INET6, rip, 64) <
		    0)
			return reply_error(400, "invalid argument",
					   v4 ? "--remote-ip is an IPv4 address or CIDR"
					      : "--remote-ip is an IPv6 address or CIDR");
		rule->remote_ip_prefix = rip;
	}
	if (rule->remote_group && !*rule->remote_group)
		return reply_error(400, "invalid argument", "--remote-group names a group");
	if (port) {
		_cleanup_free_ char *p = strdup(port);
		char *colon = p ? strchr(p, ':') : NULL;

		if (colon)
			*colon = 0;
		if (!p || parse_uint(p, 1, 65535, &lo) < 0 ||
		    parse_uint(colon ? colon + 1 : p, lo, 65535, &hi) < 0)
			return reply_error(400, "invalid argument",
					   "--port is N or N:M, within 1..65535");
		if (!rule->protocol || (!streq(proto, "tcp") && !streq(proto, "udp")))
			return reply_error(400, "invalid argument",
					   "--port needs --protocol tcp or udp");
	}
	rule->port_min = (int)lo;
	rule->port_max = (int)hi;
	return NULL;
}

/* security-group.list {}, .create|show|delete|rule-list {name},
 * .rule-add {name, and rule_parse()'s}, .rule-delete {rule} */
json_t *ctl_security_group(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const struct backend_ops *ops = d->backend->ops;
	const char *name = json_object_get_str(args, "name");
	json_t *out = NULL;
	int r;

	if (!(ops->caps & BACKEND_CAP_SECURITY_GROUPS))
		return unsupported(d, "security groups");
	if (streq(verb, "security-group.list")) {
		r = ops->sg_list(d->backend, &out, &err);
		return r < 0 ? reply_ctl_errno(r, "cannot list the security groups", err)
			     : reply_ok(out);
	}
	if (streq(verb, "security-group.rule-delete")) {
		const char *rule = json_object_get_str(args, "rule");

		if (!rule || !*rule)
			return reply_error(400, "missing argument", "rule");
		r = ops->sg_rule_delete(d->backend, rule, &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot delete the rule", err);
		log_info("event=sg-rule-delete rule=%s", rule);
		return reply_ok(NULL);
	}
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
		char rip[64];
		json_t *bad = rule_parse(args, &rule, rip);

		if (bad)
			return bad;
		r = ops->sg_rule_add(d->backend, name, &rule, &out, &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot add the rule", err);
		log_info("event=sg-rule-add group=%s rule=%s", name,
			 json_object_get_str(out, "id"));
		return reply_ok(out);
	}
	r = ops->sg_get(d->backend, name, &out, &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot show the security group", err);
	if (streq(verb, "security-group.rule-list")) {
		json_t *rules = json_incref(json_object_get(out, "rules"));

		json_decref(out);
		return reply_ok(rules);
	}
	return reply_ok(out);
}

/* Neutron's valid DSCP marks (neutron-lib's VALID_DSCP_MARKS): the
 * standard per-hop behaviours' code points, not every value of 0..63. */
static bool dscp_valid(long v)
{
	static const unsigned char marks[] = { 0,  8,  10, 12, 14, 16, 18, 20, 22, 24, 26,
					       28, 30, 32, 34, 36, 38, 40, 46, 48, 56 };

	for (size_t i = 0; i < ELEMENTSOF(marks); i++)
		if (marks[i] == v)
			return true;
	return false;
}

/* qos.create's arguments: max_kbps?, max_burst_kbps?, direction?, dscp?
 * (strings, as kuryrctl sends them). NULL, or the error reply. */
static json_t *qos_parse(json_t *args, struct qos_spec *spec)
{
	const char *kbps = json_object_get_str(args, "max_kbps");
	const char *burst = json_object_get_str(args, "max_burst_kbps");
	const char *dscp = json_object_get_str(args, "dscp");
	long v;

	*spec = (struct qos_spec){ .name = json_object_get_str(args, "name"),
				   .direction = json_object_get_str(args, "direction"),
				   .dscp = -1 };
	if (!kbps && !dscp)
		return reply_error(400, "missing argument",
				   "a QoS policy needs --max-kbps, --dscp or both");
	if (kbps) {
		if (parse_uint(kbps, 1, INT32_MAX, &v) < 0)
			return reply_error(400, "invalid argument",
					   "--max-kbps is a positive number of kbit/s");
		spec->max_kbps = (unsigned)v;
	} else if (burst || spec->direction)
		return reply_error(400, "invalid argument",
				   "--max-burst-kbps and --direction are those of --max-kbps");
	if (burst) {
		if (parse_uint(burst, 0, INT32_MAX, &v) < 0)
			return reply_error(400, "invalid argument",
					   "--max-burst-kbps is a number of kbit");
		spec->max_burst_kbps = (unsigned)v;
	}
	if (spec->direction && !streq(spec->direction, "egress") &&
	    !streq(spec->direction, "ingress"))
		return reply_error(400, "invalid argument", "--direction is egress or ingress");
	if (dscp) {
		if (parse_uint(dscp, 0, 63, &v) < 0 || !dscp_valid(v))
			return reply_error(400, "invalid argument",
					   "--dscp is 0, an even number in 8..40, 46, 48 or 56 "
					   "(Neutron's valid marks)");
		spec->dscp = (int)v;
	}
	return NULL;
}

/* qos.create {name, qos_parse()'s}, qos.list, qos.show|delete {name} */
json_t *ctl_qos(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const struct backend_ops *ops = d->backend->ops;
	const char *name = json_object_get_str(args, "name");
	struct qos_spec spec;
	json_t *out = NULL, *bad;
	int r;

	if (!(ops->caps & BACKEND_CAP_QOS))
		return unsupported(d, "QoS policies");
	if (streq(verb, "qos.list")) {
		r = ops->qos_list(d->backend, &out, &err);
		return r < 0 ? reply_ctl_errno(r, "cannot list the QoS policies", err)
			     : reply_ok(out);
	}
	if (!name || !*name)
		return reply_error(400, "missing argument", "name");
	if (streq(verb, "qos.show")) {
		r = ops->qos_get(d->backend, name, &out, &err);
		return r < 0 ? reply_ctl_errno(r, "cannot show the QoS policy", err)
			     : reply_ok(out);
	}
	if (streq(verb, "qos.delete")) {
		r = ops->qos_delete(d->backend, name, &err);
		if (r == 0)
			log_info("event=qos-delete qos=%s", name);
		return r < 0 ? reply_ctl_errno(r, "cannot delete the QoS policy", err)
			     : reply_ok(NULL);
	}
	bad = qos_parse(args, &spec);
	if (bad)
		return bad;
	r = ops->qos_create(d->backend, &spec, &out, &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot create the QoS policy", err);
	log_info("event=qos-create qos=%s id=%s", name, json_object_get_str(out, "id") ?: "");
	return reply_ok(out);
}
