/* SPDX-License-Identifier: Apache-2.0 */
/* For binding drivers only: the drivers, and what every driver shares for
 * the pod's device (binding/pod.c). */
#pragma once

#include <pthread.h>

#include "binding.h"
#include "macro.h"
#include "nl/nl.h"

extern const struct binding_ops binding_ovs_ops;
extern const struct binding_ops binding_tap_ops;
extern const struct binding_ops binding_prewire_ops;
extern const struct binding_ops binding_nested_vlan_ops;
extern const struct binding_ops binding_nested_macvlan_ops;

/* What the drivers on the integration bridge (ovs, tap, prewire) are
 * made of, first in their own struct. */
struct bridge_binding {
	struct binding base;
	struct bridge *br;
	bool veth_csum_off; /* a veth's container end fills in its checksums */
};

static inline struct bridge *bridge_of(struct binding *b)
{
	return ((struct bridge_binding *)b)->br;
}

/* A driver that needs nothing but the bridge: calloc'ed, @ops set. */
int bridge_binding_new(const struct binding_ops *ops, const struct binding_env *env,
		       struct binding **ret, char **reterr_msg);
bool bridge_binding_connected(struct binding *b);

/* 0 if no device named @ifname exists in the pod (@ns, a netlink socket
 * inside its netns); -EADDRINUSE (with a message) if one does. */
int pod_name_free(struct nl_sock *ns, const char *ifname, char **reterr_msg);

/* Configure the pod's device @ifindex, whose MAC and MTU its creation set:
 * the port's address, link up (unless it was created @up), the default
 * route via the network's gateway and the subnet's host routes (with
 * req->no_l3: only up). */
int pod_setup(struct nl_sock *ns, int ifindex, const struct binding_req *req, bool up,
	      char **reterr_msg);

/* The pod's device as plugged: named req->ifname, with the port's MAC, the
 * network's MTU, up, holding the port's address; @kind ("veth", "macvlan")
 * if not NULL. 0, -ENODEV if it is missing, -EUCLEAN with what differs. */
int pod_check(const struct binding_req *req, const char *kind, char **reterr_msg);

/* Announce the port's addresses from the pod's device @dev (up, with them)
 * over @ns, a socket opened with nl_sock_open_netns(): a gratuitous ARP
 * and an unsolicited neighbour advertisement with the device's MAC. A driver whose port is ready
 * for traffic when its plug returns (parked, or riding on the VM's port) calls it there and sets
 * st->announced; binding_announce() does it for the others once they are ready. Best effort: 0 or
 * -errno (-EINVAL: no address). */
int pod_announce(struct nl_sock *ns, const struct binding_req *req, const struct nl_link_info *dev);

/* wait_ready for drivers whose ports are ready once ovn-controller marks
 * their Interface installed (ovs, tap, prewire's parking): waits on
 * st->watch, which plug set with bridge_watch_new(). */
int ovs_wait_installed(struct bridge *br, struct binding_state *st, int timeout_ms,
		       char **reterr_msg);

/* The host side's MAC into st->host_mac (from a netlink socket in our own
 * namespace, or @ns when not NULL). */
int host_mac_read(struct nl_sock *ns, const char *ifname, struct binding_state *st);

/* What the nested drivers (nested-vlan, nested-macvlan) are made of, first
 * in their own struct (binding/nested.c). */
struct nested_binding {
	struct binding base;
	struct backend *backend; /* the VM's port and trunk */
	char link[IF_NAMESIZE];	 /* [binding] link_iface; "": the default route's */
	int port_up_timeout_ms;
	pthread_mutex_t lock; /* the driver's own state */
};

/* calloc(@size), a struct starting with a struct nested_binding, filled
 * in from @env; nested_binding_free() undoes it. */
int nested_binding_new(const struct binding_ops *ops, size_t size, const struct binding_env *env,
		       struct binding **ret);
void nested_binding_free(struct binding *b);

/* A nested plug under way: sockets in the guest's netns and the pod's,
 * the VM's NIC (up) and the port's MAC. nested_plug_done() frees it. */
struct nested_plug {
	struct nl_sock *host, *pod;
	struct nl_link_info link;
	uint8_t mac[6];
};

/* What every nested plug checks first: a container (not a tap), a MAC, the
 * VM's NIC, a network MTU the NIC carries (-EMSGSIZE), req->ifname free in
 * the pod; the NIC is brought up. On failure nothing is left to free. */
int nested_plug_begin(struct nested_binding *nb, const struct binding_req *req,
		      struct nested_plug *np, char **reterr_msg);
void nested_plug_done(struct nested_plug *np);

/* Create the pod's device in the pod's netns with @create, under name
 * @tmp (the kernel looks for a taken name in the guest's netns, which has
 * the NIC, called eth0 as pods call theirs), rename it req->ifname there,
 * and configure it (pod_setup()). On success *dev is the device and st
 * has its index and the NIC as the host side; on failure the device is
 * gone. */
int nested_pod_device_add(struct nested_plug *np, const struct binding_req *req,
			  int (*create)(struct nested_plug *np, const char *tmp, void *ctx,
					char **reterr_msg),
			  void *ctx, struct binding_state *st, struct nl_link_info *dev,
			  char **reterr_msg);

/* Delete the pod's device of kind @kind ("vlan", "macvlan") with the MAC
 * of req->port, named req->ifname or still under the plug's temporary
 * name; none there is fine. Nothing without a pod (req->netns_fd -1). */
int nested_pod_device_del(const struct binding_req *req, const char *kind, char **reterr_msg);

/* Nested drivers (binding/nested.c): the VM's NIC, [binding] link_iface
 * @name, else (NULL or "") the device of the guest's IPv4 default route,
 * as @host (a netlink socket in the guest's own netns) sees it. 0 or
 * -errno (-ENODEV: none) with a message. */
int nested_link_get(struct nl_sock *host, const char *name, struct nl_link_info *ret,
		    char **reterr_msg);
