/* SPDX-License-Identifier: Apache-2.0 */
/* The network backend: Neutron's model (networks, subnets, ports, trunks,
 * security groups, QoS policies) behind one vtable. Backend "ovn" writes
 * OVN's Northbound database directly; backend "neutron" speaks Neutron's
 * REST API. All calls are thread-safe and return 0 or -errno with human
 * detail in *reterr_msg, one errno per meaning:
 *   -ENOENT          no such object, and nothing else
 *   -ENOTCONN        the backend is unreachable (refused, lost, socket gone)
 *   -ETIMEDOUT       it did not answer in time
 *   -EAGAIN          it asked to be asked later (HTTP 429, 503)
 *   -EEXIST          a name or address is taken
 *   -EBUSY           the network still has ports; a port's state forbids
 *                    the change (allowed address pairs or security
 *                    groups on a port without port security)
 *   -EINVAL          a bad argument (a malformed IP or MAC, ...)
 *   -ESRCH           a security group, QoS policy or subnet named in the
 *                    request does not exist
 *   -ENOTUNIQ        a name matches several objects (the message lists
 *                    their ids)
 *   -EDQUOT          over quota
 *   -EACCES          the backend refused us
 *   -EPROTONOSUPPORT the port is bound in a way no binding driver plugs
 * The daemon tells them to its callers through one table (dispatch.c). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "net-util.h"

#define KURYR_MAX_DNS	 4
#define KURYR_MAX_ROUTES 8

struct kuryr_route {
	char dst[64]; /* "192.168.0.0/16" */
	char gw[48];
};

/* What a subnet tells its ports beyond address and gateway. */
struct kuryr_subnet_info {
	char dns[KURYR_MAX_DNS][48];
	unsigned n_dns;
	struct kuryr_route routes[KURYR_MAX_ROUTES]; /* host routes */
	unsigned n_routes;
};

/* A network has at most one subnet per family and a port one address per
 * family (issue 11's model: what both backends can hold, and what a CNI
 * result carries). The IPv4 fields keep their names and meaning, "" where
 * there is no IPv4; the IPv6 ones sit beside them. kuryr_port_addrs()
 * walks them as one list for code that treats the families alike. */
struct kuryr_network {
	char name[128];
	char id[40];	     /* backend's id (OVN: the Logical_Switch _uuid) */
	char cidr[64];	     /* "10.0.0.0/24", "" if no IPv4 subnet */
	char gateway[48];    /* "10.0.0.1", "" if none */
	char subnet_id[40];  /* the subnet ports are made in; "": the backend picks */
	char cidr6[64];	     /* "fd00:1::/64", "" if no IPv6 subnet */
	char gateway6[48];   /* "" if none */
	char subnet6_id[40]; /* Neutron: the IPv6 subnet; "" elsewhere */
	/* How hosts on the IPv6 subnet take addresses (Neutron's
	 * ipv6_address_mode): "slaac" or "dhcpv6-stateful"; kuryrd puts the
	 * port's fixed IPs on the pod whatever the mode. */
	char ipv6_mode[20];
	uint32_t mtu;
	unsigned nports;
	struct kuryr_subnet_info info;
	/* An external network (the way out, through a router's gateway):
	 * the provider network it is mapped onto. */
	bool external;
	char physical_network[64];
};

/* Neutron's max_allowed_address_pair default: a port has at most this many
 * allowed address pairs. */
#define KURYR_MAX_ADDR_PAIRS 10

/* An allowed address pair: a port with port security may also send from
 * (and receive for) @ip, an address or a prefix, with source MAC @mac. */
struct kuryr_addr_pair {
	char ip[50];  /* canonical: "10.0.0.5", "10.0.0.0/24", "fd00::/64" */
	char mac[18]; /* lower case; "" in a request: the port's own */
};

enum port_owner {
	PORT_OWNER_CONTAINER,
	PORT_OWNER_VM,
	PORT_OWNER_POOL, /* pre-created by a node's pool; device_id is the node */
};

