/* SPDX-License-Identifier: Apache-2.0 */
/* What the files of backend "ovn" share: the backend object and its NB
 * session (ovn.c), the row and operation helpers, our external_ids keys,
 * and the ops that ovn.c's table points at (network.c: Logical_Switch,
 * port.c: Logical_Switch_Port, sg.c: Port_Groups and ACLs, trunk.c:
 * trunks). Nothing outside src/backend/ovn/ includes it: the backend's
 * public face is backend/ovn.h. */
#pragma once

#include <stdatomic.h>

#include "backend/ovn.h"
#include "json-util.h"
#include "ovsdb/ovsdb.h"

#define NB		"OVN_Northbound"
#define NB_TIMEOUT_MS	10000
/* How long ovn-northd may take to hand out a dynamic address. */
#define IPAM_TIMEOUT_MS 5000

#define EXT_CIDR      "kuryr:cidr"
#define EXT_GATEWAY   "kuryr:gateway"
#define EXT_CIDR6     "kuryr:cidr6" /* the IPv6 subnet, where there is one */
#define EXT_GATEWAY6  "kuryr:gateway6"
#define EXT_MTU	      "kuryr:mtu"
#define EXT_NETWORK   "kuryr:network"
#define EXT_OWNER     "kuryr:device_owner"
#define EXT_DEVICE    "kuryr:device_id"
#define EXT_IFNAME    "kuryr:ifname"
#define EXT_IP	      "kuryr:ip"
#define EXT_IP6	      "kuryr:ip6" /* an IPv6 address not of ovn-northd's making */
#define EXT_PROJECT   "kuryr:project"
#define EXT_HOST      "kuryr:host"	   /* its node: whose kuryrd made it, or plugged a VM's */
#define EXT_MIGRATING "kuryr:migrating_to" /* the node a port is moving to (move.c) */
#define EXT_PHYSNET   "kuryr:physical_network" /* an external network */
/* Routers (router.c) and floating IPs (fip.c). */
#define EXT_R_ID      "kuryr:router_id"
#define EXT_R_NAME    "kuryr:router_name"
#define EXT_R_GW_NET  "kuryr:gw_network"
#define EXT_R_GW_IP   "kuryr:gw_ip"
#define EXT_R_SNAT    "kuryr:snat"
#define EXT_ROUTED    "kuryr:routed"	   /* a router's port on a switch: its _uuid */
#define EXT_RP_CIDR   "kuryr:cidr"	   /* an interface's subnet */
#define EXT_RP_NET    "kuryr:network"	   /* and its network's name */
#define EXT_GW_PORT   "kuryr:gateway_port" /* the router's port on its external network */
#define EXT_NAT_NETID "kuryr:network_id"
#define EXT_FIP_ID    "kuryr:fip_id"
#define EXT_FIP_NET   "kuryr:fip_network"
#define EXT_FIP_PORT  "kuryr:port"

/* trunk.c: the trunk a parent port carries (see there why it lives here). */
#define EXT_TRUNK_ID   "kuryr:trunk_id"
#define EXT_TRUNK_NAME "kuryr:trunk_name"

/* A pool port's pool (a QoS policy's pool is not its network's). */
#define EXT_POOL_KEY "kuryr:pool_key"

/* A port's QoS policy (its _uuid), on the port and its QoS rows: qos.c. */
#define EXT_QOS_POLICY "kuryr:qos_policy"

struct ovn_backend {
	struct backend base;
	struct ovsdb_session *nb;
	struct ovsdb_session *sb;     /* NULL: none configured */
	char *where;		      /* "nb=TARGET" */
	char **pod_sgs;		      /* NULL: "default" */
	char host[64];		      /* this node's chassis: routers' gateways */
	atomic_bool drop_group_ready; /* sg.c: the drop Port_Group exists */
	char *pod_qos;		      /* [neutron_defaults] pod_qos_policy; NULL: none */
	/* Transactions sent, for /metrics: those that change rows, and
	 * those that only select or wait. */
	atomic_ullong txn_writes, txn_reads;
};

static inline struct ovn_backend *to_ovn(struct backend *b)
{
	return (struct ovn_backend *)b;
}

/* ---- ovn.c: the NB session, rows and operations ---- */

int ovn_transact(struct ovn_backend *ob, json_t *ops, int timeout_ms, json_t **ret,
		 char **reterr_msg);
