/* SPDX-License-Identifier: Apache-2.0 */
/* Binding driver "prewire": the fast path of port pools. A pool parks each
 * entry ahead of time (prewire_park()): a veth plugged by the lower driver
 * (ovs), host end on the bridge and installed by OVN, the other end (the
 * stub, ks + the port's id, with the port's MAC) waiting in the holding
 * netns. Plugging a pod is then a passthru macvlan on the stub, created
 * directly inside the pod's netns: no backend call, no OVN wait, no device
 * move. Passthru allows one macvlan per stub, and a macvlan goes when its
 * stub goes, wherever it is.
 *
 * Unplugging is two-phase: detach renames the pod's device out of the way
 * (kd + the port's id) and drops its address at once, so the runtime may
 * reuse the name and address; unplug deletes it later, off the DEL path (a
 * deletion costs an RCU grace period). */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>

#include "bridge.h"
#include "driver.h"
#include "log.h"
#include "net-util.h"
#include "nl/nl.h"

struct prewire_binding {
	struct bridge_binding bb;
	struct binding *lower;
	char *holding_netns;
	char *host;
	int hold_fd;
	pthread_mutex_t hold_lock; /* guards hold_sock */
	struct nl_sock *hold_sock; /* inside the holding netns */
};

static void prewire_unpark(struct binding *b, const char *port);

static struct prewire_binding *to_pw(struct binding *b)
{
	return (struct prewire_binding *)b;
}

static int prewire_new(const struct binding_env *env, struct binding **ret, char **reterr_msg)
{
	struct prewire_binding *pb;
	int r;

	if (!env->bridge || !env->lower || !env->holding_netns) {
		set_errmsg(reterr_msg, "binding prewire needs a bridge, a lower driver and a "
				       "holding netns");
		return -EINVAL;
	}
	pb = calloc(1, sizeof(*pb));
	if (!pb)
		return -ENOMEM;
	pb->bb.base.ops = &binding_prewire_ops;
	pb->bb.br = env->bridge;
	pb->lower = env->lower;
	pb->hold_fd = -1;
	pthread_mutex_init(&pb->hold_lock, NULL);
	pb->holding_netns = strdup(env->holding_netns);
	pb->host = strdup(env->host ? env->host : "");
	if (!pb->holding_netns || !pb->host) {
		r = -ENOMEM;
		goto fail;
	}
	/* Without parking (pools off) the holding netns is only looked at,
	 * for entries an earlier run left. */
	if (env->park) {
		r = nl_netns_create(pb->holding_netns, &pb->hold_fd);
		if (r < 0) {
			set_errmsg(reterr_msg, "cannot open or create the holding netns %s: %s",
				   pb->holding_netns, strerror(-r));
			goto fail;
		}
	}
	*ret = &pb->bb.base;
	return 0;
fail:
	pb->bb.base.ops->free(&pb->bb.base);
	return r;
}

static void prewire_free(struct binding *b)
{
	struct prewire_binding *pb = to_pw(b);

	nl_sock_free(pb->hold_sock);
	if (pb->hold_fd >= 0)
		close(pb->hold_fd);
	pthread_mutex_destroy(&pb->hold_lock);
	free(pb->holding_netns);
	free(pb->host);
	free(pb);
}

/* With hold_lock held: the socket inside the holding netns; -ENOENT if
 * there is no holding netns (this node never parked). */
static int hold_sock(struct prewire_binding *pb, struct nl_sock **ret)
{
	int r = 0;

	if (!pb->hold_sock) {
		if (pb->hold_fd < 0) {
			_cleanup_free_ char *path =
			    strdup_printf("/run/netns/%s", pb->holding_netns);

			r = path ? nl_netns_open(path, &pb->hold_fd) : -ENOMEM;
		}
		if (r == 0)
			r = nl_sock_open_netns(pb->hold_fd, &pb->hold_sock);
	}
	*ret = pb->hold_sock;
	return r;
}

static int hold_link(struct prewire_binding *pb, const char *name, struct nl_link_info *ret)
{
	struct nl_sock *s;
	int r;

	pthread_mutex_lock(&pb->hold_lock);
	r = hold_sock(pb, &s);
	if (r == 0)
		r = nl_link_get(s, name, ret);
	pthread_mutex_unlock(&pb->hold_lock);
	return r;
}