struct kuryr_port {
	char name[64]; /* also the OVS iface-id */
	char network[128];
	char mac[18];
	char ip[48]; /* IPv4; "" until allocated, or none on the network */
	uint8_t prefixlen;
	char ip6[48]; /* IPv6, likewise */
	uint8_t prefixlen6;
	bool up; /* the backend reports the port bound and up */
	enum port_owner owner;
	char device_id[257];   /* container id or VM name */
	char ifname[16];       /* CNI_IFNAME for containers */
	char pool_key[256];    /* a pool port: the pool it was made for ("": by network) */
	char host[64];	       /* the node it is bound to, where the backend says */
	char migrating_to[64]; /* the node it is being moved to (port_move), or "" */
	/* How the backend bound it, for the binding driver: Neutron's
	 * binding:vif_type ("" = ovs) and vif_details bridge_name ("" = the
	 * node's bridge); a trunk subport's parent port and VLAN id. */
	char vif_type[16];
	char bridge[16];
	char parent[64];
	unsigned vlan;
	/* Port security (anti-spoofing): the port sends only from its MAC and
	 * IP and its allowed address pairs; off, from anything. */
	bool port_security;
	unsigned n_pairs;
	struct kuryr_addr_pair pairs[KURYR_MAX_ADDR_PAIRS];
};

struct port_spec {
	const char *network;
	/* The network as the caller just read it (saves a lookup), or NULL. */
	const struct kuryr_network *net;
	const char *name; /* NULL: generate */
	const char *mac;  /* NULL: generate */
	const char *ip;	  /* NULL: allocate from the subnet */
	const char *ip6;  /* NULL: allocate from the IPv6 subnet */
	enum port_owner owner;
	const char *device_id; /* may be NULL */
	const char *ifname;    /* may be NULL */
	/* NULL: the node's defaults ([neutron_defaults]). Names or ids. */
	const char *const *security_groups; /* NULL-terminated */
	const char *qos_policy;
	const char *project;
	/* A pool port: its pool's key, kept with the port (Neutron: its
	 * description) so a restarted kuryrd gives it back to that pool. */
	const char *pool_key;
	/* Allowed address pairs beside the port's MAC and IP (port_create
	 * only: pools make plain ports), and no port security at all
	 * (then no pairs, no security groups). */
	const struct kuryr_addr_pair *pairs;
	unsigned n_pairs;
	bool no_port_security;
	/* A nested container's port, to become a subport of its VM's trunk:
	 * not bound to this node (a VM's guest, which no agent or chassis
	 * knows) but, by the backend's trunk support, where the trunk's
	 * parent port is (Neutron: no binding:host_id of ours, and no
	 * device_id, which Neutron refuses on a subport). */
	bool subport;
	/* A port that only reserves an address and MAC (nested-macvlan: the
	 * traffic goes through the VM's port): bound nowhere, so never up
	 * (Neutron: no binding:host_id, never ACTIVE). */
	bool unbound;
};

/* What port_update changes; the rest stays. */
struct port_update {
	/* Replace the allowed address pairs with pairs[0..n_pairs). */
	bool set_pairs;
	const struct kuryr_addr_pair *pairs;
	unsigned n_pairs;
	/* Turn port security on or off. Off also takes the port out of all
	 * its security groups (Neutron refuses groups without it); on puts
	 * it in the node's ([neutron_defaults] pod_security_groups, else the
	 * project's default group). */
	bool set_port_security;
	bool port_security;
	/* Or (without set_pairs) change the pairs the port has when the
	 * change is made, not as the caller read them, so that callers at
	 * once keep each other's: remove every pair with the MAC and IP ("":
	 * any IP) of one of del_pairs[0..n_del), then add each of
	 * add_pairs[0..n_add) that is not there (-ENOSPC if the port would
	 * have more than KURYR_MAX_ADDR_PAIRS). One write: all of it or
	 * nothing (a container's pair per address family goes on and off
	 * together). */
	const struct kuryr_addr_pair *add_pairs;
	unsigned n_add;
	const struct kuryr_addr_pair *del_pairs;
	unsigned n_del;
};