/* A "where" matching the row named @name. */
json_t *ovn_where_name(const char *name);
json_t *ovn_op_wait_name(const char *table, const char *name, bool exists);
/* The rows of the first operation's result; of the first two, the first
 * that has any (a lookup by one key, then by another). */
json_t *ovn_first_rows(json_t *result);
json_t *ovn_first_rows_of_two(json_t *result);
json_t *ovn_ops_select_ref(const char *table, const char *ref);
/* The uuid atoms of a set-of-uuids datum (a bare ["uuid", x] or ["set",
 * [...]]), in a new array. */
json_t *ovn_uuid_items(json_t *datum);
/* A "where" matching rows whose external_ids have @key=@value. */
json_t *ovn_where_ext(const char *key, const char *value);
/* The rows of @table whose uuids set @datum holds (those that still
 * exist), in one round trip: a new array in *ret. */
int ovn_select_uuids(struct ovn_backend *ob, const char *table, json_t *datum, json_t **ret,
		     char **reterr_msg);

/* ---- network.c: Logical_Switch ---- */

int ovn_find_switch(struct ovn_backend *ob, const char *ref, json_t **ret, char **reterr_msg);
int ovn_network_get(struct backend *b, const char *ref, struct kuryr_network *ret,
		    char **reterr_msg);
int ovn_network_list(struct backend *b, struct kuryr_network **ret, size_t *ret_n,
		     char **reterr_msg);
int ovn_network_create(struct backend *b, const struct network_spec *spec,
		       struct kuryr_network *ret, char **reterr_msg);
int ovn_network_delete(struct backend *b, const char *name, char **reterr_msg);

/* ---- port.c: Logical_Switch_Port ---- */

/* The row of the port named @ref, else of the one whose _uuid it is. */
int ovn_find_lsp(struct ovn_backend *ob, const char *ref, json_t **ret, char **reterr_msg);
int ovn_port_get(struct backend *b, const char *name, struct kuryr_port *ret, char **reterr_msg);
int ovn_port_by_mac(struct backend *b, const char *mac, struct kuryr_port *ret, char **reterr_msg);
int ovn_port_list(struct backend *b, const char *network, struct kuryr_port **ret, size_t *ret_n,
		  char **reterr_msg);
int ovn_port_delete(struct backend *b, const char *name, char **reterr_msg);
int ovn_port_create(struct backend *b, const struct port_spec *spec, struct kuryr_port *ret,
		    char **reterr_msg);
int ovn_port_create_bulk(struct backend *b, const struct port_spec *spec, unsigned n,
			 struct kuryr_port *ret, char **reterr_msg);
int ovn_port_move(struct backend *b, const char *name, const struct port_move *m,
		  struct kuryr_port *ret, char **reterr_msg);
int ovn_port_bind(struct backend *b, const char *name, char **reterr_msg);
int ovn_port_wait_up(struct backend *b, const char *name, int timeout_ms, char **reterr_msg);
/* The port a Logical_Switch_Port row describes. */
void ovn_row_to_port(json_t *row, struct kuryr_port *p);

/* ---- portsec.c: port security and allowed address pairs ---- */

/* What row @row says of port security: p->port_security, p->pairs. */
void ovn_portsec_read(json_t *row, struct kuryr_port *p);
/* @in's pairs for port @port (MAC @mac), their MACs "" made @mac, into
 * @out (KURYR_MAX_ADDR_PAIRS); -EINVAL for bad ones, -EBUSY for pairs
 * when port security is not @on. */
int ovn_portsec_pairs(const char *port, const struct kuryr_addr_pair *in, unsigned n,
		      const char *mac, bool on, struct kuryr_addr_pair *out, char **reterr_msg);
/* The port_security and addresses columns of a port with MAC @mac, IP @ip
 * ("" or NULL while unknown), own address entry @own, the resolved @pairs. */
json_t *ovn_portsec_column(const char *mac, const char *ip, const struct kuryr_addr_pair *pairs,
			   unsigned n, bool on);
json_t *ovn_portsec_addresses(const char *own, const char *mac, const struct kuryr_addr_pair *pairs,
			      unsigned n, bool on);
/* Add @pairs to external_ids map datum @ext. */
void ovn_portsec_ext(json_t *ext, const struct kuryr_addr_pair *pairs, unsigned n);
int ovn_port_update(struct backend *b, const char *name, const struct port_update *u,
		    struct kuryr_port *ret, char **reterr_msg);

/* ---- sg.c: security groups as Port_Groups and ACLs ---- */