static void hold_del(struct prewire_binding *pb, const char *name)
{
	struct nl_sock *s;

	pthread_mutex_lock(&pb->hold_lock);
	if (hold_sock(pb, &s) == 0)
		(void)nl_link_del(s, name, NULL);
	pthread_mutex_unlock(&pb->hold_lock);
}

/* st comes in as prewire_park() left it: host end, stub, host MAC. */
static int prewire_plug(struct binding *b, const struct binding_req *req, struct binding_state *st,
			char **reterr_msg)
{
	struct prewire_binding *pb = to_pw(b);
	_cleanup_(nl_sock_freep) struct nl_sock *pod = NULL;
	struct nl_sock_opening *opening;
	struct nl_link_info li;
	struct nl_sock *hold;
	uint8_t mac[6];
	int r, r2;

	if (mac_parse(req->port->mac, mac) < 0) {
		set_errmsg(reterr_msg, "bad MAC \"%s\"", req->port->mac);
		return -EINVAL;
	}
	if (!*st->data)
		binding_ifname(BINDING_PREFIX_STUB, req->port->name, st->data);
	if (!*st->host_ifname)
		binding_ifname(BINDING_PREFIX_HOST, req->port->name, st->host_ifname);

	/* The socket inside the pod is opened on a helper thread while the
	 * macvlan is made: the two do not depend on each other. */
	r = nl_sock_open_netns_begin(req->netns_fd, &opening);
	if (r < 0)
		return r;
	/* The macvlan is born in the pod, up: no move, no grace period. One
	 * handed over is born down: its user moves it, and moving a device
	 * that is up costs a second grace period. */
	pthread_mutex_lock(&pb->hold_lock);
	r = hold_sock(pb, &hold);
	/* The stub's index, known since it was parked (stubs live only in
	 * the holding netns, which only we change). */
	if (r == 0 && st->ifindex <= 0 && (r = nl_link_get(hold, st->data, &li)) == 0)
		st->ifindex = li.ifindex;
	if (r == 0)
		r = nl_macvlan_passthru_add(hold, req->ifname, st->ifindex, req->netns_fd, mac,
					    req->net ? req->net->mtu : 0, !req->handed_over,
					    reterr_msg);
	pthread_mutex_unlock(&pb->hold_lock);
	r2 = nl_sock_open_netns_end(opening, &pod);
	if (r == -EEXIST) {
		set_errmsg(reterr_msg, "a device named %s already exists in the container netns",
			   req->ifname);
		return -EADDRINUSE;
	}
	if (r < 0)
		return r;
	r = r2;
	if (r == 0)
		r = nl_link_get(pod, req->ifname, &li);
	if (r == 0)
		r = pod_setup(pod, li.ifindex, req, true, reterr_msg);
	if (r < 0 && pod)
		(void)nl_link_del(pod, req->ifname, NULL); /* leave the stub free again */
	/* The parked port is installed: announce now, on the socket the
	 * helper thread opened anyway. */
	if (r == 0) {
		st->announced = true;
		if ((r2 = pod_announce(pod, req, &li)) < 0 && r2 != -EINVAL)
			log_warn("event=announce-failed port=%s: %s", req->port->name,
				 strerror(-r2));
	}
	return r;
}

static int prewire_wait_ready(struct binding *b, struct binding_state *st, int timeout_ms,
			      char **reterr_msg)
{
	/* Only parking waits: a pod's macvlan rides on an installed port. */
	return ovs_wait_installed(bridge_of(b), st, timeout_ms, reterr_msg);
}

/* The pod's device this entry made: named req->ifname, or already renamed
 * out of the way by a detach (a DEL repeated after a crash), a macvlan
 * with the port's MAC. -ENODEV if there is none. */
static int find_pod_device(struct nl_sock *pod, const struct binding_req *req, char drain[16],
			   struct nl_link_info *ret)
{
	char mac[MAC_STR_LEN];
	int r;