/* "IP[/LEN][,MAC]" (IPv4 or IPv6; addr-pair.c) into *ret, canonical; its
 * MAC "" when none is given. -EINVAL with a message. */
int backend_addr_pair_parse(const char *s, struct kuryr_addr_pair *ret, char **reterr_msg);
/* Pairs as a backend takes them: at most KURYR_MAX_ADDR_PAIRS, each
 * canonical with a unicast MAC or "", none twice. -EINVAL with a message. */
int backend_addr_pairs_check(const struct kuryr_addr_pair *pairs, unsigned n, char **reterr_msg);
/* The pairs port @port would have after @u: its pairs @cur[0..n), the
 * request's own (set_pairs) or with its del_pairs and add_pairs applied, into
 * @out (*ret_n of them; *ret_changed whether they differ from @cur).
 * -ENOSPC, -EINVAL with a message. */
int backend_pairs_apply(const char *port, const struct kuryr_addr_pair *cur, unsigned n,
			const struct port_update *u, struct kuryr_addr_pair *out, unsigned *ret_n,
			bool *ret_changed, char **reterr_msg);

/* Moving a port to another node while its node still has it, as live
 * migration does (port_move). */
enum port_move_step {
	/* Bound on @to as well: the port's node keeps its traffic until the
	 * workload announces itself on @to with a RARP, and @to passes
	 * traffic from then on (OVN: requested-chassis "NODE,TO" and
	 * activation-strategy rarp; Neutron: binding:profile migrating_to). */
	PORT_MOVE_BEGIN,
	/* @to alone: the port's node from now on (OVN: requested-chassis and
	 * kuryr:host @to; Neutron: binding:host_id), a container's port of
	 * @device_id (a pool's port leaves its pool). */
	PORT_MOVE_FINISH,
	/* Back to its node alone (@to ignored). */
	PORT_MOVE_CANCEL,
};

struct port_move {
	enum port_move_step step;
	const char *to;	       /* a node: its host name, as kuryrd's host */
	const char *device_id; /* FINISH: the container now using it; NULL: unchanged */
	const char *ifname;    /* FINISH: its CNI_IFNAME; NULL: unchanged */
};

/* port_move's checks of port @p as read (@subport: a trunk's), the same
 * on every backend (port-move.c): 0, or the errno of the contract there
 * with a message. */
int backend_port_move_check(const struct kuryr_port *p, bool subport, const struct port_move *m,
			    char **reterr_msg);

struct network_spec {
	const char *name;
	const char *cidr;  /* IPv4; NULL: none (then cidr6 is needed) */
	const char *cidr6; /* IPv6; NULL: none */
	/* "slaac" (NULL: the default) or "dhcpv6-stateful" */
	const char *ipv6_mode;
	/* Without ipv6_mode: every port's IPv6 address will be given by the
	 * caller (Docker's IPAM), so a mode that takes fixed addresses
	 * (Neutron: dhcpv6-stateful; OVN takes them in any). */
	bool ipv6_assigned;
	/* NULL: each subnet's first host address; "" none; an address: its
	 * family's subnet's (the other family's gets its first). */
	const char *gateway;
	uint32_t mtu; /* 0: default */
	/* IPv4: a prefix within cidr the backend hands addresses out of
	 * (Docker's --ip-range); NULL: all of the subnet. */
	const char *ip_range;
	/* External (BACKEND_CAP_ROUTERS): a flat provider network, named as
	 * the nodes' [ovs] bridge_mappings name it. */
	bool external;
	const char *physical_network;
};

/* A span of IPv4 addresses, host order, both ends included. */
struct ip4_span {
	uint32_t first, last;
};

/* Subnet @cidr handing out only @range (a prefix within it), @gateway
 * (may be NULL) aside (ip-range.c): the spans handed out in @alloc (one or
 * two) and the subnet's other host addresses in @excl (up to three).
 * -EINVAL with a message if @range is not within @cidr or holds no host. */
