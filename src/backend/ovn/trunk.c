/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "ovn": trunks, mapped the way ovn-architecture(7) runs containers
 * inside VMs ("Life Cycle of a Container Interface Inside a VM") and ML2/OVN
 * maps Neutron's trunks: a subport is a child Logical_Switch_Port whose
 * parent_name is the VM's port and whose tag is the VLAN that marks its
 * traffic on the VM's NIC. ovn-controller binds the child wherever the
 * parent is bound, pops the tag on the way in and pushes it on the way out;
 * the child sits on its own network, which may be another than the
 * parent's.
 *
 * The trunk itself means nothing to the data plane, and OVN has no row for
 * it (ML2/OVN keeps it in Neutron's database). We keep it as two keys in
 * its parent port's external_ids, kuryr:trunk_id and kuryr:trunk_name: a
 * port carries at most one trunk (as in Neutron), so the record needs no
 * table of its own, goes with its port, and sits in the row whose children
 * it names; every change is one transaction on the rows it touches, whose
 * "wait"s check what it read, so that kuryrds on several nodes sharing one
 * NB cannot both win. (NB_Global's external_ids, the only other free-form
 * place, is one row that every client would contend for.) */
#include <stdio.h>
#include <strings.h>

#include "ovn-private.h"

#define LSP	       "Logical_Switch_Port"
#define TRUNK_NAME_MAX 255
/* A transaction whose "wait" found the rows changed since they were read
 * is tried again from the reads, which then say what stands in the way, if
 * anything; this many times. */
#define TRUNK_TRIES    3

static json_t *cond_ext(const char *key, const char *value)
{
	return ovsdb_cond("external_ids", "includes",
			  ovsdb_string_map((const char *const[]){ key, value, NULL }));
}

static json_t *cond_uuid(json_t *row)
{
	return ovsdb_cond("_uuid", "==", json_deep_copy(json_object_get(row, "_uuid")));
}

/* A "wait" on Logical_Switch_Port: the rows @where (stolen) selects, cut
 * down to @columns (stolen), must be (@until "==") or must not be ("!=")
 * @rows (stolen), now. */
static json_t *op_wait(json_t *where, json_t *columns, const char *until, json_t *rows)
{
	return json_pack("{s:s, s:s, s:o, s:o, s:s, s:o, s:i}", "op", "wait", "table", LSP, "where",
			 where, "columns", columns, "until", until, "rows", rows, "timeout", 0);
}

/* An optional string column's value, or NULL when empty. */
static const char *opt_str(json_t *row, const char *column)
{
	const char *s[1];

	if (ovsdb_datum_strings(json_object_get(row, column), s, 1) != 1 || !*s[0])
		return NULL;
	return s[0];
}

/* An optional integer column's value (a bare integer or a set of one), or
 * -1 when empty. */
static long opt_int(json_t *row, const char *column)
{
	json_t *d = json_object_get(row, column);

	if (streq_ptr(json_string_value(json_array_get(d, 0)), "set"))
		d = json_array_size(json_array_get(d, 1)) == 1
			? json_array_get(json_array_get(d, 1), 0)
			: NULL;
	return json_is_integer(d) ? (long)json_integer_value(d) : -1;
}

static const char *row_ext(json_t *row, const char *key)
{
	return ovsdb_map_get(json_object_get(row, "external_ids"), key);
}

/* The parent port of trunk @ref: the port whose kuryr:trunk_id is @ref,
 * else whose kuryr:trunk_name is. A name several trunks have is refused,
 * -ENOTUNIQ naming their ids. A new reference in *ret, or -ENOENT. */
static int find_trunk(struct ovn_backend *ob, const char *ref, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ char *ids = NULL;
	json_t *ops, *rows, *row;
	size_t i;
	int r;

	if (!*ref) {
		set_errmsg(reterr_msg, "trunk \"\" does not exist");
		return -ENOENT;
	}
	ops = json_pack("[{s:s, s:s, s:[o]}, {s:s, s:s, s:[o]}]", "op", "select", "table", LSP,
			"where", cond_ext(EXT_TRUNK_ID, ref), "op", "select", "table", LSP, "where",
			cond_ext(EXT_TRUNK_NAME, ref));
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = ovn_first_rows(res);
	if (json_array_size(rows) == 0)
		rows = json_object_get(json_array_get(res, 1), "rows");
	if (json_array_size(rows) == 0) {
		set_errmsg(reterr_msg, "trunk \"%s\" does not exist", ref);
		return -ENOENT;
	}
	if (json_array_size(rows) > 1) {
		json_array_foreach(rows, i, row) {
			char *more = strdup_printf("%s%s%s", ids ? ids : "", ids ? ", " : "",
						   row_ext(row, EXT_TRUNK_ID) ?: "?");

			if (!more)
				return -ENOMEM;
			free(ids);
			ids = more;
		}
		set_errmsg(reterr_msg,
			   "More than one trunk exists with the name \"%s\": %s; use an ID", ref,
			   ids);
		return -ENOTUNIQ;
	}
	*ret = json_incref(json_array_get(rows, 0));
	return 0;
}

/* The subports of the trunk on port @parent: its child ports' rows, in a
 * new reference to the select's result in *ret_res and borrowed from it in
 * *ret_rows. */
static int select_children(struct ovn_backend *ob, const char *parent, json_t **ret_res,
			   json_t **ret_rows, char **reterr_msg)
{
	json_t *ops;
	int r;

	ops = json_pack("[{s:s, s:s, s:[o], s:[s, s]}]", "op", "select", "table", LSP, "where",
			ovsdb_cond("parent_name", "==", json_string(parent)), "columns", "name",
			"tag");
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, ret_res, reterr_msg);
	if (r == 0)
		*ret_rows = ovn_first_rows(*ret_res);
	return r;
}

