/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "neutron": security groups and QoS policies. */
#include <stdio.h>

#include "neutron-private.h"

static json_t *rule_json(json_t *r)
{
	return json_pack(
	    "{s:s?, s:s?, s:s?, s:s?, s:I, s:I, s:s?, s:s?}", "id", json_object_get_str(r, "id"),
	    "direction", json_object_get_str(r, "direction"), "ethertype",
	    json_object_get_str(r, "ethertype"), "protocol", json_object_get_str(r, "protocol"),
	    "port_min", json_integer_value(json_object_get(r, "port_range_min")), "port_max",
	    json_integer_value(json_object_get(r, "port_range_max")), "remote_ip_prefix",
	    json_object_get_str(r, "remote_ip_prefix"), "remote_group",
	    json_object_get_str(r, "remote_group_id"));
}

static json_t *sg_json(json_t *g)
{
	json_t *rules = json_array(), *r;
	size_t i;

	json_array_foreach(json_object_get(g, "security_group_rules"), i, r)
		json_array_append_new(rules, rule_json(r));
	return json_pack("{s:s?, s:s?, s:o}", "id", json_object_get_str(g, "id"), "name",
			 json_object_get_str(g, "name"), "rules", rules);
}

static int sg_id(struct neutron_backend *nb, const char *sg, char id[40], char **reterr_msg)
{
	return neutron_resolve_id(nb, &neutron_kind_sg, sg, NULL, id, reterr_msg);
}

int neutron_sg_get(struct backend *b, const char *sg, json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ char *path = NULL;
	char id[40];
	int r;

	r = sg_id(nb, sg, id, reterr_msg);
	if (r < 0)
		return r;
	if (asprintf(&path, "/security-groups/%s", id) < 0)
		return -ENOMEM;
	r = neutron_api(nb, "GET", path, NULL, &res, reterr_msg);
	if (r == 0)
		*ret = sg_json(json_object_get(res, "security_group"));
	return r;
}

int neutron_sg_create(struct backend *b, const char *name, json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	json_t *body = json_pack("{s:s}", "name", name);
	const char *id_made;
	int r;

	if (neutron_name_taken(nb, &neutron_kind_sg, name)) {
		json_decref(body);
		set_errmsg(reterr_msg, "security group \"%s\" already exists", name);
		return -EEXIST;
	}
	if (*nb->project)
		json_object_set_new(body, "project_id", json_string(nb->project));
	r = neutron_api(nb, "POST", "/security-groups", json_pack("{s:o}", "security_group", body),
			&res, reterr_msg);
	if (r < 0)
		return r;
	id_made = json_object_get_str(json_object_get(res, "security_group"), "id");
	r = neutron_tag_after(nb, "/security-groups", id_made, reterr_msg);
	if (r < 0) {
		(void)neutron_api_delete(nb, "/security-groups", id_made, NULL);
		return r;
	}
	*ret = sg_json(json_object_get(res, "security_group"));
	return 0;
}

int neutron_sg_rule_add(struct backend *b, const char *sg, const struct sg_rule *rule, json_t **ret,
			char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	json_t *body;
	char id[40], remote[40];
	int r;

	r = sg_id(nb, sg, id, reterr_msg);
	if (r < 0)
		return r;
	if (rule->remote_group) {
		r = sg_id(nb, rule->remote_group, remote, reterr_msg);
		if (r < 0)
			return r;
	}
	body = json_pack("{s:s, s:s, s:s}", "security_group_id", id, "direction", rule->direction,
			 "ethertype", rule->ethertype ? rule->ethertype : "IPv4");
	if (rule->protocol && !streq(rule->protocol, "any"))
		json_object_set_new(body, "protocol", json_string(rule->protocol));
	if (rule->port_min) {
		json_object_set_new(body, "port_range_min", json_integer(rule->port_min));
		json_object_set_new(body, "port_range_max",
				    json_integer(rule->port_max ? rule->port_max : rule->port_min));
	}
	if (rule->remote_ip_prefix)
		json_object_set_new(body, "remote_ip_prefix", json_string(rule->remote_ip_prefix));
	if (rule->remote_group)
		json_object_set_new(body, "remote_group_id", json_string(remote));
	if (*nb->project)
		json_object_set_new(body, "project_id", json_string(nb->project));
	r = neutron_api(nb, "POST", "/security-group-rules",
			json_pack("{s:o}", "security_group_rule", body), &res, reterr_msg);
	if (r == 0 && ret)
		*ret = rule_json(json_object_get(res, "security_group_rule"));
	return r;
}

int neutron_sg_rule_delete(struct backend *b, const char *rule_id, char **reterr_msg)
{
	int r = uuid_is_valid(rule_id) ? neutron_api_delete(to_neutron(b), "/security-group-rules",
							    rule_id, reterr_msg)
				       : -ENOENT;

	if (r == -ENOENT)
		set_errmsg(reterr_msg, "security group rule \"%s\" does not exist", rule_id);
	return r;
}

int neutron_sg_list(struct backend *b, json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ char *path = NULL, *esc = NULL;
	char scope[SCOPE_MAX];
	json_t *g, *out;
	size_t i;
	int r;

	/* Admin credentials see every project's groups: ours are the scope's. */
	neutron_scope_of(nb, NULL, scope);
	esc = neutron_escape(scope);
	if (!esc || asprintf(&path, "/security-groups%s%s", *scope ? "?project_id=" : "",
			     *scope ? esc : "") < 0)
		return -ENOMEM;
	r = neutron_list_all(nb, path, "security_groups", &res, reterr_msg);
	if (r < 0)
		return r;
	out = json_array();
	json_array_foreach(res, i, g)
		json_array_append_new(out, sg_json(g));
	*ret = out;
	return 0;
}

