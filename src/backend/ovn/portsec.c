/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "ovn": port security and allowed address pairs, mapped as
 * ML2/OVN maps Neutron's:
 *
 *   port_security  on: "MAC IP [IP6]" plus the IPs of the pairs with the port's
 *                  own MAC in that entry, and one entry "MAC2 IP [IP...]"
 *                  per other MAC, with the IPs of its pairs; off: empty
 *   addresses      the port's own entry ("MAC dynamic" or "MAC IP"), each
 *                  other MAC of a pair bare, so that the switch delivers
 *                  frames for it to the port; off: also "unknown", so it
 *                  gets frames for any MAC the switch does not know
 *   external_ids   kuryr:allowed_address_pairs "IP,MAC IP,MAC", what
 *                  port show lists
 *
 * A port whose own MAC and an address of its (either family) are another's
 * pair (a container behind a macvlan in a VM) is type "external" while they
 * are: see behind_ops().
 *
 * Without port security a port is in no Port_Group, as Neutron wants it
 * (it refuses groups there); turned on again it joins the node's groups
 * as a new port would. */
#include <stdio.h>
#include <strings.h>

#include "ovn-private.h"

#define EXT_PAIRS  "kuryr:allowed_address_pairs"
/* The ports a port is behind (behind_ops()). */
#define EXT_BEHIND "kuryr:behind"
/* One port_security entry: a MAC and at most 1 + KURYR_MAX_ADDR_PAIRS
 * addresses of at most 49 characters each. */
#define ENTRY_MAX  1024

void ovn_portsec_read(json_t *row, struct kuryr_port *p)
{
	const char *text = ovsdb_map_get(json_object_get(row, "external_ids"), EXT_PAIRS);
	_cleanup_free_ char *copy = text ? strdup(text) : NULL;
	char *save = NULL;

	p->port_security = ovsdb_datum_strings(json_object_get(row, "port_security"), NULL, 0) > 0;
	p->n_pairs = 0;
	for (char *w = copy ? strtok_r(copy, " ", &save) : NULL;
	     w && p->n_pairs < KURYR_MAX_ADDR_PAIRS; w = strtok_r(NULL, " ", &save))
		if (backend_addr_pair_parse(w, &p->pairs[p->n_pairs], NULL) == 0)
			p->n_pairs++;
}

int ovn_portsec_pairs(const char *port, const struct kuryr_addr_pair *in, unsigned n,
		      const char *mac, bool on, struct kuryr_addr_pair *out, char **reterr_msg)
{
	if (n && !on) {
		/* Neutron's AddressPairAndPortSecurityRequired (409). */
		set_errmsg(reterr_msg, "allowed address pairs need port security (port %s)",
			   port ? port : "");
		return -EBUSY;
	}
	if (n > KURYR_MAX_ADDR_PAIRS)
		return backend_addr_pairs_check(in, n, reterr_msg);
	for (unsigned i = 0; i < n; i++) {
		out[i] = in[i];
		if (!*out[i].mac)
			str_copy(out[i].mac, mac, sizeof(out[i].mac));
	}
	return backend_addr_pairs_check(out, n, reterr_msg);
}

json_t *ovn_portsec_column(const char *mac, const char *ip, const struct kuryr_addr_pair *pairs,
			   unsigned n, bool on)
{
	/* The port's own entry first, then one per other MAC, in the order
	 * the pairs first name it: each holds all its MAC's addresses (a
	 * container behind the port has one pair per address family), as
	 * ML2/OVN groups them. */
	struct {
		const char *mac;
		char text[ENTRY_MAX];
		size_t len;
	} e[1 + KURYR_MAX_ADDR_PAIRS];
	json_t *set = json_array();
	unsigned n_e = 1;

	if (!on)
		return json_pack("[s, o]", "set", set);
	e[0].mac = mac;
	e[0].len = (size_t)snprintf(e[0].text, sizeof(e[0].text), "%s%s%s", mac,
				    ip && *ip ? " " : "", ip ? ip : "");
	for (unsigned i = 0; i < n && i < KURYR_MAX_ADDR_PAIRS; i++) {
		unsigned j = 0;

		while (j < n_e && !streq(e[j].mac, pairs[i].mac))
			j++;
		if (j == n_e) {
			e[j].mac = pairs[i].mac;
			e[j].len =
			    (size_t)snprintf(e[j].text, sizeof(e[j].text), "%s", pairs[i].mac);
			n_e++;
		}
		if (e[j].len < sizeof(e[j].text))
			e[j].len += (size_t)snprintf(
			    e[j].text + e[j].len, sizeof(e[j].text) - e[j].len, " %s", pairs[i].ip);
	}
	for (unsigned j = 1; j < n_e; j++)
		json_array_append_new(set, json_string(e[j].text));
	json_array_append_new(set, json_string(e[0].text));
	return json_pack("[s, o]", "set", set);
}