int backend_ip_range(const char *cidr, const char *range, const char *gateway,
		     struct ip4_span alloc[2], unsigned *ret_n_alloc, struct ip4_span excl[3],
		     unsigned *ret_n_excl, char **reterr_msg);
/* "A" or "A<sep>B". */
void ip4_span_format(const struct ip4_span *s, const char *sep, char *out, size_t size);

/* One address of a port as kuryr_port_addrs() lists them. */
struct kuryr_addr {
	int family; /* AF_INET, AF_INET6 */
	const char *ip;
	uint8_t prefixlen;
	const char *gateway; /* "" if none */
};

/* The addresses port @p has (IPv4 first), each with its subnet's gateway
 * from @net (may be NULL: no gateways), into @out; their number. The
 * strings are @p's and @net's. */
unsigned kuryr_port_addrs(const struct kuryr_port *p, const struct kuryr_network *net,
			  struct kuryr_addr out[2]);
/* Set @p's prefix lengths from @net's subnets, for a backend that gives
 * addresses without them (Neutron's fixed_ips). -EINVAL if a subnet the
 * port has an address of is not a prefix. */
int kuryr_port_prefixes(struct kuryr_port *p, const struct kuryr_network *net);
/* Whether @p has an address of any family. */
static inline bool kuryr_port_has_ip(const struct kuryr_port *p)
{
	return *p->ip || *p->ip6;
}
/* "IP4 IP6", "IP4" or "IP6": the port's addresses as an OVN addresses or
 * port_security entry lists them after the MAC; "" if none. */
void kuryr_port_ips_text(const struct kuryr_port *p, char *out, size_t size);

struct sg_rule {
	const char *direction;	      /* "ingress" or "egress" */
	const char *ethertype;	      /* "IPv4" (NULL) or "IPv6" */
	const char *protocol;	      /* "tcp", "udp", "icmp", "icmpv6" or NULL: any */
	int port_min, port_max;	      /* 0: any */
	const char *remote_ip_prefix; /* NULL: anywhere */
	const char *remote_group;     /* a group, name or id: its members; NULL */
};

/* A QoS policy: a bandwidth limit, a DSCP mark on what the port sends, or
 * both (Neutron's bandwidth_limit_rule and dscp_marking_rule). */
struct qos_spec {
	const char *name;
	unsigned max_kbps;	 /* 0: no limit */
	unsigned max_burst_kbps; /* 0: the backend's default */
	const char *direction;	 /* the limit's: "egress" (from the port) or "ingress" */
	int dscp;		 /* -1: no mark */
};

struct backend;

/* What a backend has beyond networks and ports. */
enum backend_caps {
	/* A port may name its project, security groups and QoS policy. */
	BACKEND_CAP_PORT_POLICIES = 1 << 0,
	BACKEND_CAP_SECURITY_GROUPS = 1 << 1, /* sg_* */
	BACKEND_CAP_QOS = 1 << 2,	      /* qos_* */
	BACKEND_CAP_TRUNKS = 1 << 3,	      /* trunk_* */
	/* A plugged port is reported up some time after the datapath
	 * installed it (Neutron: ACTIVE): ADD and pools wait for that. */
	BACKEND_CAP_ACTIVE_AFTER_PLUG = 1 << 4,
	BACKEND_CAP_ROUTERS = 1 << 5, /* router_*, fip_*, external networks */
	/* A port whose IP is in another port's allowed address pairs becomes
	 * a virtual port behind that one (ML2/OVN) and keeps claiming its own
	 * MAC, as the other does its pairs' MACs: a pair must not carry the
	 * MAC of the port whose IP it has, or frames for it go to either. */
	BACKEND_CAP_VIRTUAL_PAIRS = 1 << 6,
	BACKEND_CAP_LOADBALANCERS = 1 << 7, /* lb_* */
	/* A member added to or removed from a pool is in force when lb_member
	 * returns, in about a NB transaction's time (OVN's own): a container's
	 * ADD and DEL change its pools at once. Without it a change takes a
	 * backend's round trips (Octavia: the load balancer is locked while
	 * it changes) and kuryrd makes it beside ADD and DEL, not in them. */
	BACKEND_CAP_LB_FAST = 1 << 8,
};

