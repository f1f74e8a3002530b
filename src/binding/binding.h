/* SPDX-License-Identifier: Apache-2.0 */
/* Binding drivers: how a backend port becomes a working device, os-vif's
 * job in C. One driver per file behind one vtable, in the manner of
 * systemd-networkd's NetDevVTable and Open vSwitch's netdev_class:
 *
 *   ovs      a veth pair: the pod end created inside the pod's netns, the
 *            host end on the integration bridge with external_ids:iface-id;
 *            ready once ovn-controller marks the Interface ovn-installed
 *   prewire  a passthru macvlan created inside the pod's netns on a stub a
 *            pool plugged ahead of time (its veth already on the bridge and
 *            installed): nothing to wait for
 *   tap      a hypervisor's existing tap device put on the bridge (a VM)
 *   nested-vlan  in a VM's guest: the container's port becomes a subport of
 *            the VM's trunk with a VLAN id of its own, and the pod's device
 *            a VLAN sub-interface of the VM's NIC with the port's MAC; the
 *            host's OVS pops and pushes the tag (no second overlay)
 *   nested-macvlan  in a VM's guest, without a trunk: the pod's device a
 *            bridge-mode macvlan of the VM's NIC with the port's MAC, and
 *            the port's IP and MAC an allowed address pair of the VM's port
 *
 * Every pod-side device is created in place, never moved (a move costs an
 * RCU grace period), and configured the same way by binding/pod.c.
 *
 * Writing a driver (e.g. binding/nested-macvlan.c):
 *   - implement struct binding_ops in binding/NAME.c: new, free, plug and
 *     unplug are required; wait_ready, detach, check and connected may be
 *     NULL (ready when plugged; no quick detach; nothing to check beyond
 *     the pod's device; always connected);
 *   - create the pod's device inside req->netns_fd and hand it to
 *     pod_setup() (binding/driver.h) for addresses, routes and link state,
 *     and use pod_check() in check;
 *   - record in struct binding_state what unplug needs after a restart
 *     (it is kept in the attachment store with the driver's name); unplug
 *     must cope with req->netns_fd == -1 (a crashed ADD rolled back at
 *     start) and with pieces that are already gone;
 *   - a driver that stacks on another's devices names it in .lower and
 *     gets it as binding_env.lower; one that parks pool entries ahead of
 *     time fills .park (struct binding_park_ops) and is then the pools';
 *   - add `&binding_NAME_ops` to binding_drivers[] in binding.c (after
 *     its lower driver) and declare it in binding/driver.h. A node plugs
 *     its containers with the driver [binding] driver names (default
 *     "ovs"); one that needs no Open vSwitch says so (.needs_bridge
 *     false) and kuryrd then connects to none.
 * Thread-safe: every call may come from any thread at any time. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"

/* Device names derived from a port's id, so they are stable across
 * restarts: a two-letter prefix and the id's first 12 hex digits. */
#define BINDING_PREFIX_HOST  "kc" /* a veth's host end, on the bridge */
#define BINDING_PREFIX_STUB  "ks" /* a pre-wired entry's stub, in the holding netns */
#define BINDING_PREFIX_DRAIN "kd" /* a pod's device on its way out */
#define BINDING_PREFIX_NEW   "kn" /* a pod's device just made, not yet renamed */

void binding_ifname(const char *prefix, const char *port, char out[IF_NAMESIZE]);

struct binding;
struct bridge;
struct bridge_watch;

/* What a driver is asked to plug, check or unplug. */
struct binding_req {
	const struct kuryr_port *port;	 /* iface-id, MAC, address, vif details */
	const struct kuryr_network *net; /* MTU, gateway, host routes */
	/* The pod's netns (owned by the caller), or -1: a tap, or an unplug
	 * without the pod (a rollback after a restart). */
	int netns_fd;
	const char *ifname;    /* the device's name in the pod, or the tap */
	const char *device_id; /* the container or VM: OVS vm-uuid */
	bool no_l3;	       /* bring the pod's device up without addresses or routes */
	/* The device goes to its user as made, who moves it and configures
	 * it (Docker): down, without addresses or routes. */
	bool handed_over;
	/* Announce the MAC with a RARP too: a port moved here from another
	 * node (the backend passes its traffic here once it sees one). */
	bool rarp;
};

/* What a plug leaves behind. The first three fields are kept in the
 * attachment store, so that whoever unplugs (after a restart too) uses the
 * driver that plugged, with what it needs. */
struct binding_state {
	char driver[16];	       /* binding_ops.name */
	char host_ifname[IF_NAMESIZE]; /* the host side: a veth's host end, a tap */
	char data[64];		       /* the driver's own (prewire: its stub) */
	char host_mac[18];	       /* the host side's MAC, for the CNI result */
	char port[64];		       /* the port plugged (binding_plug() sets it) */
	/* Not kept: the pod's device's MAC where it is not the port's (""),
	 * for the CNI result. */
	char pod_mac[18];
	/* Not kept: the index of the device in the pod (or, for a parked
	 * entry, of its stub, which the pod's device stacks on), 0 if not
	 * known. */
	int ifindex;
	struct bridge_watch *watch; /* between plug and wait_ready */
	bool announced;		    /* not kept: the pod's address was announced */
};