static bool array_has(json_t *a, const char *s)
{
	size_t i;
	json_t *e;

	json_array_foreach(a, i, e)
		if (streq_ptr(json_string_value(e), s))
			return true;
	return false;
}

/* The addresses set: @keep, the other MACs of @pairs bare, "unknown" when
 * port security is off; each once (a set may not hold a value twice). */
static json_t *addresses_column(const char *const *keep, size_t n_keep, const char *mac,
				const struct kuryr_addr_pair *pairs, unsigned n, bool on)
{
	json_t *set = json_array();

	for (size_t i = 0; i < n_keep; i++)
		if (!array_has(set, keep[i]))
			json_array_append_new(set, json_string(keep[i]));
	for (unsigned i = 0; i < n; i++)
		if (!streq(pairs[i].mac, mac) && !array_has(set, pairs[i].mac))
			json_array_append_new(set, json_string(pairs[i].mac));
	if (!on && !array_has(set, "unknown"))
		json_array_append_new(set, json_string("unknown"));
	return json_pack("[s, o]", "set", set);
}

json_t *ovn_portsec_addresses(const char *own, const char *mac, const struct kuryr_addr_pair *pairs,
			      unsigned n, bool on)
{
	return addresses_column(&own, 1, mac, pairs, n, on);
}

/* external_ids' text of @pairs, "" for none. */
static void pairs_text(const struct kuryr_addr_pair *pairs, unsigned n, char *out, size_t size)
{
	size_t len = 0;

	*out = 0;
	for (unsigned i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%s,%s", i ? " " : "", pairs[i].ip,
					pairs[i].mac);
}

void ovn_portsec_ext(json_t *ext, const struct kuryr_addr_pair *pairs, unsigned n)
{
	char text[KURYR_MAX_ADDR_PAIRS * (sizeof(pairs->ip) + MAC_STR_LEN + 1)];

	if (n == 0)
		return;
	pairs_text(pairs, n, text, sizeof(text));
	json_array_append_new(json_array_get(ext, 1), json_pack("[s, s]", EXT_PAIRS, text));
}

/* Whether @pairs hold one of port @q's addresses with its MAC. */
static bool pairs_have(const struct kuryr_addr_pair *pairs, unsigned n, const struct kuryr_port *q)
{
	for (unsigned i = 0; i < n; i++)
		if (strcasecmp(pairs[i].mac, q->mac) == 0 &&
		    ((*q->ip && streq(pairs[i].ip, q->ip)) ||
		     (*q->ip6 && streq(pairs[i].ip, q->ip6))))
			return true;
	return false;
}

/* A port whose own MAC and an address of its (IPv4 or IPv6) are another
 * port's allowed address pair (a container behind a macvlan in a VM: the
 * VM's port has its pairs) is
 * reached only through that port, which has the MAC in its addresses
 * too. Two ports claiming a MAC give ovn-northd two identical L2 lookups,
 * and ovn-controller installs one of them, which one depending on the
 * flows' uuids: frames for the container then go to its own port, bound
 * nowhere, and die (seen in e2e-nested-macvlan). ML2/OVN's answer for a
 * pair's IP, type "virtual", keeps that lookup once the parent announces
 * the IP (it binds the port to the parent's chassis), and frames output
 * to a virtual port are not delivered to its parent either. Type
 * "external" is what the port is: not on any bridge, never sent a frame
 * (ovn-nb(5)); without an ha_chassis_group no chassis binds it, and
 * ovn-northd makes no L2 lookup or ARP reply for it, while its address
 * stays reserved. So, as long as another port has its pair, it is
 * external, with external_ids kuryr:behind naming that port; after, plain
 * again (only a port we made external).
 *
 * After port @p's pairs go from its own to @pairs[0..n): the ops on @ops
 * for every port of its network whose IP and MAC are among them. */