/* backend.h's trunk object, subports by VLAN. A trunk is ACTIVE while its
 * parent port is up (bound in the datapath), else DOWN. */
static json_t *trunk_json(json_t *parent, json_t *children)
{
	json_t *subs = json_array(), *c;
	size_t i, at;

	json_array_foreach(children, i, c) {
		long vlan = opt_int(c, "tag");

		for (at = 0; at < json_array_size(subs); at++)
			if (json_integer_value(json_object_get(json_array_get(subs, at), "vlan")) >
			    vlan)
				break;
		json_array_insert_new(subs, at,
				      json_pack("{s:s?, s:I}", "port",
						json_object_get_str(c, "name"), "vlan",
						(json_int_t)vlan));
	}
	return json_pack("{s:s?, s:s, s:s?, s:s, s:o}", "id", row_ext(parent, EXT_TRUNK_ID), "name",
			 row_ext(parent, EXT_TRUNK_NAME) ?: "", "port",
			 json_object_get_str(parent, "name"), "status",
			 json_is_true(json_object_get(parent, "up")) ? "ACTIVE" : "DOWN",
			 "subports", subs);
}

int ovn_trunk_get(struct backend *b, const char *trunk, json_t **ret, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *parent = NULL, *res = NULL;
	json_t *children, *t;
	int r;

	r = find_trunk(ob, trunk, &parent, reterr_msg);
	if (r == 0)
		r = select_children(ob, json_object_get_str(parent, "name"), &res, &children,
				    reterr_msg);
	if (r < 0)
		return r;
	t = trunk_json(parent, children);
	if (!t)
		return -ENOMEM;
	*ret = t;
	return 0;
}

/* Whether a trunk is named @name (or has it as its id): 0 if none, -EEXIST
 * with a message if one is, or why we could not tell. */
static int trunk_name_free(struct ovn_backend *ob, const char *name, char **reterr_msg)
{
	_cleanup_json_ json_t *other = NULL;
	_cleanup_free_ char *err = NULL;
	int r = find_trunk(ob, name, &other, &err);

	if (r == -ENOENT)
		return 0;
	if (r == 0 || r == -ENOTUNIQ) {
		set_errmsg(reterr_msg, "trunk \"%s\" already exists", name);
		return -EEXIST;
	}
	set_errmsg(reterr_msg, "%s", err ? err : strerror(-r));
	return r;
}

