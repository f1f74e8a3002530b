/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "ovn": floating IPs, as ML2/OVN maps them: a "dnat_and_snat" NAT
 * row on the router that connects the port's network to the floating IP's
 * external network (external_ip the floating address, held on that network
 * by extaddr.c; logical_ip the port's), so the outside reaches the port at
 * that address and the port leaves by it. Without logical_port the NAT is
 * done on the router's gateway chassis, which suits one gateway node. One
 * floating IP per port, as Neutron has it for a port's one address. */
#include <stdio.h>

#include "ovn-private.h"

static json_t *fip_json(json_t *nat)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", ovn_ext_of(nat, EXT_FIP_ID) ?: "",
			 "ip", json_object_get_str(nat, "external_ip") ?: "", "network",
			 ovn_ext_of(nat, EXT_FIP_NET) ?: "", "port",
			 ovn_ext_of(nat, EXT_FIP_PORT) ?: "", "fixed_ip",
			 json_object_get_str(nat, "logical_ip") ?: "", "router",
			 ovn_ext_of(nat, EXT_R_ID) ?: "");
}

/* Every floating IP's NAT row: a new array. */
static int all_fips(struct ovn_backend *ob, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *out, *nat;
	size_t i;
	int r;

	r = ovn_transact(ob,
			 json_pack("[{s:s, s:s, s:[[s, s, s]]}]", "op", "select", "table", "NAT",
				   "where", "type", "==", "dnat_and_snat"),
			 NB_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		return r;
	out = json_array();
	json_array_foreach(ovn_first_rows(res), i, nat)
		if (ovn_ext_of(nat, EXT_FIP_ID))
			json_array_append(out, nat);
	*ret = out;
	return 0;
}

int ovn_fip_list(struct backend *b, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *nats = NULL;
	json_t *out, *nat;
	size_t i;
	int r;

	r = all_fips(to_ovn(b), &nats, reterr_msg);
	if (r < 0)
		return r;
	out = json_array();
	json_array_foreach(nats, i, nat)
		json_array_append_new(out, fip_json(nat));
	*ret = out;
	return 0;
}

int ovn_fip_create(struct backend *b, const char *ext, const char *port, const char *ip,
		   json_t **ret, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	int r = -ETIMEDOUT;

	for (int attempt = 0; r == -ETIMEDOUT && attempt < 3; attempt++) {
		_cleanup_json_ json_t *ext_ls = NULL, *lsp = NULL, *ls = NULL, *lr = NULL,
				      *res = NULL, *mine = NULL;
		struct kuryr_network xnet, pnet;
		struct kuryr_port p;
		const char *lr_uuid;
		char fip[48], id[UUID_STR_LEN];
		json_t *ops, *nat;
		size_t i;

		r = ovn_find_switch(ob, ext, &ext_ls, reterr_msg);
		if (r == -ENOENT)
			r = -ESRCH;
		if (r == 0)
			r = ovn_network_get(b, ovsdb_datum_uuid(json_object_get(ext_ls, "_uuid")),
					    &xnet, reterr_msg);
		if (r < 0)
			return r;
		if (!xnet.external) {
			set_errmsg(reterr_msg,
				   "network %s is not external: floating IPs come from an external "
				   "network",
				   xnet.name);
			return -EINVAL;
		}
		r = ovn_find_lsp(ob, port, &lsp, reterr_msg);
		if (r == -ENOENT)
			r = -ESRCH;
		if (r == 0 && ovn_lb_vip_port(lsp, &p) < 0)
			r = ovn_port_get(b, json_object_get_str(lsp, "name"), &p, reterr_msg);
		if (r < 0)
			return r;
		if (!*p.ip && *p.ip6) {
			set_errmsg(reterr_msg,
				   "port %s has no IPv4 address: floating IPs are IPv4 (IPv6 is "
				   "routed, not NATed)",
				   port);
			return -EINVAL;
		}
		if (!*p.ip || !*p.network) {
			set_errmsg(reterr_msg, "port %s has no address of ours", port);
			return -EINVAL;
		}
		r = ovn_find_switch(ob, p.network, &ls, reterr_msg);
		if (r == 0)
			r = ovn_network_get(b, ovsdb_datum_uuid(json_object_get(ls, "_uuid")),
					    &pnet, reterr_msg);
		if (r < 0)
			return r;
		r = ovn_router_of_network(ob, pnet.id, &lr, reterr_msg);
		if (r == -ENOENT ||
		    (r == 0 && !streq_ptr(ovn_ext_of(lr, EXT_R_GW_NET), xnet.name))) {
			set_errmsg(reterr_msg,
				   "port %s's network %s has no router with a gateway on %s "
				   "(router add-subnet, router set --external-gateway)",
				   port, pnet.name, xnet.name);
			return -EINVAL;
		}
		if (r < 0)
			return r;
		r = all_fips(ob, &mine, reterr_msg);
		if (r < 0)
			return r;
		json_array_foreach(mine, i, nat)
			if (streq_ptr(ovn_ext_of(nat, EXT_FIP_PORT), p.name)) {
				set_errmsg(reterr_msg, "port %s has floating IP %s already", port,
					   json_object_get_str(nat, "external_ip") ?: "?");
				return -EEXIST;
			}
		lr_uuid = ovsdb_datum_uuid(json_object_get(lr, "_uuid"));
		ops = json_array();
		r = ovn_extaddr_reserve(ob, ext_ls, ip, false, fip, ops, reterr_msg);
		if (r < 0) {
			json_decref(ops);
			return r;
		}
		/* A VIP's: its load balancer's too. */
		r = ovn_lb_fip_ops(ob, lsp, fip, ops, reterr_msg);
		if (r < 0) {
			json_decref(ops);
			return r;
		}
		uuid_random(id);
		/* The port keeps one floating IP, whoever asks at once. */
		json_array_append_new(ops, json_pack("{s:s, s:s, s:o, s:[s], s:s, s:[], s:i}", "op",
						     "wait", "table", "NAT", "where",
						     ovn_where_ext(EXT_FIP_PORT, p.name), "columns",
						     "type", "until", "==", "rows", "timeout", 0));
		json_array_append_new(ops,
				      json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:o}}", "op",
						"insert", "table", "NAT", "uuid-name", "fip", "row",
						"type", "dnat_and_snat", "external_ip", fip,
						"logical_ip", p.ip, "external_ids",
						ovsdb_string_map((const char *const[]){
						    EXT_FIP_ID, id, EXT_FIP_NET, xnet.name,
						    EXT_FIP_PORT, p.name, EXT_NAT_NETID, pnet.id,
						    EXT_R_ID, ovn_ext_of(lr, EXT_R_ID), NULL })));
		json_array_append_new(
		    ops, json_pack("{s:s, s:s, s:[o], s:[[s, s, [s, [o]]]]}", "op", "mutate",
				   "table", "Logical_Router", "where",
				   ovsdb_cond("_uuid", "==", ovsdb_uuid(lr_uuid)), "mutations",
				   "nat", "insert", "set", ovsdb_named_uuid("fip")));
		r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
		if (r == 0)
			*ret = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "ip", fip,
					 "network", xnet.name, "port", p.name, "fixed_ip", p.ip,
					 "router", ovn_ext_of(lr, EXT_R_ID));
	}
	if (r == -ETIMEDOUT)
		set_errmsg(reterr_msg, "network %s or port %s kept changing; try again", ext, port);
	return r;
}