int neutron_sg_delete(struct backend *b, const char *sg, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	char id[40];
	int r;

	r = sg_id(nb, sg, id, reterr_msg);
	if (r < 0)
		return r;
	r = neutron_api_delete(nb, "/security-groups", id, reterr_msg);
	return r == -EEXIST ? -EBUSY : r; /* 409: ports still use it */
}

/* Our view of Neutron policy @p (its "rules" as Neutron lists them): the
 * egress limit where it has one in each direction. */
static json_t *qos_json(json_t *p)
{
	json_t *out = json_pack("{s:s?, s:s?}", "id", json_object_get_str(p, "id"), "name",
				json_object_get_str(p, "name"));
	json_t *rule, *limit = NULL;
	size_t i;

	json_array_foreach(json_object_get(p, "rules"), i, rule) {
		const char *type = json_object_get_str(rule, "type");

		if (streq_ptr(type, "dscp_marking"))
			json_object_set(out, "dscp", json_object_get(rule, "dscp_mark"));
		else if (streq_ptr(type, "bandwidth_limit") &&
			 (!limit || !streq_ptr(json_object_get_str(rule, "direction"), "ingress")))
			limit = rule;
	}
	if (limit) {
		const char *dir = json_object_get_str(limit, "direction");

		json_object_set(out, "max_kbps", json_object_get(limit, "max_kbps"));
		json_object_set_new(
		    out, "max_burst_kbps",
		    json_integer(json_integer_value(json_object_get(limit, "max_burst_kbps"))));
		json_object_set_new(out, "direction", json_string(dir ? dir : "egress"));
	}
	return out;
}

int neutron_qos_get(struct backend *b, const char *qos, json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *p = NULL;
	char scope[SCOPE_MAX];
	int r;

	neutron_scope_of(nb, NULL, scope);
	r = neutron_lookup(nb, &neutron_kind_qos, qos, scope, &p, reterr_msg);
	if (r == -ESRCH)
		r = -ENOENT; /* asked for itself: "no such object" */
	if (r == 0)
		*ret = qos_json(p);
	return r;
}

int neutron_qos_list(struct backend *b, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *all = NULL;
	json_t *out, *p;
	size_t i;
	int r;

	r = neutron_list_all(to_neutron(b), "/qos/policies?fields=id&fields=name&fields=rules",
			     "policies", &all, reterr_msg);
	if (r < 0)
		return r;
	out = json_array();
	json_array_foreach(all, i, p)
		json_array_append_new(out, qos_json(p));
	*ret = out;
	return 0;
}

/* POST one rule of policy @id (@rule stolen): @type "bandwidth_limit" or
 * "dscp_marking". */
static int qos_rule_add(struct neutron_backend *nb, const char *id, const char *type, json_t *rule,
			char **reterr_msg)
{
	_cleanup_free_ char *key = strdup_printf("%s_rule", type), *path = NULL;

	if (!key || asprintf(&path, "/qos/policies/%s/%ss", id, key) < 0) {
		json_decref(rule);
		return -ENOMEM;
	}
	return neutron_api(nb, "POST", path, json_pack("{s:o}", key, rule), NULL, reterr_msg);
}

int neutron_qos_create(struct backend *b, const struct qos_spec *spec, json_t **ret,
		       char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL, *made = NULL;
	json_t *body = json_pack("{s:s}", "name", spec->name);
	const char *id;
	int r = 0;

	if (neutron_name_taken(nb, &neutron_kind_qos, spec->name)) {
		json_decref(body);
		set_errmsg(reterr_msg, "QoS policy \"%s\" already exists", spec->name);
		return -EEXIST;
	}
	if (*nb->project)
		json_object_set_new(body, "project_id", json_string(nb->project));
	r = neutron_api(nb, "POST", "/qos/policies", json_pack("{s:o}", "policy", body), &res,
			reterr_msg);
	if (r < 0)
		return r;
	id = json_object_get_str(json_object_get(res, "policy"), "id");
	if (!id)
		return -EIO;
	if (spec->max_kbps)
		r = qos_rule_add(nb, id, "bandwidth_limit",
				 json_pack("{s:i, s:i, s:s}", "max_kbps", (int)spec->max_kbps,
					   "max_burst_kbps", (int)spec->max_burst_kbps, "direction",
					   spec->direction ? spec->direction : "egress"),
				 reterr_msg);
	if (r == 0 && spec->dscp >= 0)
		r = qos_rule_add(nb, id, "dscp_marking",
				 json_pack("{s:i}", "dscp_mark", spec->dscp), reterr_msg);
	if (r == 0)
		r = neutron_tag_after(nb, "/qos/policies", id, reterr_msg);
	if (r == 0)
		r = neutron_qos_get(b, id, &made, reterr_msg);
	if (r < 0) {
		/* No policy without its rules. */
		(void)neutron_api_delete(nb, "/qos/policies", id, NULL);
		return r;
	}
	*ret = TAKE_PTR(made);
	return 0;
}

int neutron_qos_delete(struct backend *b, const char *qos, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	char id[40];
	int r;

	r = neutron_resolve_id(nb, &neutron_kind_qos, qos, NULL, id, reterr_msg);
	if (r < 0)
		return r;
	r = neutron_api_delete(nb, "/qos/policies", id, reterr_msg);
	return r == -EEXIST ? -EBUSY : r;
}
