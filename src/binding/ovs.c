/* SPDX-License-Identifier: Apache-2.0 */
/* Binding driver "ovs": what os-vif does for an OVS port. A veth pair whose
 * pod end is created directly inside the pod's netns, named CNI_IFNAME,
 * with the port's MAC and the network's MTU; whose host end (kc + the
 * port's id) goes on the integration bridge with iface-id = the port, in
 * one OVSDB transaction. On a userspace datapath the pod end computes its
 * own checksums. Ready once ovn-controller has installed the port's flows
 * (ovn-installed on the Interface). */
#include <stdio.h>

#include "bridge.h"
#include "driver.h"
#include "net-util.h"
#include "nl/nl.h"

static int ovs_new(const struct binding_env *env, struct binding **ret, char **reterr_msg)
{
	return bridge_binding_new(&binding_ovs_ops, env, ret, reterr_msg);
}

static void ovs_free(struct binding *b)
{
	free(b);
}

static int ovs_plug(struct binding *b, const struct binding_req *req, struct binding_state *st,
		    char **reterr_msg)
{
	_cleanup_(nl_sock_freep) struct nl_sock *host = NULL, *pod = NULL;
	const struct kuryr_port *p = req->port;
	struct bridge_watch *w = NULL;
	struct nl_link_info li;
	uint8_t mac[6];
	int r;

	if (mac_parse(p->mac, mac) < 0) {
		set_errmsg(reterr_msg, "bad MAC \"%s\"", p->mac);
		return -EINVAL;
	}
	binding_ifname(BINDING_PREFIX_HOST, p->name, st->host_ifname);

	/* One socket inside the pod serves the name check and the
	 * configuration. The check comes first because the veth creation
	 * would also fail on a taken name but could not say which end. */
	r = nl_sock_open_netns(req->netns_fd, &pod);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot open netlink in the container netns: %s",
			   strerror(-r));
		return r;
	}
	r = pod_name_free(pod, req->ifname, reterr_msg);
	if (r < 0)
		return r;
	r = nl_sock_open(&host);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot open netlink: %s", strerror(-r));
		return r;
	}
	/* Watching before the port exists, so the mark cannot be missed. */
	r = bridge_watch_new(bridge_of(b), st->host_ifname, &w);
	if (r < 0)
		return r;
	r = nl_veth_add(host, st->host_ifname, req->ifname, req->netns_fd, mac,
			req->net ? req->net->mtu : 0, reterr_msg);
	if (r < 0)
		goto out;
	r = nl_link_get(host, st->host_ifname, &li);
	if (r == 0)
		r = nl_link_set_up(host, li.ifindex, true, reterr_msg);
	if (r < 0)
		goto fail;
	mac_format(li.mac, st->host_mac);
	r = nl_link_get(pod, req->ifname, &li);
	if (r < 0) {
		set_errmsg(reterr_msg, "%s missing in the container netns after creation",
			   req->ifname);
		goto fail;
	}
	st->ifindex = li.ifindex;
	/* OVS's userspace datapath (3.1) sends a packet whose TCP or UDP
	 * checksum a veth left to offload into a tunnel unfilled, and NATs
	 * it (OVN's load balancers, floating IPs) into a wrong one: dropped
	 * by whatever checks (the far node, a VM's NIC). Unless told
	 * otherwise, on such a bridge the pod end fills in its own, and
	 * gives up segmentation offload with it (bench/veth-csum.sh). */
	if (((struct bridge_binding *)b)->veth_csum_off) {
		r = nl_link_set_tx_csum(pod, req->ifname, false, reterr_msg);
		if (r < 0)
			goto fail;
	}
	r = pod_setup(pod, li.ifindex, req, false, reterr_msg);
	if (r < 0)
		goto fail;
	r = bridge_add_port(bridge_of(b), st->host_ifname, p->name, p->mac, req->device_id,
			    reterr_msg);
	if (r < 0)
		goto fail;
	st->watch = TAKE_PTR(w);
	goto out;
fail:
	/* Deleting one end of a veth deletes both. */
	(void)nl_link_del(host, st->host_ifname, NULL);
out:
	bridge_watch_free(bridge_of(b), w);
	return r;
}

int ovs_wait_installed(struct bridge *br, struct binding_state *st, int timeout_ms,
		       char **reterr_msg)
{
	int r;

	if (!st->watch)
		return 0;
	if (timeout_ms < 0) {
		bridge_watch_free(br, TAKE_PTR(st->watch));
		return 0;
	}
	r = bridge_watch_wait(br, st->watch, timeout_ms);
	if (r == 0)
		bridge_watch_free(br, TAKE_PTR(st->watch));
	else
		set_errmsg(reterr_msg, "OVN did not install %s within %d ms", st->host_ifname,
			   timeout_ms);
	return r;
}

static int ovs_wait_ready(struct binding *b, struct binding_state *st, int timeout_ms,
			  char **reterr_msg)
{
	return ovs_wait_installed(bridge_of(b), st, timeout_ms, reterr_msg);
}

static int ovs_unplug(struct binding *b, const struct binding_req *req,
		      const struct binding_state *st, char **reterr_msg)
{
	_cleanup_(nl_sock_freep) struct nl_sock *host = NULL;
	char name[IF_NAMESIZE];
	int r;

	/* A plug that crashed before its state was recorded: the name
	 * derives from the port. */
	if (*st->host_ifname)
		snprintf(name, sizeof(name), "%s", st->host_ifname);
	else
		binding_ifname(BINDING_PREFIX_HOST, req->port->name, name);
	r = bridge_del_port(bridge_of(b), name, reterr_msg);
	if (r < 0 && r != -ENOENT)
		return r;
	r = nl_sock_open(&host);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot open netlink: %s", strerror(-r));
		return r;
	}
	/* The pod's end goes with it, wherever it is. */
	r = nl_link_del(host, name, reterr_msg);
	return r == -ENODEV ? 0 : r;
}

static int ovs_check(struct binding *b, const struct binding_req *req,
		     const struct binding_state *st, char **reterr_msg)
{
	_cleanup_(nl_sock_freep) struct nl_sock *host = NULL;
	struct nl_link_info li;
	int r;

	/* A veth's host end goes when its pod's netns is destroyed. */
	r = nl_sock_open(&host);
	if (r == 0)
		r = nl_link_get(host, st->host_ifname, &li);
	if (r == -ENODEV) {
		set_errmsg(reterr_msg, "host end %s is gone", st->host_ifname);
		return -ENODEV;
	}
	if (r < 0)
		return r;
	return req->netns_fd >= 0 ? pod_check(req, "veth", reterr_msg) : 0;
}

const struct binding_ops binding_ovs_ops = {
	.name = "ovs",
	.needs_bridge = true,
	.new = ovs_new,
	.free = ovs_free,
	.plug = ovs_plug,
	.wait_ready = ovs_wait_ready,
	.unplug = ovs_unplug,
	.check = ovs_check,
	.connected = bridge_binding_connected,
};