/* Load balancers: a VIP on a network, pools behind it, members in them.
 * A pool is what Octavia calls a listener with its pool: one protocol and
 * port on the VIP, its algorithm SOURCE_IP_PORT (a hash of both ends'
 * addresses and ports), members' port member_port unless a member says. */
#define LB_PROTO_TCP  "tcp"
#define LB_PROTO_UDP  "udp"
#define LB_PROTO_SCTP "sctp"

struct lb_spec {
	const char *name;
	const char *network; /* name or id, as the caller read it: net */
	const struct kuryr_network *net;
	const char *vip;     /* IPv4 address on net; NULL: a free one */
	const char *project; /* NULL: the node's */
};

struct lb_pool_spec {
	const char *lb; /* name or id */
	const char *name;
	const char *protocol; /* LB_PROTO_* */
	/* How a member is chosen: "source-ip-port" (NULL; Octavia's
	 * SOURCE_IP_PORT) or what else the backend has. */
	const char *algorithm;
	unsigned port;	      /* 1..65535 */
	unsigned member_port; /* 0: port */
	/* A health check ("tcp" or "udp-connect"; NULL: none): a member is
	 * taken out after max_retries failed probes, delay seconds apart,
	 * each given timeout seconds; and back after as many answered. */
	const char *check;
	unsigned delay, timeout, max_retries;
};

struct lb_member_spec {
	const char *pool; /* name or id */
	const char *address;
	unsigned port; /* 0: the pool's member_port */
	/* The member's network (its subnet holds address) as the caller read
	 * it, and the backend port that has the address where there is one
	 * (OVN's health checks probe through it; NULL: none known). */
	const struct kuryr_network *net;
	const char *backend_port;
	/* Who asked: "" an operator; else the attachment that follows
	 * ("HOST/CONTAINER/IFNAME"), so each node finds its own again. */
	const char *owner;
};

