/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "ovn": QoS policies, and the QoS rows they give the ports that
 * name them.
 *
 * OVN has no table for a policy: its QoS rows belong to a switch and
 * match traffic, so a policy means nothing until a port uses it. ML2/OVN
 * keeps the policy in Neutron's database and writes QoS rows per port;
 * we have no database of our own, so a policy is a row of its own in NB:
 * an empty Port_Group named "kuryr_qos_NAME" (a root table whose name
 * index makes the name unique; with no ports and no ACLs, ovn-northd makes
 * nothing of it), its rules in external_ids.
 *
 * A port that names the policy gets, in its own transaction, the rows
 * ML2/OVN's QoS extension would write for it on its switch (priority
 * 2002): a from-lport row matching inport == "PORT" for the egress limit
 * (bandwidth rate/burst) and the DSCP mark (action dscp), a to-lport row
 * matching outport == "PORT" for an ingress limit. The rows and the port
 * carry kuryr:qos_policy (the policy's _uuid), so the port's delete takes
 * its rows along and a policy some port carries is not deleted. */
#include <stdio.h>
#include <stdlib.h>

#include "ovn-private.h"

#define QOS_TABLE	  "Port_Group"
#define QOS_NAME_PREFIX	  "kuryr_qos_"
/* ML2/OVN's OVN_QOS_DEFAULT_RULE_PRIORITY. */
#define QOS_RULE_PRIORITY 2002

#define EXT_QOS_NAME	  "kuryr:qos_name"
#define EXT_QOS_MAX_KBPS  "kuryr:max_kbps"
#define EXT_QOS_MAX_BURST "kuryr:max_burst_kbps"
#define EXT_QOS_DIRECTION "kuryr:direction"
#define EXT_QOS_DSCP	  "kuryr:dscp"
#define EXT_QOS_PORT	  "kuryr:port"

static bool is_policy(json_t *row)
{
	return ovsdb_map_get(json_object_get(row, "external_ids"), EXT_QOS_NAME) != NULL;
}

static const char *row_uuid(json_t *row)
{
	return ovsdb_datum_uuid(json_object_get(row, "_uuid"));
}

/* The number in external_ids key @key of policy @row, or -1. */
static long policy_num(json_t *row, const char *key)
{
	const char *s = ovsdb_map_get(json_object_get(row, "external_ids"), key);

	return s && *s ? strtol(s, NULL, 10) : -1;
}

/* The policy as the vtable shows it (backend.h). */
static json_t *policy_json(json_t *row)
{
	json_t *ext = json_object_get(row, "external_ids");
	json_t *out = json_pack("{s:s?, s:s?}", "id", row_uuid(row), "name",
				ovsdb_map_get(ext, EXT_QOS_NAME));
	long kbps = policy_num(row, EXT_QOS_MAX_KBPS), dscp = policy_num(row, EXT_QOS_DSCP);

	if (kbps > 0) {
		long burst = policy_num(row, EXT_QOS_MAX_BURST);

		json_object_set_new(out, "max_kbps", json_integer(kbps));
		json_object_set_new(out, "max_burst_kbps", json_integer(burst > 0 ? burst : 0));
		json_object_set_new(out, "direction",
				    json_string(ovsdb_map_get(ext, EXT_QOS_DIRECTION) ?: "egress"));
	}
	if (dscp >= 0)
		json_object_set_new(out, "dscp", json_integer(dscp));
	return out;
}

/* The policy @ref names: its _uuid, else its name. A new reference to its
 * row in *ret, or -ENOENT. */
static int find_policy(struct ovn_backend *ob, const char *ref, json_t **ret, char **reterr_msg)
{
	_cleanup_free_ char *pg = strdup_printf(QOS_NAME_PREFIX "%s", ref);
	_cleanup_json_ json_t *res = NULL;
	json_t *ops, *row;
	int r;

	if (!pg)
		return -ENOMEM;
	ops = json_pack("[{s:s, s:s, s:o}]", "op", "select", "table", QOS_TABLE, "where",
			ovn_where_name(pg));
	if (uuid_is_valid(ref))
		json_array_append_new(ops, json_pack("{s:s, s:s, s:[o]}", "op", "select", "table",
						     QOS_TABLE, "where",
						     ovsdb_cond("_uuid", "==", ovsdb_uuid(ref))));
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	row = json_array_get(json_object_get(json_array_get(res, 1), "rows"), 0);
	if (!row || !is_policy(row))
		row = json_array_get(ovn_first_rows(res), 0);
	if (!row || !is_policy(row)) {
		set_errmsg(reterr_msg, "QoS policy \"%s\" does not exist", ref);
		return -ENOENT;
	}
	*ret = json_incref(row);
	return 0;
}

int ovn_qos_get(struct backend *b, const char *qos, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *row = NULL;
	int r;

	r = find_policy(to_ovn(b), qos, &row, reterr_msg);
	if (r == 0)
		*ret = policy_json(row);
	return r;
}

int ovn_qos_list(struct backend *b, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *ops, *row, *out;
	size_t i;
	int r;

	ops = json_pack("[{s:s, s:s, s:[], s:[s, s]}]", "op", "select", "table", QOS_TABLE, "where",
			"columns", "_uuid", "external_ids");
	r = ovn_transact(to_ovn(b), ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	out = json_array();
	json_array_foreach(ovn_first_rows(res), i, row) {
		if (is_policy(row))
			json_array_append_new(out, policy_json(row));
	}
	*ret = out;
	return 0;
}

int ovn_qos_create(struct backend *b, const struct qos_spec *spec, json_t **ret, char **reterr_msg)
{
	_cleanup_free_ char *pg = NULL;
	_cleanup_json_ json_t *res = NULL, *row = NULL;
	char kbps[16], burst[16], dscp[8];
	const char *dir = spec->direction ? spec->direction : "egress";
	const char *kv[11], *id;
	size_t n = 0;
	json_t *ops, *ext;
	int r;

	if (!spec->name || !*spec->name || (!spec->max_kbps && spec->dscp < 0) || spec->dscp > 63 ||
	    (!streq(dir, "egress") && !streq(dir, "ingress"))) {
		set_errmsg(reterr_msg, "a QoS policy has a name, and a limit, a DSCP mark (0-63) "
				       "or both");
		return -EINVAL;
	}
	pg = strdup_printf(QOS_NAME_PREFIX "%s", spec->name);
	if (!pg)
		return -ENOMEM;
	snprintf(kbps, sizeof(kbps), "%u", spec->max_kbps);
	snprintf(burst, sizeof(burst), "%u", spec->max_burst_kbps);
	snprintf(dscp, sizeof(dscp), "%d", spec->dscp);
	kv[n++] = EXT_QOS_NAME;
	kv[n++] = spec->name;
	if (spec->max_kbps) {
		kv[n++] = EXT_QOS_MAX_KBPS;
		kv[n++] = kbps;
		kv[n++] = EXT_QOS_MAX_BURST;
		kv[n++] = burst;
		kv[n++] = EXT_QOS_DIRECTION;
		kv[n++] = dir;
	}
	if (spec->dscp >= 0) {
		kv[n++] = EXT_QOS_DSCP;
		kv[n++] = dscp;
	}
	kv[n] = NULL;
	ext = ovsdb_string_map(kv);
	ops = json_pack("[{s:s, s:s, s:{s:s, s:o}}]", "op", "insert", "table", QOS_TABLE, "row",
			"name", pg, "external_ids", ext);
	r = ovn_transact(to_ovn(b), ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -EEXIST) /* the name index */
		set_errmsg(reterr_msg, "QoS policy \"%s\" already exists", spec->name);
	if (r < 0)
		return r;
	id = ovsdb_datum_uuid(json_object_get(json_array_get(res, 0), "uuid"));
	if (!id)
		return -EIO;
	r = find_policy(to_ovn(b), id, &row, reterr_msg);
	if (r < 0)
		return r;
	*ret = policy_json(row);
	return 0;
}

int ovn_qos_delete(struct backend *b, const char *qos, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *row = NULL, *users = NULL, *res = NULL;
	const char *id;
	json_t *ops;
	size_t n;
	int r;

	r = find_policy(ob, qos, &row, reterr_msg);
	if (r < 0)
		return r;
	id = row_uuid(row);
	ops = json_pack("[{s:s, s:s, s:o, s:[s]}]", "op", "select", "table", "Logical_Switch_Port",
			"where", ovn_where_ext(EXT_QOS_POLICY, id), "columns", "name");
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &users, reterr_msg);
	if (r < 0)
		return r;
	n = json_array_size(ovn_first_rows(users));
	if (n == 0) {
		/* Deleted only while no port carries it: a port made since
		 * the select fails the "wait". */
		ops = json_pack("[{s:s, s:s, s:o, s:[s], s:s, s:[], s:i}, {s:s, s:s, s:[o]}]", "op",
				"wait", "table", "Logical_Switch_Port", "where",
				ovn_where_ext(EXT_QOS_POLICY, id), "columns", "name", "until",
				"==", "rows", "timeout", 0, "op", "delete", "table", QOS_TABLE,
				"where", ovsdb_cond("_uuid", "==", ovsdb_uuid(id)));
		r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
		if (r != -ETIMEDOUT)
			return r;
	}
	set_errmsg(reterr_msg, "QoS policy \"%s\" is used by %zu port%s", qos, n ? n : 1,
		   n > 1 ? "s" : "");
	return -EBUSY;
}

/* An OVSDB map of @keys[i] to integer @values[i], those < 0 left out. */
static json_t *int_map(const char *const *keys, const long *values, size_t n)
{
	json_t *pairs = json_array();

	for (size_t i = 0; i < n; i++)
		if (values[i] >= 0)
			json_array_append_new(pairs,
					      json_pack("[s, I]", keys[i], (json_int_t)values[i]));
	return json_pack("[s, o]", "map", pairs);
}

/* Append to @ops the insert of one QoS row for port @lsp (@uname its
 * uuid-name), and its reference to @refs. */
static void qos_row(json_t *ops, json_t *refs, const char *uname, const char *policy_id,
		    const char *lsp, bool from_lport, long rate, long burst, long dscp)
{
	char match[128];

	snprintf(match, sizeof(match), "%s == \"%s\"", from_lport ? "inport" : "outport", lsp);
	json_array_append_new(
	    ops,
	    json_pack(
		"{s:s, s:s, s:s, s:{s:i, s:s, s:s, s:o, s:o, s:o}}", "op", "insert", "table", "QoS",
		"uuid-name", uname, "row", "priority", QOS_RULE_PRIORITY, "direction",
		from_lport ? "from-lport" : "to-lport", "match", match, "bandwidth",
		int_map((const char *const[]){ "rate", "burst" },
			(const long[]){ rate > 0 ? rate : -1, burst > 0 && rate > 0 ? burst : -1 },
			2),
		"action", int_map((const char *const[]){ "dscp" }, (const long[]){ dscp }, 1),
		"external_ids",
		ovsdb_string_map(
		    (const char *const[]){ EXT_QOS_PORT, lsp, EXT_QOS_POLICY, policy_id, NULL })));
	json_array_append_new(refs, ovsdb_named_uuid(uname));
}

int ovn_qos_port_ops(struct ovn_backend *ob, const char *qos, json_t *lsps, const char *ls_uuid,
		     json_t *ops, char ret_id[40], char **reterr_msg)
{
	_cleanup_json_ json_t *row = NULL;
	json_t *refs, *lsp;
	const char *id, *dir;
	long kbps, burst, dscp;
	bool egress;
	size_t i;
	int r;

	r = find_policy(ob, qos, &row, reterr_msg);
	if (r == -ENOENT)
		return -ESRCH; /* named in the request */
	if (r < 0)
		return r;
	id = row_uuid(row);
	dir = ovsdb_map_get(json_object_get(row, "external_ids"), EXT_QOS_DIRECTION);
	egress = !streq_ptr(dir, "ingress");
	kbps = policy_num(row, EXT_QOS_MAX_KBPS);
	burst = policy_num(row, EXT_QOS_MAX_BURST);
	dscp = policy_num(row, EXT_QOS_DSCP);
	refs = json_array();
	json_array_foreach(lsps, i, lsp) {
		const char *name = json_string_value(lsp);
		char uname[32];

		/* One row per direction: an egress limit and the mark (which
		 * is always on what the port sends) share the from-lport one. */
		snprintf(uname, sizeof(uname), "qos%zu_out", i);
		if (dscp >= 0 || (kbps > 0 && egress))
			qos_row(ops, refs, uname, id, name, true, egress ? kbps : -1, burst, dscp);
		snprintf(uname, sizeof(uname), "qos%zu_in", i);
		if (kbps > 0 && !egress)
			qos_row(ops, refs, uname, id, name, false, kbps, burst, -1);
		json_array_append_new(
		    ops,
		    json_pack("{s:s, s:s, s:o, s:[[s, s, o]]}", "op", "mutate", "table",
			      "Logical_Switch_Port", "where", ovn_where_name(name), "mutations",
			      "external_ids", "insert",
			      ovsdb_string_map((const char *const[]){ EXT_QOS_POLICY, id, NULL })));
	}
	json_array_append_new(ops, json_pack("{s:s, s:s, s:[o], s:[[s, s, [s, o]]]}", "op",
					     "mutate", "table", "Logical_Switch", "where",
					     ovsdb_cond("_uuid", "==", ovsdb_uuid(ls_uuid)),
					     "mutations", "qos_rules", "insert", "set", refs));
	/* The policy is still there when the ports are made. */
	json_array_append_new(ops, json_pack("{s:s, s:s, s:[o], s:[s], s:s, s:[], s:i}", "op",
					     "wait", "table", QOS_TABLE, "where",
					     ovsdb_cond("_uuid", "==", ovsdb_uuid(id)), "columns",
					     "name", "until", "!=", "rows", "timeout", 0));
	str_copy(ret_id, id, 40);
	return 0;
}

bool ovn_qos_gone(struct ovn_backend *ob, const char *id)
{
	_cleanup_json_ json_t *row = NULL;

	return find_policy(ob, id, &row, NULL) == -ENOENT;
}

int ovn_qos_port_delete_ops(struct ovn_backend *ob, const char *lsp, json_t *ops, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *uuids, *row, *sel;
	size_t i;
	int r;

	sel = json_pack("[{s:s, s:s, s:o, s:[s]}]", "op", "select", "table", "QoS", "where",
			ovn_where_ext(EXT_QOS_PORT, lsp), "columns", "_uuid");
	r = ovn_transact(ob, sel, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	if (json_array_size(ovn_first_rows(res)) == 0)
		return 0;
	uuids = json_array();
	json_array_foreach(ovn_first_rows(res), i, row)
		json_array_append_new(uuids, json_deep_copy(json_object_get(row, "_uuid")));
	/* QoS is not a root table: out of its switch, a row is collected. */
	json_array_append_new(ops, json_pack("{s:s, s:s, s:[[s, s, [s, O]]], s:[[s, s, [s, o]]]}",
					     "op", "mutate", "table", "Logical_Switch", "where",
					     "qos_rules", "includes", "set", uuids, "mutations",
					     "qos_rules", "delete", "set", uuids));
	return 0;
}