int ovn_trunk_create(struct backend *b, const char *parent, const char *name, json_t **ret,
		     char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	char id[UUID_STR_LEN];
	int r;

	if (!name)
		name = "";
	if (strlen(name) > TRUNK_NAME_MAX) {
		set_errmsg(reterr_msg, "trunk name must be at most %d bytes", TRUNK_NAME_MAX);
		return -EINVAL;
	}
	uuid_random(id);
	for (int i = 0; i < TRUNK_TRIES; i++) {
		_cleanup_json_ json_t *p = NULL, *res = NULL;
		const char *pname, *other;
		json_t *ops;

		r = ovn_find_lsp(ob, parent, &p, reterr_msg);
		if (r < 0)
			return r;
		pname = json_object_get_str(p, "name");
		if ((other = row_ext(p, EXT_TRUNK_ID))) {
			set_errmsg(reterr_msg, "port %s already carries trunk %s", pname, other);
			return -EEXIST;
		}
		if ((other = opt_str(p, "parent_name"))) {
			set_errmsg(reterr_msg,
				   "port %s is a subport of port %s: it cannot carry a trunk",
				   pname, other);
			return -EBUSY;
		}
		if (*name && (r = trunk_name_free(ob, name, reterr_msg)) < 0)
			return r;
		/* The parent as read: not a child, no trunk yet. */
		ops = json_pack("[o, {s:s, s:s, s:[o], s:[[s, s, o]]}]",
				op_wait(json_pack("[o]", cond_uuid(p)),
					json_pack("[s, s]", "parent_name", "external_ids"), "==",
					json_pack("[{s:O, s:O}]", "parent_name",
						  json_object_get(p, "parent_name"), "external_ids",
						  json_object_get(p, "external_ids"))),
				"op", "mutate", "table", LSP, "where", cond_uuid(p), "mutations",
				"external_ids", "insert",
				ovsdb_string_map((const char *const[]){
				    EXT_TRUNK_ID, id, *name ? EXT_TRUNK_NAME : NULL, name, NULL }));
		if (*name)
			json_array_insert_new(
			    ops, 1,
			    op_wait(json_pack("[o]", cond_ext(EXT_TRUNK_NAME, name)),
				    json_pack("[s]", "name"), "==", json_array()));
		r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
		if (r == -ETIMEDOUT)
			continue;
		if (r < 0)
			return r;
		return ovn_trunk_get(b, id, ret, reterr_msg);
	}
	set_errmsg(reterr_msg, "port %s kept changing while its trunk was being created", parent);
	return -EAGAIN;
}

int ovn_trunk_delete(struct backend *b, const char *trunk, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	int r;

	for (int i = 0; i < TRUNK_TRIES; i++) {
		_cleanup_json_ json_t *p = NULL, *res = NULL, *res2 = NULL;
		const char *pname;
		json_t *children, *ops;

		r = find_trunk(ob, trunk, &p, reterr_msg);
		if (r < 0)
			return r;
		pname = json_object_get_str(p, "name");
		r = select_children(ob, pname, &res, &children, reterr_msg);
		if (r < 0)
			return r;
		/* As Neutron: the subports would stay tagged children of a port
		 * that no longer says it carries them. */
		if (json_array_size(children) > 0) {
			set_errmsg(reterr_msg,
				   "trunk %s still has %zu subports: remove its subports first",
				   trunk, json_array_size(children));
			return -EBUSY;
		}
		ops = json_pack(
		    "[o, {s:s, s:s, s:[o, o], s:[[s, s, o]]}]",
		    op_wait(json_pack("[o]", ovsdb_cond("parent_name", "==", json_string(pname))),
			    json_pack("[s]", "name"), "==", json_array()),
		    "op", "mutate", "table", LSP, "where", cond_uuid(p),
		    cond_ext(EXT_TRUNK_ID, row_ext(p, EXT_TRUNK_ID)), "mutations", "external_ids",
		    "delete",
		    ovsdb_string_set((const char *const[]){ EXT_TRUNK_ID, EXT_TRUNK_NAME, NULL }));
		r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res2, reterr_msg);
		if (r == -ETIMEDOUT)
			continue;
		if (r < 0)
			return r;
		if (json_integer_value(json_object_get(json_array_get(res2, 1), "count")) == 1)
			return 0;
	}
	set_errmsg(reterr_msg, "trunk %s kept changing while being deleted", trunk);
	return -EAGAIN;
}

