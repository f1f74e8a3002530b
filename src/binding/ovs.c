/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "backend/backend.h"
#include "binding.h"
#include "json-util.h"
#include "nl/nl.h"
#include "ovsdb/ovsdb.h"
#include "time-util.h"

#define VS	       "Open_vSwitch"
#define OVS_TIMEOUT_MS 10000

struct ovs_watch {
	struct ovs_watch *next;
	char ifname[16];
	bool installed;
};

struct binding_ovs {
	char *db;
	/* Readers transact; the writer swaps in a new client when the old
	 * connection died (ovsdb-server restarted). */
	pthread_rwlock_t conn_lock;
	struct ovsdb_client *client;
	char *bridge;
	pthread_mutex_t lock; /* guards watches */
	pthread_cond_t cond;
	struct ovs_watch *watches;
};

/* Reader thread: an Interface row changed. Wake whoever waits for it. */
static void on_update(void *userdata, const char *monitor_id, json_t *updates)
{
	struct binding_ovs *b = userdata;
	json_t *rows = json_object_get(updates, "Interface");
	const char *uuid;
	json_t *change;
	bool woke = false;

	pthread_mutex_lock(&b->lock);
	json_object_foreach(rows, uuid, change) {
		json_t *row = json_object_get(change, "new");
		const char *name = json_object_get_str(row, "name");
		const char *inst =
		    ovsdb_map_get(json_object_get(row, "external_ids"), "ovn-installed");

		if (!name || !inst || !streq(inst, "true"))
			continue;
		for (struct ovs_watch *w = b->watches; w; w = w->next)
			if (streq(w->ifname, name) && !w->installed) {
				w->installed = true;
				woke = true;
			}
	}
	if (woke)
		pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

/* Open a connection, check the bridge, start the Interface monitor. */
static int ovs_connect(struct binding_ovs *b, struct ovsdb_client **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	struct ovsdb_client *c = NULL;
	json_t *ops;
	int r;

	r = ovsdb_client_connect(b->db, &c, reterr_msg);
	if (r < 0)
		return r;
	ops = json_pack("[{s:s, s:s, s:[o], s:[s]}]", "op", "select", "table", "Bridge", "where",
			ovsdb_cond("name", "==", json_string(b->bridge)), "columns", "name");
	r = ovsdb_transact(c, VS, ops, OVS_TIMEOUT_MS, &res, reterr_msg);
	if (r < 0)
		goto fail;
	if (json_array_size(json_object_get(json_array_get(res, 0), "rows")) != 1) {
		set_errmsg(reterr_msg, "bridge %s does not exist in %s", b->bridge, b->db);
		r = -ENOENT;
		goto fail;
	}
	r = ovsdb_monitor(c, VS, "kuryr-interfaces",
			  json_pack("{s:{s:[s, s], s:{s:b, s:b, s:b, s:b}}}", "Interface",
				    "columns", "name", "external_ids", "select", "initial", 0,
				    "insert", 1, "delete", 0, "modify", 1),
			  on_update, b, OVS_TIMEOUT_MS, reterr_msg);
	if (r < 0)
		goto fail;
	*ret = c;
	return 0;
fail:
	ovsdb_client_free(c);
	return r;
}

int binding_ovs_new(const char *db, const char *bridge, struct binding_ovs **ret, char **reterr_msg)
{
	struct binding_ovs *b = calloc(1, sizeof(*b));
	pthread_condattr_t ca;
	int r;

	if (!b)
		return -ENOMEM;
	pthread_mutex_init(&b->lock, NULL);
	pthread_rwlock_init(&b->conn_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &ca);
	pthread_condattr_destroy(&ca);
	b->bridge = strdup(bridge);
	b->db = strdup(db);
	if (!b->bridge || !b->db) {
		binding_ovs_free(b);
		return -ENOMEM;
	}
	r = ovs_connect(b, &b->client, reterr_msg);
	if (r < 0) {
		binding_ovs_free(b);
		return r;
	}
	*ret = b;
	return 0;
}

/* Run @ops (stolen) on the Open_vSwitch database. A connection found dead
 * is re-opened first; a transaction that was sent is never replayed. */
static int ovs_transact(struct binding_ovs *b, json_t *ops, json_t **ret, char **reterr_msg)
{
	int r = 0;

	pthread_rwlock_rdlock(&b->conn_lock);
	if (!ovsdb_client_connected(b->client)) {
		pthread_rwlock_unlock(&b->conn_lock);
		pthread_rwlock_wrlock(&b->conn_lock);
		if (!ovsdb_client_connected(b->client)) {
			struct ovsdb_client *c = NULL;

			r = ovs_connect(b, &c, reterr_msg);
			if (r == 0) {
				ovsdb_client_free(b->client);
				b->client = c;
			}
		}
		pthread_rwlock_unlock(&b->conn_lock);
		if (r < 0) {
			json_decref(ops);
			return r;
		}
		pthread_rwlock_rdlock(&b->conn_lock);
	}
	r = ovsdb_transact(b->client, VS, ops, OVS_TIMEOUT_MS, ret, reterr_msg);
	pthread_rwlock_unlock(&b->conn_lock);
	return r;
}

void binding_ovs_free(struct binding_ovs *b)
{
	if (!b)
		return;
	/* Stops the reader thread before the watch list goes away. */
	ovsdb_client_free(b->client);
	while (b->watches) {
		struct ovs_watch *w = b->watches;

		b->watches = w->next;
		free(w);
	}
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	pthread_rwlock_destroy(&b->conn_lock);
	free(b->bridge);
	free(b->db);
	free(b);
}

bool binding_ovs_connected(struct binding_ovs *b)
{
	_cleanup_json_ json_t *res = NULL;
	bool c;

	pthread_rwlock_rdlock(&b->conn_lock);
	c = ovsdb_client_connected(b->client);
	pthread_rwlock_unlock(&b->conn_lock);
	/* A dead connection is retried once, with a no-op transaction. */
	return c || ovs_transact(b, json_array(), &res, NULL) == 0;
}

int binding_ovs_watch_new(struct binding_ovs *b, const char *ifname, struct ovs_watch **ret)
{
	struct ovs_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	snprintf(w->ifname, sizeof(w->ifname), "%s", ifname);
	pthread_mutex_lock(&b->lock);
	w->next = b->watches;
	b->watches = w;
	pthread_mutex_unlock(&b->lock);
	*ret = w;
	return 0;
}

int binding_ovs_watch_wait(struct binding_ovs *b, struct ovs_watch *w, int timeout_ms)
{
	struct timespec dl;
	int r = 0;

	timespec_deadline_ms(&dl, timeout_ms);
	pthread_mutex_lock(&b->lock);
	while (!w->installed && r == 0)
		r = -pthread_cond_timedwait(&b->cond, &b->lock, &dl);
	if (w->installed)
		r = 0;
	pthread_mutex_unlock(&b->lock);
	return r;
}

void binding_ovs_watch_free(struct binding_ovs *b, struct ovs_watch *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&b->lock);
	for (struct ovs_watch **p = &b->watches; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	pthread_mutex_unlock(&b->lock);
	free(w);
}

/* Add Interface+Port @ifname to the bridge in one transaction. */
static int ovs_add_port(struct binding_ovs *b, const char *ifname, const char *port,
			const char *mac, const char *vm_id, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *ops, *ext;
	int r;

	ext = ovsdb_string_map((const char *const[]){ "iface-id", port, "attached-mac", mac,
						      "iface-status", "active", "vm-uuid",
						      vm_id ? vm_id : "", NULL });
	ops = json_pack("[{s:s, s:s, s:s, s:{s:s, s:o}},"
			" {s:s, s:s, s:s, s:{s:s, s:o}},"
			" {s:s, s:s, s:[o], s:[[s, s, [s, [o]]]]}]",
			"op", "insert", "table", "Interface", "uuid-name", "iface", "row", "name",
			ifname, "external_ids", ext, "op", "insert", "table", "Port", "uuid-name",
			"port", "row", "name", ifname, "interfaces", ovsdb_named_uuid("iface"),
			"op", "mutate", "table", "Bridge", "where",
			ovsdb_cond("name", "==", json_string(b->bridge)), "mutations", "ports",
			"insert", "set", ovsdb_named_uuid("port"));
	r = ovs_transact(b, ops, &res, reterr_msg);
	if (r < 0)
		return r;
	if (json_integer_value(json_object_get(json_array_get(res, 2), "count")) != 1) {
		set_errmsg(reterr_msg, "bridge %s does not exist", b->bridge);
		return -ENOENT;
	}
	return 0;
}

int binding_ovs_unplug_port(struct binding_ovs *b, const char *ifname, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL, *res2 = NULL;
	const char *uuid;
	json_t *ops, *rows;
	int r;

	ops = json_pack("[{s:s, s:s, s:[o], s:[s]}]", "op", "select", "table", "Port", "where",
			ovsdb_cond("name", "==", json_string(ifname)), "columns", "_uuid");
	r = ovs_transact(b, ops, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = json_object_get(json_array_get(res, 0), "rows");
	if (json_array_size(rows) == 0) {
		set_errmsg(reterr_msg, "%s is not on any bridge", ifname);
		return -ENOENT;
	}
	uuid = ovsdb_datum_uuid(json_object_get(json_array_get(rows, 0), "_uuid"));
	/* Port and Interface are not root tables: dropping the reference
	 * from the bridge deletes both rows. */
	ops = json_pack("[{s:s, s:s, s:[o], s:[[s, s, [s, [o]]]]}]", "op", "mutate", "table",
			"Bridge", "where", ovsdb_cond("ports", "includes", ovsdb_uuid(uuid)),
			"mutations", "ports", "delete", "set", ovsdb_uuid(uuid));
	return ovs_transact(b, ops, &res2, reterr_msg);
}

int binding_pod_routes(struct nl_sock *ns, int ifindex, const char *gateway,
		       const struct kuryr_subnet_info *info, char **reterr_msg)
{
	uint8_t gw[16], dst[16];
	int r;

	if (gateway && *gateway) {
		if (inet_pton(AF_INET, gateway, gw) != 1) {
			set_errmsg(reterr_msg, "bad gateway \"%s\"", gateway);
			return -EINVAL;
		}
		r = nl_route_add(ns, ifindex, AF_INET, NULL, 0, gw, reterr_msg);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; info && i < info->n_routes; i++) {
		const struct kuryr_route *rt = &info->routes[i];
		uint32_t net;
		uint8_t len;

		if (backend_parse_cidr4(rt->dst, &net, &len) < 0 ||
		    inet_pton(AF_INET, rt->gw, gw) != 1) {
			set_errmsg(reterr_msg, "bad host route \"%s via %s\"", rt->dst, rt->gw);
			return -EINVAL;
		}
		net = htonl(net);
		memcpy(dst, &net, 4);
		r = nl_route_add(ns, ifindex, AF_INET, dst, len, gw, reterr_msg);
		if (r < 0 && r != -EEXIST)
			return r;
	}
	return 0;
}

/* Configure the container end through @ns, a socket inside its netns. */
static int configure_pod_end(struct nl_sock *ns, const struct veth_plug *p, char **reterr_msg)
{
	struct nl_link_info li;
	uint8_t ip[16];
	int r;

	r = nl_link_get(ns, p->ifname, &li);
	if (r < 0) {
		set_errmsg(reterr_msg, "%s missing in the container netns after creation",
			   p->ifname);
		return r;
	}
	if (!p->ip) /* a pool's stub: up, nothing more */
		return nl_link_set_up(ns, li.ifindex, true, reterr_msg);
	if (inet_pton(p->family, p->ip, ip) != 1) {
		set_errmsg(reterr_msg, "bad IP \"%s\"", p->ip);
		return -EINVAL;
	}
	r = nl_addr_add(ns, li.ifindex, p->family, ip, p->prefixlen, reterr_msg);
	if (r < 0)
		return r;
	r = nl_link_set_up(ns, li.ifindex, true, reterr_msg);
	if (r < 0)
		return r;
	return binding_pod_routes(ns, li.ifindex, p->gateway, p->info, reterr_msg);
}

int binding_ovs_plug_veth(struct binding_ovs *b, const struct veth_plug *p, char ret_host_mac[18],
			  char **reterr_msg)
{
	struct nl_sock *host = NULL, *pod = NULL;
	struct nl_link_info li;
	uint8_t mac[6];
	int r;

	if (backend_parse_mac(p->mac, mac) < 0) {
		set_errmsg(reterr_msg, "bad MAC \"%s\"", p->mac);
		return -EINVAL;
	}

	/* One socket inside the container netns serves the name check and the
	 * configuration. The check comes first because the veth creation
	 * would also fail on a taken name but could not say which end. */
	r = nl_sock_open_netns(p->netns_fd, &pod);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot open netlink in the container netns: %s",
			   strerror(-r));
		return r;
	}
	r = nl_link_get(pod, p->ifname, &li);
	if (r == 0) {
		set_errmsg(reterr_msg, "a device named %s already exists in the container netns",
			   p->ifname);
		r = -EADDRINUSE;
		goto out;
	}
	if (r != -ENODEV) {
		set_errmsg(reterr_msg, "cannot inspect the container netns: %s", strerror(-r));
		goto out;
	}

	r = nl_sock_open(&host);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot open netlink: %s", strerror(-r));
		goto out;
	}
	r = nl_veth_add(host, p->host_ifname, p->ifname, p->netns_fd, mac, p->mtu, reterr_msg);
	if (r < 0)
		goto out;
	r = nl_link_get(host, p->host_ifname, &li);
	if (r == 0)
		r = nl_link_set_up(host, li.ifindex, true, reterr_msg);
	if (r < 0)
		goto fail;
	r = configure_pod_end(pod, p, reterr_msg);
	if (r < 0)
		goto fail;
	r = ovs_add_port(b, p->host_ifname, p->port, p->mac, p->device_id, reterr_msg);
	if (r < 0)
		goto fail;
	if (ret_host_mac)
		snprintf(ret_host_mac, 18, "%02x:%02x:%02x:%02x:%02x:%02x", li.mac[0], li.mac[1],
			 li.mac[2], li.mac[3], li.mac[4], li.mac[5]);
	goto out;