	binding_ifname(BINDING_PREFIX_DRAIN, req->port->name, drain);
	r = nl_link_get(pod, req->ifname, ret);
	if (r < 0)
		r = nl_link_get(pod, drain, ret);
	if (r < 0)
		return r;
	/* Only the device this entry made. */
	if (!streq(ret->kind, "macvlan") || !streq(mac_format(ret->mac, mac), req->port->mac))
		return -ENODEV;
	return 0;
}

static int prewire_detach(struct binding *b, const struct binding_req *req,
			  const struct binding_state *st, char **reterr_msg)
{
	_cleanup_(nl_sock_freep) struct nl_sock *pod = NULL;
	struct nl_link_info li;
	char drain[16];
	uint8_t ip[16];
	int r;

	if (req->netns_fd < 0)
		return -EBADF;
	/* Out of the way at once: a private name and no address (which
	 * takes its routes along), so an ADD with the same name, address or
	 * default route in this netns can follow immediately. Not set down:
	 * on a passthru macvlan that costs an RCU grace period (~20 ms
	 * here); renaming a running device does not. */
	r = nl_sock_open_netns(req->netns_fd, &pod);
	if (r == 0)
		r = find_pod_device(pod, req, drain, &li);
	if (r == 0 && !streq(li.name, drain))
		r = nl_link_set_name(pod, li.ifindex, drain, reterr_msg);
	if (r == 0 && inet_pton(AF_INET, req->port->ip, ip) == 1)
		(void)nl_addr_del(pod, li.ifindex, AF_INET, ip, req->port->prefixlen, NULL);
	if (r == 0 && inet_pton(AF_INET6, req->port->ip6, ip) == 1)
		(void)nl_addr_del(pod, li.ifindex, AF_INET6, ip, req->port->prefixlen6, NULL);
	return r;
}

static int prewire_unplug(struct binding *b, const struct binding_req *req,
			  const struct binding_state *st, char **reterr_msg)
{
	_cleanup_(nl_sock_freep) struct nl_sock *pod = NULL;
	struct nl_link_info li;
	char drain[16];
	int r;

	if (req->netns_fd < 0) {
		/* Without the pod's netns, the stub goes and takes the pod's
		 * macvlan with it: the entry is no longer pre-wired. */
		prewire_unpark(b, req->port->name);
		return 0;
	}
	r = nl_sock_open_netns(req->netns_fd, &pod);
	if (r < 0)
		return r;
	r = find_pod_device(pod, req, drain, &li);
	if (r == -ENODEV)
		return 0; /* already gone, or not ours to touch */
	if (r == 0)
		r = nl_link_del(pod, li.name, reterr_msg);
	return r == -ENODEV ? 0 : r;
}

static int prewire_check(struct binding *b, const struct binding_req *req,
			 const struct binding_state *st, char **reterr_msg)
{
	struct nl_link_info li;
	char stub[16];
	int r;

	binding_ifname(BINDING_PREFIX_STUB, req->port->name, stub);
	/* A macvlan up on the stub holds it promiscuous; the macvlan goes
	 * when its pod's netns is destroyed. */
	r = hold_link(to_pw(b), *st->data ? st->data : stub, &li);
	if (r == -ENODEV || (r == 0 && li.promiscuity == 0)) {
		set_errmsg(reterr_msg, "stub %s carries no macvlan", *st->data ? st->data : stub);
		return -ENODEV;
	}
	if (r < 0)
		return r;
	return req->netns_fd >= 0 ? pod_check(req, "macvlan", reterr_msg) : 0;
}

/* ---- parking, for pools ---- */

static int prewire_park(struct binding *b, const struct kuryr_port *port,
			const struct kuryr_network *net, struct binding_state *ret,
			char **reterr_msg)
{
	struct prewire_binding *pb = to_pw(b);
	char stub[16];
	int r;

	if (pb->hold_fd < 0) {
		set_errmsg(reterr_msg, "no holding netns: this node does not park entries");
		return -EINVAL;
	}
	binding_ifname(BINDING_PREFIX_STUB, port->name, stub);
	*ret = (struct binding_state){ 0 };
	r = binding_plug(pb->lower,
			 &(struct binding_req){ .port = port,
						.net = net,
						.netns_fd = pb->hold_fd,
						.ifname = stub,
						.device_id = pb->host,
						.no_l3 = true },
			 ret, reterr_msg);
	if (r < 0)
		return r;
	snprintf(ret->data, sizeof(ret->data), "%s", stub);
	return 0;
}

