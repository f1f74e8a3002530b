/* SPDX-License-Identifier: Apache-2.0 */
/* Binding driver "tap": a VM beside the containers. The hypervisor made
 * the tap device (QEMU's -netdev tap); kuryrctl vm plug puts it on the
 * integration bridge for the VM's port, as os-vif does for Nova. The
 * guest configures its own addresses. Ready once OVN installed it. */
#include <stdio.h>

#include "bridge.h"
#include "driver.h"
#include "nl/nl.h"

static int tap_new(const struct binding_env *env, struct binding **ret, char **reterr_msg)
{
	return bridge_binding_new(&binding_tap_ops, env, ret, reterr_msg);
}

static void tap_free(struct binding *b)
{
	free(b);
}

static int tap_plug(struct binding *b, const struct binding_req *req, struct binding_state *st,
		    char **reterr_msg)
{
	_cleanup_(nl_sock_freep) struct nl_sock *host = NULL;
	struct bridge_watch *w = NULL;
	struct nl_link_info li;
	int r;

	r = nl_sock_open(&host);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot open netlink: %s", strerror(-r));
		return r;
	}
	r = nl_link_get(host, req->ifname, &li);
	if (r < 0) {
		set_errmsg(reterr_msg, "device %s does not exist", req->ifname);
		return r;
	}
	r = nl_link_set_up(host, li.ifindex, true, reterr_msg);
	if (r < 0)
		return r;
	snprintf(st->host_ifname, sizeof(st->host_ifname), "%s", req->ifname);
	r = bridge_watch_new(bridge_of(b), req->ifname, &w);
	if (r == 0)
		r = bridge_add_port(bridge_of(b), req->ifname, req->port->name, req->port->mac,
				    req->device_id, reterr_msg);
	if (r < 0) {
		bridge_watch_free(bridge_of(b), w);
		return r;
	}
	st->watch = w;
	return 0;
}

static int tap_wait_ready(struct binding *b, struct binding_state *st, int timeout_ms,
			  char **reterr_msg)
{
	return ovs_wait_installed(bridge_of(b), st, timeout_ms, reterr_msg);
}

/* The tap stays: it is the hypervisor's. -ENOENT if it is not on the
 * bridge. */
static int tap_unplug(struct binding *b, const struct binding_req *req,
		      const struct binding_state *st, char **reterr_msg)
{
	return bridge_del_port(bridge_of(b), st->host_ifname, reterr_msg);
}

static int tap_check(struct binding *b, const struct binding_req *req,
		     const struct binding_state *st, char **reterr_msg)
{
	int r = bridge_port_installed(bridge_of(b), st->host_ifname, reterr_msg);

	if (r == -ENOENT) {
		set_errmsg(reterr_msg, "%s is not on the bridge", st->host_ifname);
		return -ENODEV;
	}
	if (r == 0) {
		set_errmsg(reterr_msg, "%s is not installed by OVN", st->host_ifname);
		return -EUCLEAN;
	}
	return r < 0 ? r : 0;
}

const struct binding_ops binding_tap_ops = {
	.name = "tap",
	.needs_bridge = true,
	.new = tap_new,
	.free = tap_free,
	.plug = tap_plug,
	.wait_ready = tap_wait_ready,
	.unplug = tap_unplug,
	.check = tap_check,
	.connected = bridge_binding_connected,
};