fail:
	/* Deleting one end of a veth deletes both. */
	(void)nl_link_del(host, p->host_ifname, NULL);
out:
	nl_sock_free(host);
	nl_sock_free(pod);
	return r;
}

int binding_ovs_unplug_veth(struct binding_ovs *b, const char *host_ifname, char **reterr_msg)
{
	struct nl_sock *host = NULL;
	int r;

	r = binding_ovs_unplug_port(b, host_ifname, reterr_msg);
	if (r < 0 && r != -ENOENT)
		return r;
	r = nl_sock_open(&host);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot open netlink: %s", strerror(-r));
		return r;
	}
	r = nl_link_del(host, host_ifname, reterr_msg);
	nl_sock_free(host);
	return r == -ENODEV ? 0 : r;
}

int binding_ovs_plug_tap(struct binding_ovs *b, const char *ifname, const char *port,
			 const char *mac, const char *vm_id, char **reterr_msg)
{
	struct nl_sock *host = NULL;
	struct nl_link_info li;
	int r;

	r = nl_sock_open(&host);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot open netlink: %s", strerror(-r));
		return r;
	}
	r = nl_link_get(host, ifname, &li);
	if (r < 0) {
		set_errmsg(reterr_msg, "device %s does not exist", ifname);
		goto out;
	}
	r = nl_link_set_up(host, li.ifindex, true, reterr_msg);
	if (r < 0)
		goto out;
	r = ovs_add_port(b, ifname, port, mac, vm_id, reterr_msg);
	if (r == -EEXIST)
		set_errmsg(reterr_msg, "%s is already on a bridge", ifname);