/* Whether port @s may become subport @vlan of the trunk on port @p, whose
 * subports are @children: 0, or -errno with a message. */
static int check_add(json_t *p, json_t *children, json_t *s, const char *trunk, unsigned vlan,
		     char **reterr_msg)
{
	const char *pname = json_object_get_str(p, "name");
	const char *sname = json_object_get_str(s, "name");
	const char *other;
	json_t *c;
	size_t i;

	if (json_equal(json_object_get(p, "_uuid"), json_object_get(s, "_uuid"))) {
		set_errmsg(reterr_msg, "port %s is the parent of trunk %s, not a subport", sname,
			   trunk);
		return -EINVAL;
	}
	if ((other = opt_str(s, "parent_name"))) {
		if (streq(other, pname))
			set_errmsg(reterr_msg, "port %s is already subport VLAN %ld of trunk %s",
				   sname, opt_int(s, "tag"), trunk);
		else
			set_errmsg(reterr_msg, "port %s is already a subport of port %s (VLAN %ld)",
				   sname, other, opt_int(s, "tag"));
		/* -EEXIST is for a VLAN id taken (a nested driver tries
		 * another); a port already on a trunk is in use, as Neutron
		 * says (both 409). */
		return -EBUSY;
	}
	/* OVN nests one level: a VM's port, its containers' ports. */
	if ((other = row_ext(s, EXT_TRUNK_ID))) {
		set_errmsg(reterr_msg, "port %s carries trunk %s: it cannot be a subport", sname,
			   other);
		return -EBUSY;
	}
	json_array_foreach(children, i, c) {
		if (opt_int(c, "tag") == (long)vlan) {
			set_errmsg(reterr_msg, "VLAN %u is already used on trunk %s by port %s",
				   vlan, trunk, json_object_get_str(c, "name") ?: "?");
			return -EEXIST;
		}
	}
	return 0;
}

/* A batch asks for ids in 1..4094, none twice. */
static int check_vlans(const unsigned *vlans, size_t n, char **reterr_msg)
{
	for (size_t i = 0; i < n; i++) {
		if (vlans[i] < 1 || vlans[i] > 4094) {
			set_errmsg(reterr_msg, "VLAN %u is not in 1..4094", vlans[i]);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (vlans[j] == vlans[i]) {
				set_errmsg(reterr_msg, "VLAN %u is asked for twice", vlans[i]);
				return -EINVAL;
			}
	}
	return 0;
}

/* In one read: the children of the trunk on port @p (*ret_children) and
 * the rows of @ports[0..n) as they are now (*ret_rows, row i for port
 * i), both new references. -ENOENT naming the first port missing. */
static int read_batch(struct ovn_backend *ob, json_t *p, const char *const *ports, size_t n,
		      json_t **ret_children, json_t **ret_rows, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL, *rows = NULL;
	json_t *ops;
	size_t at = 1;
	int r;

	ops =
	    json_pack("[{s:s, s:s, s:[o], s:[s, s]}]", "op", "select", "table", LSP, "where",
		      ovsdb_cond("parent_name", "==", json_string(json_object_get_str(p, "name"))),
		      "columns", "name", "tag");
	/* Each port by name, and by _uuid where it looks like one. */
	for (size_t i = 0; i < n; i++)
		json_array_extend_new(ops, ovn_ops_select_ref(LSP, ports[i]));
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = json_array();
	if (!rows)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *found = json_object_get(json_array_get(res, at++), "rows");

		if (uuid_is_valid(ports[i])) {
			json_t *by_uuid = json_object_get(json_array_get(res, at++), "rows");

			if (json_array_size(found) == 0)
				found = by_uuid;
		}
		if (json_array_size(found) == 0) {
			set_errmsg(reterr_msg, "port \"%s\" does not exist", ports[i]);
			return -ENOENT;
		}
		json_array_append(rows, json_array_get(found, 0));
	}
	*ret_children = json_incref(ovn_first_rows(res));
	*ret_rows = TAKE_PTR(rows);
	return 0;
}

