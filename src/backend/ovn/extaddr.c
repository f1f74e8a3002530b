/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "ovn": the addresses routers' gateways and floating IPs hold on an
 * external network, and load balancers' VIPs and health-check sources on
 * theirs. OVN's IPAM only serves switch ports, so they are held
 * where it will not hand them out: in the switch's other_config:exclude_ips,
 * next to the gateway. A reservation is a "wait" that exclude_ips is still
 * what was read, then its new value, in the caller's transaction; a caller
 * whose transaction fails on the wait (-ETIMEDOUT) reads again and retries. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "ovn-private.h"

struct used {
	uint32_t *ip; /* host order; ranges expanded */
	size_t n, cap;
};

static int used_add(struct used *u, uint32_t ip)
{
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 64;
		uint32_t *p = realloc(u->ip, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		u->ip = p;
		u->cap = cap;
	}
	u->ip[u->n++] = ip;
	return 0;
}

static bool used_has(const struct used *u, uint32_t ip)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->ip[i] == ip)
			return true;
	return false;
}

static int parse_ip4(const char *s, uint32_t *ret)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*ret = ntohl(a.s_addr);
	return 0;
}

/* exclude_ips: "IP IP..IP ..." (ovn-nb(5)); ranges of at most 65536. */
static int used_add_excludes(struct used *u, const char *excl)
{
	_cleanup_free_ char *copy = strdup(excl ? excl : "");
	char *save = NULL;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *dots = strstr(t, "..");
		uint32_t lo, hi;

		if (dots)
			*dots = 0;
		if (parse_ip4(t, &lo) < 0 || (dots && parse_ip4(dots + 2, &hi) < 0))
			continue;
		if (!dots)
			hi = lo;
		for (uint64_t ip = lo; ip <= hi && ip - lo < 65536; ip++)
			if (used_add(u, (uint32_t)ip) < 0)
				return -ENOMEM;
	}
	return 0;
}

/* The addresses the switch's ports have, static or from IPAM. */
static int used_add_ports(struct ovn_backend *ob, json_t *ls, struct used *u, char **reterr_msg)
{
	static const char *const cols[] = { "addresses", "dynamic_addresses" };
	_cleanup_json_ json_t *rows = NULL;
	json_t *row;
	size_t i;
	int r;

	r = ovn_select_uuids(ob, "Logical_Switch_Port", json_object_get(ls, "ports"), &rows,
			     reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(rows, i, row) {
		for (size_t c = 0; c < ELEMENTSOF(cols); c++) {
			const char *a[8];
			size_t n =
			    ovsdb_datum_strings(json_object_get(row, cols[c]), a, ELEMENTSOF(a));

			for (size_t k = 0; k < n; k++) {
				_cleanup_free_ char *copy = strdup(a[k]);
				char *save = NULL;
				uint32_t ip;

				if (!copy)
					return -ENOMEM;
				for (char *t = strtok_r(copy, " ", &save); t;
				     t = strtok_r(NULL, " ", &save))
					if (parse_ip4(t, &ip) == 0 && used_add(u, ip) < 0)
						return -ENOMEM;
			}
		}
	}
	return 0;
}

static void format_ip4(uint32_t ip, char out[48])
{
	struct in_addr a = { .s_addr = htonl(ip) };

	inet_ntop(AF_INET, &a, out, 48);
}

/* Append to @ops: exclude_ips of switch row @ls goes from what @ls says to
 * @value. */
static void exclude_ops(json_t *ls, const char *value, json_t *ops)
{
	const char *uuid = ovsdb_datum_uuid(json_object_get(ls, "_uuid"));
	json_t *other = json_object_get(ls, "other_config");

	json_array_append_new(ops, json_pack("{s:s, s:s, s:[o], s:[s], s:s, s:[{s:O}], s:i}", "op",
					     "wait", "table", "Logical_Switch", "where",
					     ovsdb_cond("_uuid", "==", ovsdb_uuid(uuid)), "columns",
					     "other_config", "until", "==", "rows", "other_config",
					     other, "timeout", 0));
	json_array_append_new(
	    ops, json_pack("{s:s, s:s, s:[o], s:[[s, s, [s, [s]]], [s, s, o]]}", "op", "mutate",
			   "table", "Logical_Switch", "where",
			   ovsdb_cond("_uuid", "==", ovsdb_uuid(uuid)), "mutations", "other_config",
			   "delete", "set", "exclude_ips", "other_config", "insert",
			   ovsdb_string_map((const char *const[]){ "exclude_ips", value, NULL })));
}

int ovn_extaddr_reserve(struct ovn_backend *ob, json_t *ls, const char *want, bool from_top,
			char out[48], json_t *ops, char **reterr_msg)
{
	json_t *other = json_object_get(ls, "other_config");
	const char *cidr = ovsdb_map_get(other, "subnet");
	const char *excl = ovsdb_map_get(other, "exclude_ips");
	struct used u = { 0 };
	_cleanup_free_ char *value = NULL;
	uint32_t net, ip = 0;
	uint8_t len;
	int r;

	if (!cidr || cidr4_parse(cidr, &net, &len) < 0) {
		set_errmsg(reterr_msg, "network %s has no IPv4 subnet",
			   json_object_get_str(ls, "name") ?: "?");
		return -EINVAL;
	}
	r = used_add_excludes(&u, excl);
	if (r == 0)
		r = used_add_ports(ob, ls, &u, reterr_msg);
	if (r < 0)
		goto out;
	if (want) {
		if (parse_ip4(want, &ip) < 0 || !ip4_in_subnet(ip, net, len)) {
			set_errmsg(reterr_msg, "%s is not a host address of %s", want, cidr);
			r = -EINVAL;
		} else if (used_has(&u, ip)) {
			set_errmsg(reterr_msg, "%s is in use on %s", want,
				   json_object_get_str(ls, "name") ?: "?");
			r = -EEXIST;
		}
	} else {
		uint32_t last = net | (0xffffffffu >> len);

		if (from_top) {
			for (ip = last - 1; ip > net && used_has(&u, ip); ip--)
				;
			if (ip <= net)
				ip = last;
		} else
			for (ip = net + 1; ip < last && used_has(&u, ip); ip++)
				;
		if (ip >= last) {
			set_errmsg(reterr_msg, "network %s has no free address",
				   json_object_get_str(ls, "name") ?: "?");
			r = -EDQUOT;
		}
	}
	if (r < 0)
		goto out;
	format_ip4(ip, out);
	value = strdup_printf("%s%s%s", excl && *excl ? excl : "", excl && *excl ? " " : "", out);
	if (!value) {
		r = -ENOMEM;
		goto out;
	}
	exclude_ops(ls, value, ops);
out:
	free(u.ip);
	return r;
}

void ovn_extaddr_release(json_t *ls, const char *ip, json_t *ops)
{
	const char *excl = ovsdb_map_get(json_object_get(ls, "other_config"), "exclude_ips");
	_cleanup_free_ char *copy = strdup(excl ? excl : ""), *value = NULL;
	size_t n = 0, cap = copy ? strlen(copy) + 1 : 0;
	char *save = NULL;

	value = calloc(1, cap + 1);
	if (!copy || !value)
		return;
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
		if (!streq(t, ip))
			n += (size_t)snprintf(value + n, cap + 1 - n, "%s%s", n ? " " : "", t);
	exclude_ops(ls, value, ops);
}