struct backend_ops {
	const char *name;
	unsigned caps; /* enum backend_caps */
	int (*network_create)(struct backend *b, const struct network_spec *spec,
			      struct kuryr_network *ret, char **reterr_msg);
	int (*network_get)(struct backend *b, const char *name, struct kuryr_network *ret,
			   char **reterr_msg);
	/* *ret is a malloc'ed array the caller frees. */
	int (*network_list)(struct backend *b, struct kuryr_network **ret, size_t *ret_n,
			    char **reterr_msg);
	int (*network_delete)(struct backend *b, const char *name, char **reterr_msg);
	/* Create a port; returns once its MAC and IP are known. */
	int (*port_create)(struct backend *b, const struct port_spec *spec, struct kuryr_port *ret,
			   char **reterr_msg);
	/* Create @n ports like @spec (names generated, spec->name and ->ip
	 * ignored) in as few backend round trips as it allows; fills
	 * ret[0..n). All or nothing. */
	int (*port_create_bulk)(struct backend *b, const struct port_spec *spec, unsigned n,
				struct kuryr_port *ret, char **reterr_msg);
	int (*port_get)(struct backend *b, const char *name, struct kuryr_port *ret,
			char **reterr_msg);
	/* The port whose own MAC is @mac (a VM's NIC, as its guest sees it;
	 * a MAC that is only another port's allowed address pair does not
	 * count): -ENOENT if none, -ENOTUNIQ if several. */
	int (*port_by_mac)(struct backend *b, const char *mac, struct kuryr_port *ret,
			   char **reterr_msg);
	/* @network NULL: every port of ours. */
	int (*port_list)(struct backend *b, const char *network, struct kuryr_port **ret,
			 size_t *ret_n, char **reterr_msg);
	/* Change port @name's allowed address pairs or port security as @u
	 * says, all or nothing; *ret the port after it. -EBUSY for pairs on a
	 * port without port security. */
	int (*port_update)(struct backend *b, const char *name, const struct port_update *u,
			   struct kuryr_port *ret, char **reterr_msg);
	/* -ENOENT if there is no such port. */
	int (*port_delete)(struct backend *b, const char *name, char **reterr_msg);
	/* Move port @name between nodes as @m says; *ret the port after it.
	 * A port on no node (a VM's, on a backend that does not say where it
	 * is; a trunk's subport, which goes with its VM) is -EINVAL; BEGIN or
	 * FINISH to the node it is on, -EALREADY; to another node than the
	 * one it is moving to, -EBUSY. A port changed meanwhile is -EAGAIN,
	 * and left as it is. NULL where the backend cannot move ports. */
	int (*port_move)(struct backend *b, const char *name, const struct port_move *m,
			 struct kuryr_port *ret, char **reterr_msg);
	/* Bind VM port @name to this node, as whoever runs the VM does
	 * before its tap is plugged (Nova: binding:host_id; OVN: kuryr:host).
	 * A port bound here already, or moving here (port_move), is left as
	 * it is; one bound to another node is -EBUSY and stays so; one the
	 * backend binds in a way no binding driver plugs is -EPROTONOSUPPORT
	 * and left unbound. NULL where plugging the tap is all the binding
	 * there is. */
	int (*port_bind)(struct backend *b, const char *name, char **reterr_msg);
	/* Wait at most @timeout_ms until the backend reports port @name bound
	 * and up (a VM's port after its tap is plugged). -ETIMEDOUT. */
	int (*port_wait_up)(struct backend *b, const char *name, int timeout_ms, char **reterr_msg);
	/* Record which container uses pool port @name (""): none). NULL where
	 * the backend keeps no such record. */
	int (*port_set_device)(struct backend *b, const char *name, const char *device_id,
			       char **reterr_msg);
	/* port_wait_up for @n ports at once (one poll for all where the
	 * backend polls): ok[i] tells which came up in time. NULL: wait for
	 * each in turn. */
	void (*ports_wait_up)(struct backend *b, const char *const *names, size_t n, int timeout_ms,
			      bool *ok);
	/* Trunks (NULL where the backend has none): a VM's parent port that
	 * carries other ports, containers' inside that VM, as VLAN subports.
	 * Trunks and ports by name or id. *ret is
	 * {"id","name","port","status","subports":[{"port","vlan"}]}. */
	int (*trunk_create)(struct backend *b, const char *parent, const char *name, json_t **ret,
			    char **reterr_msg);
	int (*trunk_get)(struct backend *b, const char *trunk, json_t **ret, char **reterr_msg);
	int (*trunk_delete)(struct backend *b, const char *trunk, char **reterr_msg);
	/* Add @port as subport @vlan (1..4094), or remove it (@vlan ignored). */
	int (*trunk_subport)(struct backend *b, const char *trunk, bool add, const char *port,
			     unsigned vlan, char **reterr_msg);
	/* Add @ports[i] as subport @vlans[i] for each i < @n in one write
	 * (a pool's batch: one NB transaction, one add_subports), all or
	 * none. Ports as port_create named them (kuryr_port.name). Errors
	 * as trunk_subport's: -EEXIST if an id was taken (the trunk, read
	 * again, says which), -EINVAL for an id out of range or given
	 * twice, -EBUSY for a port in use. */
	int (*trunk_subports_add)(struct backend *b, const char *trunk, const char *const *ports,
				  const unsigned *vlans, size_t n, char **reterr_msg);
	/* The trunk whose parent port has MAC @mac (a VM's NIC, as its guest
	 * sees it), as trunk_get gives it: -ENOENT if no port has that MAC,
	 * -ENXIO if the port carries no trunk. */
	int (*trunk_by_parent_mac)(struct backend *b, const char *mac, json_t **ret,
				   char **reterr_msg);
	/* Security groups and QoS policies (NULL where the backend has none),
	 * by name or id. A group is {"id","name","rules":[{"id","direction",
	 * "ethertype","protocol","port_min","port_max","remote_ip_prefix",
	 * "remote_group"}]}, a policy {"id","name"} with "max_kbps",
	 * "max_burst_kbps","direction" if it limits (the egress limit where it
	 * has two) and "dscp" if it marks; qos_list's *ret is an array of
	 * them. qos_delete is -EBUSY while a port uses the policy. */
	int (*sg_create)(struct backend *b, const char *name, json_t **ret, char **reterr_msg);
	int (*sg_get)(struct backend *b, const char *sg, json_t **ret, char **reterr_msg);
	/* *ret: the new rule, as its group lists it (with its "id"). */
	int (*sg_rule_add)(struct backend *b, const char *sg, const struct sg_rule *rule,
			   json_t **ret, char **reterr_msg);
	int (*sg_delete)(struct backend *b, const char *sg, char **reterr_msg);
	/* Every group, as sg_get gives each: *ret a JSON array. */
	int (*sg_list)(struct backend *b, json_t **ret, char **reterr_msg);
	/* Remove rule @rule_id (a rule's "id") from whichever group has it. */
	int (*sg_rule_delete)(struct backend *b, const char *rule_id, char **reterr_msg);
	/* Routers and floating IPs (NULL where the backend has none), by
	 * name or id. A router is {"id","name","interfaces":[{"network",
	 * "subnet","ip"}],"external_gateway":null|{"network","ip","snat"}};
	 * a floating IP {"id","ip","network","port","fixed_ip","router"}.
	 * Where a request conflicts with what exists (a subnet routed by
	 * another router, a router with interfaces deleted, a port whose
	 * network reaches no router with a gateway on the floating IP's
	 * network) -EBUSY or -EINVAL with a message; what is not there
	 * -ENOENT (routers, floating IPs) or -ESRCH (networks, ports named
	 * in the request). */
	int (*router_create)(struct backend *b, const char *name, json_t **ret, char **reterr_msg);
	int (*router_get)(struct backend *b, const char *router, json_t **ret, char **reterr_msg);
	int (*router_list)(struct backend *b, json_t **ret, char **reterr_msg);
	int (*router_delete)(struct backend *b, const char *router, char **reterr_msg);
	/* The subnet of @network joins (@add) or leaves @router: its gateway
	 * address becomes the router's port on it. */
	int (*router_interface)(struct backend *b, const char *router, bool add,
				const char *network, char **reterr_msg);
	/* Set @router's gateway on external network @ext (its own address
	 * there from the network's free ones), SNAT for its subnets if @snat;
	 * @ext NULL clears it. */
	int (*router_gateway)(struct backend *b, const char *router, const char *ext, bool snat,
			      char **reterr_msg);
	/* A floating IP on external network @ext for port @port (@ip NULL:
	 * the first free one). */
	int (*fip_create)(struct backend *b, const char *ext, const char *port, const char *ip,
			  json_t **ret, char **reterr_msg);
	int (*fip_list)(struct backend *b, json_t **ret, char **reterr_msg);
	/* By id or address. */
	int (*fip_delete)(struct backend *b, const char *fip, char **reterr_msg);
	int (*qos_create)(struct backend *b, const struct qos_spec *spec, json_t **ret,
			  char **reterr_msg);
	int (*qos_get)(struct backend *b, const char *qos, json_t **ret, char **reterr_msg);
	int (*qos_list)(struct backend *b, json_t **ret, char **reterr_msg);
	int (*qos_delete)(struct backend *b, const char *qos, char **reterr_msg);
	/* Load balancers (NULL where the backend has none), by name or id;
	 * members by id, "IP" or "IP:PORT". A load balancer is {"id","name",
	 * "network","vip","status","pools":[POOL]}; a pool {"id","name",
	 * "loadbalancer","protocol","port","member_port","check":null|
	 * {"type","delay","timeout","max_retries"},"members":[{"id","address",
	 * "port","owner","health"}]}, health "online", "offline", "unknown"
	 * (not probed yet) or "" (no check). What does not exist is -ENOENT
	 * (the load balancer, pool or member named) or -ESRCH (a network
	 * named in the request); what the backend cannot do, -EOPNOTSUPP. A
	 * member that is there already is -EEXIST. lb_delete takes its pools
	 * and members with it, and lb_pool_delete its members. */
	int (*lb_create)(struct backend *b, const struct lb_spec *spec, json_t **ret,
			 char **reterr_msg);
	int (*lb_get)(struct backend *b, const char *lb, json_t **ret, char **reterr_msg);
	int (*lb_list)(struct backend *b, json_t **ret, char **reterr_msg);
	int (*lb_delete)(struct backend *b, const char *lb, char **reterr_msg);
	int (*lb_pool_create)(struct backend *b, const struct lb_pool_spec *spec, json_t **ret,
			      char **reterr_msg);
	int (*lb_pool_get)(struct backend *b, const char *pool, json_t **ret, char **reterr_msg);
	int (*lb_pool_delete)(struct backend *b, const char *pool, char **reterr_msg);
	/* *ret: the member, as its pool lists it. */
	int (*lb_member_add)(struct backend *b, const struct lb_member_spec *spec, json_t **ret,
			     char **reterr_msg);
	int (*lb_member_remove)(struct backend *b, const char *pool, const char *member,
				char **reterr_msg);
	/* true while the backend connection is usable. */
	bool (*connected)(struct backend *b);
	/* Where the backend is, for people ("nb=unix:...", "neutron=URL"). */
	const char *(*describe)(struct backend *b);
	/* Prometheus text about the backend's client; may be NULL. */
	void (*write_metrics)(struct backend *b, FILE *f);
	void (*free)(struct backend *b);
};