static void unpark(struct prewire_binding *pb, const char *host_ifname, const char *stub)
{
	_cleanup_(nl_sock_freep) struct nl_sock *host = NULL;

	(void)bridge_del_port(pb->bb.br, host_ifname, NULL);
	if (nl_sock_open(&host) == 0)
		(void)nl_link_del(host, host_ifname, NULL);
	/* Deleting the host end took the stub along, unless the two were
	 * already apart. */
	hold_del(pb, stub);
}

static void prewire_unpark(struct binding *b, const char *port)
{
	char host_ifname[16], stub[16];

	binding_ifname(BINDING_PREFIX_HOST, port, host_ifname);
	binding_ifname(BINDING_PREFIX_STUB, port, stub);
	unpark(to_pw(b), host_ifname, stub);
}

static void prewire_drop_stub(struct binding *b, const char *stub)
{
	char host_ifname[16];

	snprintf(host_ifname, sizeof(host_ifname), BINDING_PREFIX_HOST "%s", stub + 2);
	unpark(to_pw(b), host_ifname, stub);
}

static int prewire_parked(struct binding *b, const char *port, struct binding_state *ret)
{
	struct prewire_binding *pb = to_pw(b);
	struct binding_state st = { 0 };
	struct nl_link_info li;

	snprintf(st.driver, sizeof(st.driver), "%s", b->ops->name);
	binding_ifname(BINDING_PREFIX_HOST, port, st.host_ifname);
	binding_ifname(BINDING_PREFIX_STUB, port, st.data);
	if (hold_link(pb, st.data, &li) < 0 || !(st.ifindex = li.ifindex) ||
	    bridge_port_installed(pb->bb.br, st.host_ifname, NULL) != 1 ||
	    host_mac_read(NULL, st.host_ifname, &st) < 0)
		return 0;
	*ret = st;
	/* ifi_flags do not show promiscuity a macvlan holds; this does. */
	return li.promiscuity ? PARKED_HELD : PARKED_FREE;
}

struct stubs {
	char (*names)[IF_NAMESIZE];
	size_t n, cap;
};

static int collect_stub(const struct nl_link_info *l, void *userdata)
{
	struct stubs *c = userdata;

	if (strncmp(l->name, BINDING_PREFIX_STUB, 2) != 0)
		return 0;
	if (c->n == c->cap) {
		char(*nn)[IF_NAMESIZE];

		c->cap = c->cap ? c->cap * 2 : 16;
		nn = realloc(c->names, c->cap * sizeof(*nn));
		if (!nn)
			return -ENOMEM;
		c->names = nn;
	}
	snprintf(c->names[c->n++], IF_NAMESIZE, "%s", l->name);
	return 0;
}

static int prewire_stubs(struct binding *b, char (**ret)[IF_NAMESIZE], size_t *ret_n)
{
	struct prewire_binding *pb = to_pw(b);
	struct stubs c = { 0 };
	struct nl_sock *s;
	int r;

	pthread_mutex_lock(&pb->hold_lock);
	r = hold_sock(pb, &s);
	if (r == 0)
		r = nl_link_foreach(s, collect_stub, &c);
	pthread_mutex_unlock(&pb->hold_lock);
	if (r == -ENOENT)
		r = 0; /* no holding netns, no stubs */
	if (r < 0) {
		free(c.names);
		return r;
	}
	*ret = c.names;
	*ret_n = c.n;
	return 0;
}

static const struct binding_park_ops prewire_park_ops = {
	.park = prewire_park,
	.unpark = prewire_unpark,
	.parked = prewire_parked,
	.stubs = prewire_stubs,
	.drop_stub = prewire_drop_stub,
};

const struct binding_ops binding_prewire_ops = {
	.name = "prewire",
	.needs_bridge = true,
	.new = prewire_new,
	.free = prewire_free,
	.plug = prewire_plug,
	.wait_ready = prewire_wait_ready,
	.detach = prewire_detach,
	.unplug = prewire_unplug,
	.check = prewire_check,
	.connected = bridge_binding_connected,
	.park = &prewire_park_ops,
	.lower = "ovs",
};