/* [binding] veth_tx_checksum: whether a veth's container end leaves TCP and
 * UDP checksums to offload. */
enum binding_tx_csum {
	BINDING_TX_CSUM_AUTO, /* off on a userspace (netdev) bridge, else on */
	BINDING_TX_CSUM_ON,
	BINDING_TX_CSUM_OFF,
};

/* What a driver is made with. */
struct binding_env {
	struct bridge *bridge;		   /* the integration bridge (ovs, tap, prewire) */
	struct backend *backend;	   /* nested drivers: the VM's trunk */
	const char *link_iface;		   /* nested drivers: the VM's NIC (NULL: the
					    * interface of the default route) */
	struct binding *lower;		   /* prewire: the driver that plugs its stubs */
	const char *holding_netns;	   /* prewire: where stubs wait */
	bool park;			   /* prewire: this node parks entries (pools with
					    * prewire): create the holding netns now */
	const char *host;		   /* this node: the vm-uuid of parked stubs */
	int port_up_timeout_ms;		   /* how long ready may take */
	enum binding_tx_csum veth_tx_csum; /* ovs: the veth's container end */
};

struct binding_ops {
	const char *name;
	int (*new)(const struct binding_env *env, struct binding **ret, char **reterr_msg);
	void (*free)(struct binding *b);
	/* Create and configure the devices; fill st (driver, host side, data,
	 * and anything wait_ready needs). On failure nothing is left behind.
	 * -EADDRINUSE: a device named req->ifname exists in the pod. */
	int (*plug)(struct binding *b, const struct binding_req *req, struct binding_state *st,
		    char **reterr_msg);
	/* Wait until the datapath forwards for a plugged port: 0, or
	 * -ETIMEDOUT (not yet: the wait stays pending and may be repeated).
	 * A negative @timeout_ms gives up: it drops what plug kept for the
	 * wait (unplug drops it too). */
	int (*wait_ready)(struct binding *b, struct binding_state *st, int timeout_ms,
			  char **reterr_msg);
	/* Make the pod's device unusable at once (free its name and address)
	 * without the slow part; unplug later finishes. */
	int (*detach)(struct binding *b, const struct binding_req *req,
		      const struct binding_state *st, char **reterr_msg);
	/* Remove what plug made. Pieces already gone are not an error. */
	int (*unplug)(struct binding *b, const struct binding_req *req,
		      const struct binding_state *st, char **reterr_msg);
	/* Is the attachment as plugged? With req->netns_fd the pod's device
	 * is checked too (MAC, MTU, up, address); without, only the host
	 * side. 0, -ENODEV (gone: e.g. the pod's netns went away) or
	 * -EUCLEAN (there, but changed), with what differs in *reterr_msg. */
	int (*check)(struct binding *b, const struct binding_req *req,
		     const struct binding_state *st, char **reterr_msg);
	/* Whether what the driver depends on (OVS's database) answers. */
	bool (*connected)(struct binding *b);
	/* Parking pool entries (NULL: this driver does not). */
	const struct binding_park_ops *park;
	/* It plugs into the integration bridge (binding_env.bridge): a node
	 * without Open vSwitch (a VM's guest) does not load it. A driver
	 * that does not is made only where [binding] driver names it. */
	bool needs_bridge;
	/* Its pod's device is reachable only through the pod's netns (no
	 * host side takes it along, as a veth's does): a restart's rollback,
	 * which has no netns, keeps the row, port-less, until a DEL or an
	 * ADD of that container brings the netns to remove the device. */
	bool pod_side;
	/* Its ports become subports of a trunk (nested-vlan): the backend
	 * binds them where the trunk's parent is, never to this node, so
	 * they are made with port_spec.subport. */
	bool subports;
	/* Its ports are never bound (nested-macvlan: a port only reserves
	 * the container's address and MAC, the frames go through the VM's
	 * port): made with port_spec.unbound, and nothing waits for the
	 * backend to report them up. */
	bool unbound;
	/* The driver whose devices this one stacks on (binding_env.lower;
	 * prewire: "ovs", which plugs its stubs), or NULL. It comes earlier
	 * in binding_drivers[]. */
	const char *lower;
};

struct binding {
	const struct binding_ops *ops;
};

/* The registered drivers, NULL-terminated; and one by name (NULL if none). */
extern const struct binding_ops *const binding_drivers[];
const struct binding_ops *binding_driver_find(const char *name);

static inline int binding_new(const struct binding_ops *ops, const struct binding_env *env,
			      struct binding **ret, char **reterr_msg)
{
	return ops->new (env, ret, reterr_msg);
}

static inline void binding_free(struct binding *b)
{
	if (b)
		b->ops->free(b);
}

static inline const char *binding_name(const struct binding *b)
{
	return b->ops->name;
}

static inline bool binding_subports(const struct binding *b)
{
	return b->ops->subports;
}