/* Ports @rows[i] as read become subports @vlans[i] of the trunk on port
 * @p, all in one transaction, unless its waits find that the trunk has
 * gone, a VLAN has been taken or a port has changed (-ETIMEDOUT): then
 * none does. */
static int subports_add(struct ovn_backend *ob, json_t *p, json_t *rows, const unsigned *vlans,
			char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	const char *pname = json_object_get_str(p, "name");
	json_t *ops, *s;
	size_t i;

	ops = json_pack("[o]", op_wait(json_pack("[o, o]", cond_uuid(p),
						 cond_ext(EXT_TRUNK_ID, row_ext(p, EXT_TRUNK_ID))),
				       json_pack("[s]", "name"), "!=", json_array()));
	json_array_foreach(rows, i, s) {
		json_array_append_new(
		    ops,
		    op_wait(json_pack("[o, o]", ovsdb_cond("parent_name", "==", json_string(pname)),
				      ovsdb_cond("tag", "==", json_integer(vlans[i]))),
			    json_pack("[s]", "name"), "==", json_array()));
		json_array_append_new(
		    ops, op_wait(json_pack("[o]", cond_uuid(s)),
				 json_pack("[s, s, s]", "parent_name", "tag", "external_ids"), "==",
				 json_pack("[{s:O, s:O, s:O}]", "parent_name",
					   json_object_get(s, "parent_name"), "tag",
					   json_object_get(s, "tag"), "external_ids",
					   json_object_get(s, "external_ids"))));
		/* ovn-northd copies a tag_request over tag: the tag is ours,
		 * as with ML2/OVN, so none may be left. */
		json_array_append_new(
		    ops, json_pack("{s:s, s:s, s:[o], s:{s:s, s:I, s:[s, []]}}", "op", "update",
				   "table", LSP, "where", cond_uuid(s), "row", "parent_name", pname,
				   "tag", (json_int_t)vlans[i], "tag_request", "set"));
	}
	return ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
}

/* Port @s stops being a subport of the trunk on port @p: 0, or -ESTALE if
 * it was no longer one when the update ran. */
static int subport_remove(struct ovn_backend *ob, json_t *p, json_t *s, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *ops;
	int r;

	ops =
	    json_pack("[{s:s, s:s, s:[o, o], s:{s:[s, []], s:[s, []], s:[s, []]}}]", "op", "update",
		      "table", LSP, "where", cond_uuid(s),
		      ovsdb_cond("parent_name", "==", json_string(json_object_get_str(p, "name"))),
		      "row", "parent_name", "set", "tag", "set", "tag_request", "set");
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	return json_integer_value(json_object_get(json_array_get(res, 0), "count")) == 1 ? 0
											 : -ESTALE;
}