out:
	nl_sock_free(host);
	return r;
}

int binding_ovs_installed(struct binding_ovs *b, const char *ifname, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *ops, *rows;
	const char *inst;
	int r;

	ops = json_pack("[{s:s, s:s, s:[o], s:[s]}]", "op", "select", "table", "Interface", "where",
			ovsdb_cond("name", "==", json_string(ifname)), "columns", "external_ids");
	r = ovs_transact(b, ops, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = json_object_get(json_array_get(res, 0), "rows");
	if (json_array_size(rows) == 0)
		return -ENOENT;
	inst = ovsdb_map_get(json_object_get(json_array_get(rows, 0), "external_ids"),
			     "ovn-installed");
	return inst && streq(inst, "true");
}

int binding_ovs_hostname(struct binding_ovs *b, char *buf, size_t size, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *ops, *rows;
	const char *name;
	int r;

	ops = json_pack("[{s:s, s:s, s:[], s:[s]}]", "op", "select", "table", VS, "where",
			"columns", "external_ids");
	r = ovs_transact(b, ops, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = json_object_get(json_array_get(res, 0), "rows");
	/* ovn-controller falls back to gethostname() on an empty one too. */
	name = ovsdb_map_get(json_object_get(json_array_get(rows, 0), "external_ids"), "hostname");
	if (!name || !*name)
		return -ENOENT;
	if (strlen(name) >= size)
		return -ENAMETOOLONG;
	memcpy(buf, name, strlen(name) + 1);
	return 0;
}