int ovn_sg_create(struct backend *b, const char *name, json_t **ret, char **reterr_msg);
int ovn_sg_get(struct backend *b, const char *sg, json_t **ret, char **reterr_msg);
int ovn_sg_list(struct backend *b, json_t **ret, char **reterr_msg);
int ovn_sg_rule_add(struct backend *b, const char *sg, const struct sg_rule *rule, json_t **ret,
		    char **reterr_msg);
int ovn_sg_rule_delete(struct backend *b, const char *rule_id, char **reterr_msg);
int ovn_sg_delete(struct backend *b, const char *sg, char **reterr_msg);
/* The Port_Group names a port with groups @sgs (names or ids; NULL: the
 * default group) joins, the drop group's among them: a new array. -ESRCH
 * if a named group does not exist. */
int ovn_sg_port_groups(struct ovn_backend *ob, const char *const *sgs, json_t **ret,
		       char **reterr_msg);
/* Append to @ops the joins of ports @lsp_refs (a borrowed JSON array of
 * this transaction's named uuids) to every group of @pg_names, each one
 * required to exist still. */
void ovn_sg_join_ops(json_t *ops, json_t *pg_names, json_t *lsp_refs);

/* ---- trunk.c: trunks as parent ports, subports as their child ports ---- */

int ovn_trunk_create(struct backend *b, const char *parent, const char *name, json_t **ret,
		     char **reterr_msg);
int ovn_trunk_get(struct backend *b, const char *trunk, json_t **ret, char **reterr_msg);
int ovn_trunk_delete(struct backend *b, const char *trunk, char **reterr_msg);
int ovn_trunk_subport(struct backend *b, const char *trunk, bool add, const char *port,
		      unsigned vlan, char **reterr_msg);
int ovn_trunk_subports_add(struct backend *b, const char *trunk, const char *const *ports,
			   const unsigned *vlans, size_t n, char **reterr_msg);
int ovn_trunk_by_parent_mac(struct backend *b, const char *mac, json_t **ret, char **reterr_msg);

/* ---- router.c: routers as Logical_Routers ---- */

int ovn_router_create(struct backend *b, const char *name, json_t **ret, char **reterr_msg);
int ovn_router_get(struct backend *b, const char *router, json_t **ret, char **reterr_msg);
int ovn_router_list(struct backend *b, json_t **ret, char **reterr_msg);
int ovn_router_delete(struct backend *b, const char *router, char **reterr_msg);
int ovn_router_interface(struct backend *b, const char *router, bool add, const char *network,
			 char **reterr_msg);
int ovn_router_gateway(struct backend *b, const char *router, const char *ext, bool snat,
		       char **reterr_msg);
/* Our Logical_Router @ref names (id or name), a new reference in *ret. */
int ovn_find_router(struct ovn_backend *ob, const char *ref, json_t **ret, char **reterr_msg);
/* The router switch @ls_uuid is on: -ENOENT if none. */
int ovn_router_of_network(struct ovn_backend *ob, const char *ls_uuid, json_t **ret,
			  char **reterr_msg);

/* ---- fip.c: floating IPs as dnat_and_snat NAT rows ---- */

int ovn_fip_create(struct backend *b, const char *ext, const char *port, const char *ip,
		   json_t **ret, char **reterr_msg);
int ovn_fip_list(struct backend *b, json_t **ret, char **reterr_msg);
int ovn_fip_delete(struct backend *b, const char *fip, char **reterr_msg);
/* Drop the floating IPs of port @port (going away): what ovn_port_delete
 * calls. 0 if it had none. */
int ovn_fip_drop_for_port(struct ovn_backend *ob, const char *port, char **reterr_msg);

/* ---- extaddr.c: addresses held on external networks ---- */

/* Hold @want (NULL: the first free host address, or with @from_top the
 * last: ovn-northd's IPAM hands out the first ones, so on a switch with
 * dynamic ports the last is least likely to be one it is about to give)
 * of switch row @ls: 0 with the address in @out and, appended to @ops, a
 * wait that the switch's exclude_ips is as read and its update; -EEXIST
 * (in use), -EINVAL (not in the subnet), -EDQUOT (none free). */
int ovn_extaddr_reserve(struct ovn_backend *ob, json_t *ls, const char *want, bool from_top,
			char out[48], json_t *ops, char **reterr_msg);
/* Append to @ops the release of @ip on switch row @ls, likewise. */
void ovn_extaddr_release(json_t *ls, const char *ip, json_t *ops);
/* ---- lb.c: load balancers ---- */