static int behind_ops(struct ovn_backend *ob, const struct kuryr_port *p,
		      const struct kuryr_addr_pair *pairs, unsigned n, json_t *ops,
		      char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *rows, *row;
	size_t i, j;
	int r;

	if ((!p->n_pairs && !n) || !*p->network)
		return 0;
	r = ovn_transact(ob,
			 json_pack("[{s:s, s:s, s:[o]}]", "op", "select", "table",
				   "Logical_Switch_Port", "where",
				   ovsdb_cond("external_ids", "includes",
					      ovsdb_string_map((const char *const[]){
						  EXT_NETWORK, p->network, NULL }))),
			 NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = ovn_first_rows(res);
	json_array_foreach(rows, i, row) {
		const char *type = json_object_get_str(row, "type") ?: "";
		const char *was = ovsdb_map_get(json_object_get(row, "external_ids"), EXT_BEHIND);
		char behind[512] = "";
		size_t len = 0;
		struct kuryr_port q;
		json_t *where, *other;

		ovn_row_to_port(row, &q);
		if (!kuryr_port_has_ip(&q) || !*q.mac || streq(q.name, p->name))
			continue;
		if (!pairs_have(p->pairs, p->n_pairs, &q) && !pairs_have(pairs, n, &q))
			continue;
		/* Plain, or external because of us: never an operator's. */
		if (!(streq(type, "") || (streq(type, "external") && was)))
			continue;
		json_array_foreach(rows, j, other) {
			struct kuryr_port o;

			if (j == i)
				continue;
			ovn_row_to_port(other, &o);
			if (streq(o.name, p->name) ? !pairs_have(pairs, n, &q)
						   : !pairs_have(o.pairs, o.n_pairs, &q))
				continue;
			if (len < sizeof(behind))
				len += (size_t)snprintf(behind + len, sizeof(behind) - len, "%s%s",
							len ? "," : "", o.name);
		}
		if (*behind ? streq(type, "external") && streq_ptr(was, behind) : !was)
			continue;
		where = json_pack(
		    "[o]", ovsdb_cond("_uuid", "==",
				      ovsdb_uuid(ovsdb_datum_uuid(json_object_get(row, "_uuid")))));
		json_array_append_new(ops, json_pack("{s:s, s:s, s:O, s:{s:s}}", "op", "update",
						     "table", "Logical_Switch_Port", "where", where,
						     "row", "type", *behind ? "external" : ""));
		json_array_append_new(
		    ops, json_pack("{s:s, s:s, s:O, s:[[s, s, o]]}", "op", "mutate", "table",
				   "Logical_Switch_Port", "where", where, "mutations",
				   "external_ids", "delete",
				   ovsdb_string_set((const char *const[]){ EXT_BEHIND, NULL })));
		if (*behind)
			json_array_append_new(
			    ops, json_pack("{s:s, s:s, s:O, s:[[s, s, o]]}", "op", "mutate",
					   "table", "Logical_Switch_Port", "where", where,
					   "mutations", "external_ids", "insert",
					   ovsdb_string_map(
					       (const char *const[]){ EXT_BEHIND, behind, NULL })));
		json_decref(where);
	}
	return 0;
}

/* One try of port_update: read the port, write what changes, on condition
 * that its addresses and port_security are still as read. -EAGAIN when
 * they were not. */
static int update_once(struct ovn_backend *ob, const char *name, const struct port_update *u,
		       char **reterr_msg)
{
	_cleanup_json_ json_t *row = NULL, *res = NULL, *pgs = NULL;
	struct kuryr_addr_pair pairs[KURYR_MAX_ADDR_PAIRS], want[KURYR_MAX_ADDR_PAIRS];
	const char *uuid, *keep[KURYR_MAX_ADDR_PAIRS + 4], *addrs[KURYR_MAX_ADDR_PAIRS + 4];
	char text[KURYR_MAX_ADDR_PAIRS * (sizeof(pairs->ip) + MAC_STR_LEN + 1)], ips[100];
	struct kuryr_port p;
	size_t n_addrs, n_keep = 0;
	unsigned n_want;
	bool on, changed;
	json_t *ops, *where;
	int r;

	r = ovn_find_lsp(ob, name, &row, reterr_msg);
	if (r < 0)
		return r;
	ovn_row_to_port(row, &p);
	uuid = ovsdb_datum_uuid(json_object_get(row, "_uuid"));
	if (!uuid || !*p.mac)
		return -EIO;
	on = u->set_port_security ? u->port_security : p.port_security;
	r = backend_pairs_apply(p.name, p.pairs, p.n_pairs, u, want, &n_want, &changed, reterr_msg);
	if (r < 0)
		return r;
	/* One pair added that is there, or removed that is not. */
	if (!changed && !u->set_pairs && !u->set_port_security)
		return 0;
	r = ovn_portsec_pairs(p.name, want, n_want, p.mac, on, pairs, reterr_msg);
	if (r < 0)
		return r;

	/* The addresses the port has but for what port security put there:
	 * the other MACs of its pairs, "unknown". */
	n_addrs = ovsdb_datum_strings(json_object_get(row, "addresses"), addrs, ELEMENTSOF(addrs));
	for (size_t i = 0; i < n_addrs && i < ELEMENTSOF(addrs); i++) {
		bool ours = streq(addrs[i], "unknown");

		for (unsigned j = 0; j < p.n_pairs && !ours; j++)
			ours = streq(addrs[i], p.pairs[j].mac) && !streq(addrs[i], p.mac);
		if (!ours)
			keep[n_keep++] = addrs[i];
	}

	where = json_pack("[o]", ovsdb_cond("_uuid", "==", ovsdb_uuid(uuid)));
	pairs_text(pairs, n_want, text, sizeof(text));
	kuryr_port_ips_text(&p, ips, sizeof(ips));
	ops = json_pack("[{s:s, s:s, s:O, s:[s, s], s:s, s:[{s:O, s:O}], s:i},"
			" {s:s, s:s, s:O, s:{s:o, s:o}},"
			" {s:s, s:s, s:O, s:[[s, s, o]]}]",
			"op", "wait", "table", "Logical_Switch_Port", "where", where, "columns",
			"addresses", "port_security", "until", "==", "rows", "addresses",
			json_object_get(row, "addresses"), "port_security",
			json_object_get(row, "port_security"), "timeout", 0, "op", "update",
			"table", "Logical_Switch_Port", "where", where, "row", "addresses",
			addresses_column(keep, n_keep, p.mac, pairs, n_want, on), "port_security",
			ovn_portsec_column(p.mac, ips, pairs, n_want, on), "op", "mutate", "table",
			"Logical_Switch_Port", "where", where, "mutations", "external_ids",
			"delete", ovsdb_string_set((const char *const[]){ EXT_PAIRS, NULL }));
	if (n_want)
		json_array_append_new(
		    ops,
		    json_pack("{s:s, s:s, s:O, s:[[s, s, o]]}", "op", "mutate", "table",
			      "Logical_Switch_Port", "where", where, "mutations", "external_ids",
			      "insert",
			      ovsdb_string_map((const char *const[]){ EXT_PAIRS, text, NULL })));
	if (p.port_security && !on)
		/* Out of every group, ours and the drop group alike. */
		json_array_append_new(ops,
				      json_pack("{s:s, s:s, s:[o], s:[[s, s, o]]}", "op", "mutate",
						"table", "Port_Group", "where",
						ovsdb_cond("ports", "includes", ovsdb_uuid(uuid)),
						"mutations", "ports", "delete", ovsdb_uuid(uuid)));
	if (!p.port_security && on) {
		_cleanup_json_ json_t *refs = json_pack("[o]", ovsdb_uuid(uuid));

		/* The groups a new port of this node joins. */
		r = ovn_sg_port_groups(ob, ob->pod_sgs ? (const char *const *)ob->pod_sgs : NULL,
				       &pgs, reterr_msg);
		if (r < 0) {
			json_decref(where);
			json_decref(ops);
			return r;
		}
		ovn_sg_join_ops(ops, pgs, refs);
	}
	json_decref(where);
	r = behind_ops(ob, &p, pairs, n_want, ops, reterr_msg);
	if (r < 0) {
		json_decref(ops);
		return r;
	}
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	/* The port changed meanwhile, or a group vanished: read again. */
	return r == -ETIMEDOUT ? -EAGAIN : r;
}

int ovn_port_update(struct backend *b, const char *name, const struct port_update *u,
		    struct kuryr_port *ret, char **reterr_msg)
{
	int r = -EAGAIN;

	/* Each try fails only because another write to the port won: a few
	 * containers of one VM adding their pairs at once take a few. */
	for (int i = 0; i < 10 && r == -EAGAIN; i++) {
		if (reterr_msg) {
			free(*reterr_msg);
			*reterr_msg = NULL;
		}
		r = update_once(to_ovn(b), name, u, reterr_msg);
	}
	if (r == -EAGAIN)
		set_errmsg(reterr_msg, "port %s kept changing while being updated", name);
	if (r < 0)
		return r;
	return ovn_port_get(b, name, ret, reterr_msg);
}
