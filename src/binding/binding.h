/* SPDX-License-Identifier: Apache-2.0 */
/* Binding driver "ovs": what os-vif does for an OVS port, in C.
 *
 * A container's port becomes a veth pair: the container end is created
 * directly inside the container's netns (never moved: a move costs an RCU
 * grace period), named CNI_IFNAME, with the port's MAC, the network's MTU,
 * its address and default route; the host end goes on the integration
 * bridge with external_ids:iface-id=<port>, attached-mac, iface-status and
 * vm-uuid, in one OVSDB transaction. A VM's tap device is plugged the same
 * way. ovn-controller marks a plugged Interface external_ids:ovn-installed
 * once its flows are in; a monitor on the Interface table tells waiters. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "backend/backend.h"

struct binding_ovs;
struct ovs_watch;

/* Connect to the Open_vSwitch database at @db ("unix:PATH"/"tcp:IP:PORT")
 * and start monitoring its Interface table. @bridge must exist. */
int binding_ovs_new(const char *db, const char *bridge, struct binding_ovs **ret,
		    char **reterr_msg);
void binding_ovs_free(struct binding_ovs *b);
bool binding_ovs_connected(struct binding_ovs *b);

/* The switch's external_ids:hostname (Open_vSwitch table): the name
 * ovn-controller registers its chassis with, and so the one Neutron's
 * ML2/OVN binds ports to. Copied into @buf of @size bytes. -ENOENT if unset
 * or empty, -ENAMETOOLONG if it does not fit, -errno of the transaction
 * otherwise. */
int binding_ovs_hostname(struct binding_ovs *b, char *buf, size_t size, char **reterr_msg);

struct veth_plug {
	const char *port;	 /* iface-id */
	const char *host_ifname; /* host end, <= 15 bytes */
	const char *device_id;	 /* vm-uuid: the container id */
	int netns_fd;		 /* the container's netns */
	const char *ifname;	 /* CNI_IFNAME */
	const char *mac;	 /* container end's MAC */
	uint32_t mtu;
	int family;	/* AF_INET */
	const char *ip; /* "10.0.0.5"; NULL: only bring that end up */
	uint8_t prefixlen;
	const char *gateway;		      /* "" or NULL: no default route */
	const struct kuryr_subnet_info *info; /* host routes; may be NULL */
};

struct nl_sock;
/* In a pod (@ns), on @ifindex: the default route via @gateway (if any) and
 * @info's host routes. */
int binding_pod_routes(struct nl_sock *ns, int ifindex, const char *gateway,
		       const struct kuryr_subnet_info *info, char **reterr_msg);

/* Start watching for ovn-installed on Interface @ifname. Call before the
 * interface is added so the mark cannot be missed. */
int binding_ovs_watch_new(struct binding_ovs *b, const char *ifname, struct ovs_watch **ret);
/* Wait at most @timeout_ms for the mark: 0 or -ETIMEDOUT. */
int binding_ovs_watch_wait(struct binding_ovs *b, struct ovs_watch *w, int timeout_ms);
void binding_ovs_watch_free(struct binding_ovs *b, struct ovs_watch *w);

/* Create and configure the veth pair and put its host end on the bridge;
 * the host end's MAC goes to @ret_host_mac when non-NULL. On failure
 * nothing is left behind. -EADDRINUSE: a device named @ifname already
 * exists in the netns; -EEXIST: @host_ifname is taken. */
int binding_ovs_plug_veth(struct binding_ovs *b, const struct veth_plug *p, char ret_host_mac[18],
			  char **reterr_msg);

/* Take @host_ifname off the bridge and delete the veth pair (both ends).
 * Missing pieces are not an error. */
int binding_ovs_unplug_veth(struct binding_ovs *b, const char *host_ifname, char **reterr_msg);

/* Put the existing device @ifname (a VM's tap) on the bridge for @port. */
int binding_ovs_plug_tap(struct binding_ovs *b, const char *ifname, const char *port,
			 const char *mac, const char *vm_id, char **reterr_msg);
/* Take @ifname off the bridge; -ENOENT if it is not on it. */
int binding_ovs_unplug_port(struct binding_ovs *b, const char *ifname, char **reterr_msg);

/* 1 if Interface @ifname is on the switch and marked ovn-installed, 0 if it
 * is there but not installed, -ENOENT if it is not there. */
int binding_ovs_installed(struct binding_ovs *b, const char *ifname, char **reterr_msg);