struct backend {
	const struct backend_ops *ops;
};

#define KURYR_DEFAULT_MTU 1442

/* The backends kuryrd can run, chosen by [DEFAULT] backend.
 *
 * Writing a backend: implement struct backend_ops in backend/NAME.c
 * (declaring in ops.caps what it has beyond networks and ports), and
 * describe it with a struct backend_driver: the kuryr.conf sections it
 * owns and how to read them into a config object of its own, how to make
 * the backend from that, and the optional hooks; then add it to
 * backend_drivers[] in backend.c. The daemon knows nothing else of it. */

/* What every backend gets from the node. */
struct backend_env {
	const char *host;   /* this node: binding:host_id, pool ports' owner */
	const char *bridge; /* the node's OVS bridge */
};

struct backend_driver {
	const char *name;
	/* The kuryr.conf sections it reads, NULL-terminated. */
	const char *const *sections;
	/* Its configuration: the defaults; one key of its sections (0,
	 * -ENOENT an unknown key, -EINVAL a bad value, with *reterr_msg set
	 * when the value must not be shown, e.g. a password; -ENOMEM); done
	 * reading the files, for this backend only (may be NULL); free. */
	int (*config_new)(void **ret);
	int (*config_set)(void *cfg, const char *section, const char *key, const char *value,
			  char **reterr_msg);
	int (*config_finish)(void *cfg, char **reterr_msg);
	void (*config_free)(void *cfg);
	/* The OVS bridge its config names for its ports, or NULL: the node's
	 * [ovs] bridge. May be NULL. */
	const char *(*config_bridge)(const void *cfg);
	/* Make the backend (@cfg stays the caller's for its lifetime). */
	int (*new)(const void *cfg, const struct backend_env *env, struct backend **ret,
		   char **reterr_msg);
	/* Before kuryrd serves (may be NULL): Neutron logs in. -EACCES stops
	 * kuryrd; other failures are logged and retried at the first use. */
	int (*start)(struct backend *b, char **reterr_msg);
};

/* NULL-terminated; and one by name (NULL if none). */
extern const struct backend_driver *const backend_drivers[];
const struct backend_driver *backend_driver_find(const char *name);

static inline void backend_free(struct backend *b)
{
	if (b)
		b->ops->free(b);
}