/* Remove NAT row @nat from its router and its address from its network. */
static int drop_fip(struct ovn_backend *ob, json_t *nat, char **reterr_msg)
{
	int r = -ETIMEDOUT;

	for (int attempt = 0; r == -ETIMEDOUT && attempt < 3; attempt++) {
		_cleanup_json_ json_t *ext_ls = NULL, *res = NULL;
		json_t *ops;

		ops = json_pack(
		    "[{s:s, s:s, s:[o], s:[[s, s, [s, [O]]]]}]", "op", "mutate", "table",
		    "Logical_Router", "where",
		    ovsdb_cond("nat", "includes", json_deep_copy(json_object_get(nat, "_uuid"))),
		    "mutations", "nat", "delete", "set", json_object_get(nat, "_uuid"));
		_cleanup_json_ json_t *lsp = NULL;

		if (ovn_find_switch(ob, ovn_ext_of(nat, EXT_FIP_NET), &ext_ls, NULL) == 0)
			ovn_extaddr_release(ext_ls, json_object_get_str(nat, "external_ip"), ops);
		if (ovn_find_lsp(ob, ovn_ext_of(nat, EXT_FIP_PORT) ?: "", &lsp, NULL) == 0) {
			r = ovn_lb_fip_ops(ob, lsp, NULL, ops, reterr_msg);
			if (r < 0) {
				json_decref(ops);
				return r;
			}
		}
		r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	}
	return r;
}

int ovn_fip_delete(struct backend *b, const char *fip, char **reterr_msg)
{
	_cleanup_json_ json_t *nats = NULL;
	json_t *nat;
	size_t i;
	int r;

	r = all_fips(to_ovn(b), &nats, reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(nats, i, nat)
		if (streq_ptr(ovn_ext_of(nat, EXT_FIP_ID), fip) ||
		    streq_ptr(json_object_get_str(nat, "external_ip"), fip))
			return drop_fip(to_ovn(b), nat, reterr_msg);
	set_errmsg(reterr_msg, "floating IP \"%s\" does not exist", fip);
	return -ENOENT;
}

int ovn_fip_drop_for_port(struct ovn_backend *ob, const char *port, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *nat;
	size_t i;
	int r;

	r = ovn_transact(ob,
			 json_pack("[{s:s, s:s, s:o}]", "op", "select", "table", "NAT", "where",
				   ovn_where_ext(EXT_FIP_PORT, port)),
			 NB_TIMEOUT_MS, &res, reterr_msg);
	json_array_foreach(r == 0 ? ovn_first_rows(res) : NULL, i, nat) {
		r = drop_fip(ob, nat, reterr_msg);
		if (r < 0)
			break;
	}
	return r;
}
