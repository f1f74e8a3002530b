/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "ovn": port security and allowed address pairs, mapped as
 * ML2/OVN maps Neutron's:
 *
 *   port_security  on: "MAC IP" plus the IPs of the pairs with the port's
 *                  own MAC in that entry, and one entry "MAC2 IP" per pair
 *                  with another MAC; off: empty
 *   addresses      the port's own entry ("MAC dynamic" or "MAC IP"), each
 *                  other MAC of a pair bare, so that the switch delivers
 *                  frames for it to the port; off: also "unknown", so it
 *                  gets frames for any MAC the switch does not know
 *   external_ids   kuryr:allowed_address_pairs "IP,MAC IP,MAC", what
 *                  port show lists
 *
 * Without port security a port is in no Port_Group, as Neutron wants it
 * (it refuses groups there); turned on again it joins the node's groups
 * as a new port would. */
#include <stdio.h>

#include "ovn-private.h"

#define EXT_PAIRS "kuryr:allowed_address_pairs"
/* One port_security entry: a MAC and at most 1 + KURYR_MAX_ADDR_PAIRS
 * addresses of at most 49 characters each. */
#define ENTRY_MAX 1024

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
	json_t *set = json_array();
	char entry[ENTRY_MAX];
	size_t len;

	if (!on)
		return json_pack("[s, o]", "set", set);
	len = (size_t)snprintf(entry, sizeof(entry), "%s%s%s", mac, ip && *ip ? " " : "",
			       ip ? ip : "");
	for (unsigned i = 0; i < n; i++) {
		if (streq(pairs[i].mac, mac)) {
			if (len < sizeof(entry))
				len += (size_t)snprintf(entry + len, sizeof(entry) - len, " %s",
							pairs[i].ip);
		} else {
			char other[MAC_STR_LEN + sizeof(pairs[i].ip) + 1];

			snprintf(other, sizeof(other), "%s %s", pairs[i].mac, pairs[i].ip);
			json_array_append_new(set, json_string(other));
		}
	}
	json_array_append_new(set, json_string(entry));
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

/* One try of port_update: read the port, write what changes, on condition
 * that its addresses and port_security are still as read. -EAGAIN when
 * they were not. */
static int update_once(struct ovn_backend *ob, const char *name, const struct port_update *u,
		       char **reterr_msg)
{
	_cleanup_json_ json_t *row = NULL, *res = NULL, *pgs = NULL;
	struct kuryr_addr_pair pairs[KURYR_MAX_ADDR_PAIRS];
	const struct kuryr_addr_pair *want;
	const char *uuid, *keep[KURYR_MAX_ADDR_PAIRS + 4], *addrs[KURYR_MAX_ADDR_PAIRS + 4];
	char text[KURYR_MAX_ADDR_PAIRS * (sizeof(pairs->ip) + MAC_STR_LEN + 1)];
	struct kuryr_port p;
	size_t n_addrs, n_keep = 0;
	unsigned n_want;
	bool on;
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
	want = u->set_pairs ? u->pairs : p.pairs;
	n_want = u->set_pairs ? u->n_pairs : p.n_pairs;
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
	ops = json_pack("[{s:s, s:s, s:O, s:[s, s], s:s, s:[{s:O, s:O}], s:i},"
			" {s:s, s:s, s:O, s:{s:o, s:o}},"
			" {s:s, s:s, s:O, s:[[s, s, o]]}]",
			"op", "wait", "table", "Logical_Switch_Port", "where", where, "columns",
			"addresses", "port_security", "until", "==", "rows", "addresses",
			json_object_get(row, "addresses"), "port_security",
			json_object_get(row, "port_security"), "timeout", 0, "op", "update",
			"table", "Logical_Switch_Port", "where", where, "row", "addresses",
			addresses_column(keep, n_keep, p.mac, pairs, n_want, on), "port_security",
			ovn_portsec_column(p.mac, p.ip, pairs, n_want, on), "op", "mutate", "table",
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
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	/* The port changed meanwhile, or a group vanished: read again. */
	return r == -ETIMEDOUT ? -EAGAIN : r;
}

int ovn_port_update(struct backend *b, const char *name, const struct port_update *u,
		    struct kuryr_port *ret, char **reterr_msg)
{
	int r = -EAGAIN;

	for (int i = 0; i < 3 && r == -EAGAIN; i++) {
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