/* An op that fails the transaction (-ETIMEDOUT) if @ip is the address
 * switch @ls_uuid's health checks probe from. */
json_t *ovn_lb_probe_ip_wait_op(const char *ls_uuid, const char *ip);
/* Switch @ls_uuid joins (@join) or leaves router @lr: ops for @ops that
 * put the router's pools on the switch too, or take them off, so that
 * clients there reach (or stop reaching) the VIPs. Leaving is refused
 * (-EBUSY) while a load balancer's VIP is on the switch. */
int ovn_lb_router_switch_ops(struct ovn_backend *ob, json_t *lr, const char *ls_uuid, bool join,
			     json_t *ops, char **reterr_msg);

int ovn_lb_create(struct backend *b, const struct lb_spec *spec, json_t **ret, char **reterr_msg);
int ovn_lb_get(struct backend *b, const char *lb, json_t **ret, char **reterr_msg);
int ovn_lb_list(struct backend *b, json_t **ret, char **reterr_msg);
int ovn_lb_delete(struct backend *b, const char *lb, char **reterr_msg);
int ovn_lb_pool_create(struct backend *b, const struct lb_pool_spec *spec, json_t **ret,
		       char **reterr_msg);
int ovn_lb_pool_get(struct backend *b, const char *pool, json_t **ret, char **reterr_msg);
int ovn_lb_pool_delete(struct backend *b, const char *pool, char **reterr_msg);
int ovn_lb_member_add(struct backend *b, const struct lb_member_spec *spec, json_t **ret,
		      char **reterr_msg);
int ovn_lb_member_remove(struct backend *b, const char *pool, const char *member,
			 char **reterr_msg);

/* A load balancer's VIP port (row @lsp) as fip.c sees a port: 0, or
 * -ENOENT if it is not one. */
int ovn_lb_vip_port(json_t *lsp, struct kuryr_port *p);
/* Append to @ops what floating IP @fip (NULL: none any more) on VIP port
 * @lsp means for its load balancer's pools; 0 for any other port. */
int ovn_lb_fip_ops(struct ovn_backend *ob, json_t *lsp, const char *fip, json_t *ops,
		   char **reterr_msg);

/* ---- qos.c: QoS policies, and their QoS rows on ports' switches ---- */

int ovn_qos_create(struct backend *b, const struct qos_spec *spec, json_t **ret, char **reterr_msg);
int ovn_qos_get(struct backend *b, const char *qos, json_t **ret, char **reterr_msg);
int ovn_qos_list(struct backend *b, json_t **ret, char **reterr_msg);
int ovn_qos_delete(struct backend *b, const char *qos, char **reterr_msg);
/* Append to @ops, a transaction that inserts ports @lsps (an array of
 * their names) on switch @ls_uuid, what gives them policy @qos (name or
 * id): its QoS rows on the switch, the policy's id in each port's
 * external_ids, and a "wait" that the policy still exists (if it fails,
 * ovn_qos_gone() tells). The policy's id in @ret_id; -ESRCH if there is no
 * such policy. */
int ovn_qos_port_ops(struct ovn_backend *ob, const char *qos, json_t *lsps, const char *ls_uuid,
		     json_t *ops, char ret_id[40], char **reterr_msg);
bool ovn_qos_gone(struct ovn_backend *ob, const char *id);
/* Append to @ops, a transaction that deletes port @lsp, the removal of
 * its QoS rows from their switch. */
int ovn_qos_port_delete_ops(struct ovn_backend *ob, const char *lsp, json_t *ops,
			    char **reterr_msg);

/* A row's external_ids value of @key (NULL if none), its _uuid, and a
 * "where" matching the row of _uuid @uuid. */
static inline const char *ovn_ext_of(json_t *row, const char *key)
{
	return ovsdb_map_get(json_object_get(row, "external_ids"), key);
}

static inline const char *ovn_uuid_of(json_t *row)
{
	return ovsdb_datum_uuid(json_object_get(row, "_uuid"));
}

static inline json_t *ovn_where_uuid(const char *uuid)
{
	return json_pack("[o]", ovsdb_cond("_uuid", "==", ovsdb_uuid(uuid)));
}

/* Add @key=@value to OVSDB string map @map. */
static inline void ovn_map_put(json_t *map, const char *key, const char *value)
{
	json_array_append_new(json_array_get(map, 1), json_pack("[s, s]", key, value));
}