static inline bool binding_unbound(const struct binding *b)
{
	return b->ops->unbound;
}

/* Plug and wait until ready, within @timeout_ms; on failure (-ETIMEDOUT
 * when not ready in time) everything is unplugged again. */
int binding_attach(struct binding *b, const struct binding_req *req, int timeout_ms,
		   struct binding_state *ret, char **reterr_msg);
/* The two halves of binding_attach(), for callers that record the step in
 * between or plug many ports before waiting for them all. binding_plug()
 * keeps what *ret holds where the driver says so (prewire: the entry's
 * parked state); zero it otherwise. */
int binding_plug(struct binding *b, const struct binding_req *req, struct binding_state *ret,
		 char **reterr_msg);
int binding_wait_ready(struct binding *b, struct binding_state *st, int timeout_ms,
		       char **reterr_msg);
/* Once a plugged port is ready for traffic: tell the pod's neighbours
 * that its addresses are here now (a gratuitous ARP, an unsolicited
 * neighbour advertisement, from the pod's device).
 * OVN hands out the lowest free address, and a neighbour may still have
 * it under the MAC of the port that had it before; until then it would
 * send there. Nothing for a tap, or where the plug announced already.
 * Best effort. */
void binding_announce(struct binding *b, const struct binding_req *req, struct binding_state *st);
/* Give up waiting for a plugged port, keeping the devices. */
void binding_cancel(struct binding *b, struct binding_state *st);
/* Unplug; a pending plug's wait is dropped first. */
int binding_unplug(struct binding *b, const struct binding_req *req, struct binding_state *st,
		   char **reterr_msg);
/* The quick half of an unplug where the driver has one; 1 if it has none
 * (unplug does all of it). */
int binding_detach(struct binding *b, const struct binding_req *req, const struct binding_state *st,
		   char **reterr_msg);
int binding_check(struct binding *b, const struct binding_req *req, const struct binding_state *st,
		  char **reterr_msg);
bool binding_connected(struct binding *b);

/* Drivers that park pool entries ahead of time (prewire). A parked entry
 * is a veth whose host end is on the bridge (plugged by env.lower) and
 * whose other end, the stub, waits in the holding netns with the port's
 * MAC; plug then stacks the pod's device on the stub. */
enum {
	PARKED_FREE = 1, /* parked, intact, nothing stacked on it */
	PARKED_HELD = 2, /* parked, intact, a pod's device stacked on it (and up) */
};

struct binding_park_ops {
	/* Park @port: *ret is the entry's state, to wait on with wait_ready
	 * and to hand to plug later. */
	int (*park)(struct binding *b, const struct kuryr_port *port,
		    const struct kuryr_network *net, struct binding_state *ret, char **reterr_msg);
	/* Park @ports[0..n) at once, in one backend call where park makes
	 * one each (nested-vlan: the batch's subports in one write), *ret[i]
	 * as park's for ports[i]. All or none: on failure none is parked.
	 * NULL: the caller parks each. */
	int (*park_many)(struct binding *b, const struct kuryr_port *ports, size_t n,
			 const struct kuryr_network *net, struct binding_state *ret,
			 char **reterr_msg);
	/* Remove everything of @port's entry (host end, stub, and with the
	 * stub any device stacked on it in a pod). Pieces already gone are
	 * fine. */
	void (*unpark)(struct binding *b, const char *port);
	/* After a restart: PARKED_FREE or PARKED_HELD with the entry's
	 * state in *ret, or 0 if @port's entry is broken or gone. */
	int (*parked)(struct binding *b, const char *port, struct binding_state *ret);
	/* parked for @ports[0..n) at once (ret_states[i], ret[i]), reading
	 * once what parked reads for each (nested-vlan: the trunk). NULL:
	 * parked for each. */
	void (*parked_many)(struct binding *b, const char *const *ports, size_t n, int *ret_states,
			    struct binding_state *ret);
	/* The parked stubs there are (*ret malloc'ed), and dropping one whose
	 * port is gone. */
	int (*stubs)(struct binding *b, char (**ret)[IF_NAMESIZE], size_t *ret_n);
	void (*drop_stub)(struct binding *b, const char *stub);
};

int binding_park(struct binding *b, const struct kuryr_port *port, const struct kuryr_network *net,
		 struct binding_state *ret, char **reterr_msg);
/* Whether the driver parks a batch at once (park_many); then
 * binding_park_many(), all or none. */
bool binding_parks_many(const struct binding *b);
int binding_park_many(struct binding *b, const struct kuryr_port *ports, size_t n,
		      const struct kuryr_network *net, struct binding_state *ret,
		      char **reterr_msg);
void binding_unpark(struct binding *b, const char *port);
int binding_parked(struct binding *b, const char *port, struct binding_state *ret);
/* binding_parked() for @n ports, at once where the driver can. */
void binding_parked_many(struct binding *b, const char *const *ports, size_t n, int *ret_states,
			 struct binding_state *ret);
int binding_stubs(struct binding *b, char (**ret)[IF_NAMESIZE], size_t *ret_n);
void binding_drop_stub(struct binding *b, const char *stub);