int ovn_trunk_subports_add(struct backend *b, const char *trunk, const char *const *ports,
			   const unsigned *vlans, size_t n, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	int r;

	r = check_vlans(vlans, n, reterr_msg);
	if (r < 0 || n == 0)
		return r;
	for (int i = 0; i < TRUNK_TRIES; i++) {
		_cleanup_json_ json_t *p = NULL, *children = NULL, *rows = NULL;
		json_t *s;
		size_t k;

		r = find_trunk(ob, trunk, &p, reterr_msg);
		if (r == 0)
			r = read_batch(ob, p, ports, n, &children, &rows, reterr_msg);
		if (r < 0)
			return r;
		json_array_foreach(rows, k, s) {
			r = check_add(p, children, s, trunk, vlans[k], reterr_msg);
			/* A port named twice (by name and by _uuid, say) would
			 * be updated twice in one transaction. */
			for (size_t j = 0; r == 0 && j < k; j++)
				if (json_equal(json_object_get(s, "_uuid"),
					       json_object_get(json_array_get(rows, j), "_uuid"))) {
					set_errmsg(reterr_msg, "port %s is asked for twice",
						   json_object_get_str(s, "name"));
					r = -EINVAL;
				}
			if (r < 0)
				return r;
		}
		r = subports_add(ob, p, rows, vlans, reterr_msg);
		if (r != -ETIMEDOUT)
			return r;
	}
	set_errmsg(reterr_msg, "trunk %s or its new subports kept changing while being added",
		   trunk);
	return -EAGAIN;
}

int ovn_trunk_subport(struct backend *b, const char *trunk, bool add, const char *port,
		      unsigned vlan, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	int r;

	if (add)
		return ovn_trunk_subports_add(b, trunk, &port, &vlan, 1, reterr_msg);
	for (int i = 0; i < TRUNK_TRIES; i++) {
		_cleanup_json_ json_t *p = NULL, *s = NULL;

		r = find_trunk(ob, trunk, &p, reterr_msg);
		if (r == 0)
			r = ovn_find_lsp(ob, port, &s, reterr_msg);
		if (r < 0)
			return r;
		if (!streq_ptr(opt_str(s, "parent_name"), json_object_get_str(p, "name"))) {
			set_errmsg(reterr_msg, "port %s is not a subport of trunk %s", port, trunk);
			return -ENOENT;
		}
		r = subport_remove(ob, p, s, reterr_msg);
		if (r != -ESTALE)
			return r;
	}
	set_errmsg(reterr_msg,
		   "trunk %s or port %s kept changing while the subport was being removed", trunk,
		   port);
	return -EAGAIN;
}

/* Whether one of @row's addresses ("MAC", "MAC IP...") is @mac. */
static bool has_mac(json_t *row, const char *mac)
{
	const char *addrs[8];
	size_t n = ovsdb_datum_strings(json_object_get(row, "addresses"), addrs, ELEMENTSOF(addrs));
	size_t len = strlen(mac);

	for (size_t i = 0; i < n && i < ELEMENTSOF(addrs); i++)
		if (strncasecmp(addrs[i], mac, len) == 0 &&
		    (!addrs[i][len] || addrs[i][len] == ' '))
			return true;
	return false;
}

int ovn_trunk_by_parent_mac(struct backend *b, const char *mac, json_t **ret, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *res = NULL;
	const char *trunk;
	json_t *ops, *row, *port = NULL;
	size_t i;
	int r;

	/* A VM's port is no child: only top-level ports can carry trunks. */
	ops = json_pack("[{s:s, s:s, s:[[s, s, [s, []]]], s:[s, s, s]}]", "op", "select", "table",
			LSP, "where", "parent_name", "==", "set", "columns", "name", "addresses",
			"external_ids");
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(ovn_first_rows(res), i, row) {
		if (!has_mac(row, mac))
			continue;
		if (port) {
			set_errmsg(reterr_msg, "ports %s and %s both have MAC %s",
				   json_object_get_str(port, "name"),
				   json_object_get_str(row, "name"), mac);
			return -ENOTUNIQ;
		}
		port = row;
	}
	if (!port) {
		set_errmsg(reterr_msg, "no port has MAC %s", mac);
		return -ENOENT;
	}
	trunk = row_ext(port, EXT_TRUNK_ID);
	if (!trunk) {
		set_errmsg(reterr_msg, "port %s (MAC %s) is not the parent of a trunk",
			   json_object_get_str(port, "name"), mac);
		return -ENXIO;
	}
	return ovn_trunk_get(b, trunk, ret, reterr_msg);
}
