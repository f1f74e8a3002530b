/* SPDX-License-Identifier: Apache-2.0 */
/* The CNI verbs. ADD is a state machine whose every step is recorded in
 * the attachment store before it touches the backend or the kernel, one
 * function per step:
 *
 *   prepare   the request's own checks; an earlier failed ADD finished off
 *   pool      a ready pool entry: plugged, recorded, answered
 *   network   the network, from the backend (and its pool, when the
 *             netconf named it by id)
 *   intent    the row, with the port's name and the driver, before anything
 *   port      the backend port
 *   plug      the devices (binding driver)
 *   ready     the datapath (and, where the backend says so, the port) up
 *   done      the row marked done, the result
 *
 * and a failure at any step rolls back from the row. An ADD that names an
 * existing port (a workload restarted here from another node, keeping its
 * addresses) takes that port instead of making one, moving it here:
 *
 *   move      the row, with the port's name, before anything
 *   begin     the port bound here too, its old node still passing traffic
 *   plug, ready (announcing the MAC with a RARP: traffic comes here)
 *   finish    the port this node's alone, the container's
 *   done
 *
 * and a rollback gives the port back to its node. */
#include <arpa/inet.h>
#include <stdio.h>
#include <strings.h>

#include "cni/cni.h"
#include "daemon-private.h"
#include "json-util.h"
#include "log.h"
#include "time-util.h"

/* runtimeConfig "ips" and "mac" (CNI conventions) ask for fixed addresses:
 * at most one address per family. */
static json_t *requested_addresses(json_t *conf, char ip[48], char ip6[48], char mac[18])
{
	json_t *rc = json_object_get(conf, "runtimeConfig");
	json_t *ips = json_object_get(rc, "ips"), *m = json_object_get(rc, "mac"), *v;
	size_t i;
	uint8_t len;

	*ip = *ip6 = *mac = 0;
	if (ips && (!json_is_array(ips) || json_array_size(ips) > 2))
		return reply_error(CNI_ERR_INVALID_CONFIG, "invalid runtimeConfig.ips",
				   "expected an array of at most one IPv4 and one IPv6 address");
	json_array_foreach(ips, i, v) {
		const char *s = json_string_value(v);
		char *slot;

		if (!s)
			return reply_error(CNI_ERR_INVALID_CONFIG, "invalid runtimeConfig.ips",
					   "the address is not a string");
		slot = strchr(s, ':') ? ip6 : ip;
		if (*slot)
			return reply_error(CNI_ERR_INVALID_CONFIG, "invalid runtimeConfig.ips",
					   "at most one address per family");
		if (addr_split(s, slot, 48, &len) < 0)
			return reply_error(CNI_ERR_INVALID_CONFIG, "invalid runtimeConfig.ips",
					   "the address is not an address");
	}
	if (m) {
		if (!json_is_string(m) || strlen(json_string_value(m)) != 17)
			return reply_error(CNI_ERR_INVALID_CONFIG, "invalid runtimeConfig.mac",
					   "expected \"xx:xx:xx:xx:xx:xx\"");
		snprintf(mac, 18, "%s", json_string_value(m));
	}
	return NULL;
}

/* Per-container port options from the netconf: "security_groups" (names
 * or ids), "qos_policy", "project". Such ports come from pools of their
 * own (see pool_key()). */
struct port_choice {
	const char *sgs[17];
	bool has_sgs;
	const char *qos;
	const char *project;
};

static json_t *port_choice_parse(struct kuryrd *d, json_t *conf, struct port_choice *pc)
{
	json_t *sgs = json_object_get(conf, "security_groups");
	json_t *qos = json_object_get(conf, "qos_policy");
	json_t *proj = json_object_get(conf, "project");
	json_t *v;
	size_t i;

	*pc = (struct port_choice){ 0 };
	if (!sgs && !qos && !proj)
		return NULL;
	if (!(d->backend->ops->caps & BACKEND_CAP_PORT_POLICIES))
		return reply_error(CNI_ERR_UNSUPPORTED_FIELD, "unsupported field",
				   "security_groups, qos_policy and project need backend neutron");
	if (sgs) {
		if (!json_is_array(sgs) || json_array_size(sgs) >= ELEMENTSOF(pc->sgs))
			return reply_error(CNI_ERR_INVALID_CONFIG, "invalid security_groups",
					   "expected an array of at most 16 names or ids");
		json_array_foreach(sgs, i, v) {
			if (!json_is_string(v) || !*json_string_value(v))
				return reply_error(CNI_ERR_INVALID_CONFIG,
						   "invalid security_groups",
						   "each security group is a non-empty string");
			pc->sgs[i] = json_string_value(v);
		}
		pc->has_sgs = true;
	}
	if (qos && (!json_is_string(qos) || !*json_string_value(qos)))
		return reply_error(CNI_ERR_INVALID_CONFIG, "invalid qos_policy",
				   "expected a QoS policy name or id");
	if (proj && (!json_is_string(proj) || !*json_string_value(proj)))
		return reply_error(CNI_ERR_INVALID_CONFIG, "invalid project",
				   "expected a project id");
	pc->qos = json_string_value(qos);
	pc->project = json_string_value(proj);
	return NULL;
}

/* The CNI result's "dns": the netconf's own if it has one (CNI
 * convention), else the subnet's name servers. */
static json_t *result_dns(const struct cni_req *c, const struct kuryr_subnet_info *info)
{
	json_t *dns = json_object_get(c->conf, "dns"), *ns;

	if (json_is_object(dns) && json_object_size(dns))
		return json_incref(dns);
	ns = json_array();
	for (unsigned i = 0; info && i < info->n_dns; i++)
		json_array_append_new(ns, json_string(info->dns[i]));
	if (!json_array_size(ns)) {
		json_decref(ns);
		return json_object();
	}
	return json_pack("{s:o}", "nameservers", ns);
}

static json_t *add_result(const struct cni_req *c, const struct attachment *a,
			  const struct binding_state *st, const struct kuryr_subnet_info *info)
{
	static const char *const origin[] = { "miss", "port", "prewired", "moved" };
	struct cni_attach_result res = { 0 };
	_cleanup_json_ json_t *dns = result_dns(c, info);
	json_t *r, *routes;

	snprintf(res.host_ifname, sizeof(res.host_ifname), "%s", a->host_ifname);
	snprintf(res.host_mac, sizeof(res.host_mac), "%s", st->host_mac);
	snprintf(res.ifname, sizeof(res.ifname), "%s", c->ifname);
	snprintf(res.mac, sizeof(res.mac), "%s", *st->pod_mac ? st->pod_mac : a->mac);
	snprintf(res.sandbox, sizeof(res.sandbox), "%s", c->netns);
	res.mtu = a->mtu;
	/* An attachment without any address (a port the backend gave none)
	 * still lists its empty IPv4 one, as it always did. */
	if (*a->address || !*a->address6) {
		res.ips[res.n_ips].family = AF_INET;
		snprintf(res.ips[res.n_ips].address, sizeof(res.ips[0].address), "%s", a->address);
		snprintf(res.ips[res.n_ips].gateway, sizeof(res.ips[0].gateway), "%s", a->gateway);
		res.n_ips++;
	}
	if (*a->address6) {
		res.ips[res.n_ips].family = AF_INET6;
		snprintf(res.ips[res.n_ips].address, sizeof(res.ips[0].address), "%s", a->address6);
		snprintf(res.ips[res.n_ips].gateway, sizeof(res.ips[0].gateway), "%s", a->gateway6);
		res.n_ips++;
	}
	log_info("event=add container=%.12s ifname=%s netns=%s network=%s port=%s ip=%s%s%s "
		 "pool=%s",
		 c->cid, c->ifname, c->netns, a->network, a->port, a->address,
		 *a->address6 ? " ip6=" : "", a->address6, origin[a->pooled]);
	r = cni_result_new(c->version, &res, dns);
	routes = json_object_get(r, "routes");
	for (unsigned i = 0; info && i < info->n_routes; i++)
		json_array_append_new(routes, json_pack("{s:s, s:s}", "dst", info->routes[i].dst,
							"gw", info->routes[i].gw));
	return reply_ok(r);
}

/* The pod's netns is the descriptor kuryr-cni passed with the request
 * (the runtime may live in another mount namespace, where kuryrd could not
 * open its path). */
static json_t *need_netns(const struct cni_req *c)
{
	if (c->netns_fd < 0)
		return reply_error(CNI_ERR_INVALID_ENV, "invalid CNI_NETNS",
				   "CNI_NETNS was not passed as a descriptor");
	return NULL;
}

/* ---- ADD ---- */

struct add {
	struct kuryrd *d;
	const struct cni_req *c;
	int netns_fd; /* the pod's */
	struct attachment a;
	bool recorded; /* the row exists: roll back from it */
	struct kuryr_network net;
	struct kuryr_port port;
	struct binding *drv;
	struct binding_state st;
	char want_ip[48], want_ip6[48], want_mac[18];
	struct port_choice pc;
	char key[POOL_KEY_MAX];
	bool pooled;
	bool pool_again;  /* the network was named by id: try its pool by name */
	const char *move; /* the existing port the ADD names, or NULL */
	json_t *lb_pools; /* the netconf's "lb_pools" (borrowed), or NULL */
	char *err;
};

/* A row the container and ifname have already: attached (an error), or a
 * failed ADD whose rollback could not finish (finished now). NULL when
 * there is none, or none any more. */
static json_t *add_earlier(struct add *x)
{
	struct attachment old;
	int r;

	r = store_get(x->d->store, x->c->cid, x->c->ifname, &old);
	if (r < 0)
		return r == -ENOENT ? NULL
				    : reply_error(CNI_ERR_IO, "cannot read the attachment store",
						  strerror(-r));
	if (old.state == ATTACH_DONE)
		return reply_error(KURYR_ERR_ALREADY_ATTACHED, "container is already attached",
				   "DEL the attachment before adding it again");
	/* The same container and interface in the same netns: what a plug
	 * cut short left in it goes too. */
	r = attachment_teardown(x->d, &old, streq(old.netns, x->c->netns) ? x->netns_fd : -1,
				&x->err);
	if (r < 0)
		return reply_error(CNI_ERR_TRY_AGAIN, "cannot roll back an earlier failed ADD",
				   x->err);
	return NULL;
}

static json_t *add_record(struct add *x, enum attach_state state)
{
	json_t *reply;
	int r;

	x->a.state = state;
	if (x->recorded)
		r = store_update(x->d->store, &x->a);
	else {
		/* Inserted first, looked up only if there is a row already:
		 * the common ADD makes one store call here, not two. */
		r = store_insert(x->d->store, &x->a);
		if (r == -EEXIST) {
			reply = add_earlier(x);
			if (reply)
				return reply;
			r = store_insert(x->d->store, &x->a);
		}
	}
	if (r < 0)
		return reply_error(CNI_ERR_IO, "cannot record the attachment", strerror(-r));
	x->recorded = true;
	return NULL;
}

/* The row for what this ADD is about to plug. */
static void add_row(struct add *x, const struct kuryr_port *port, const struct kuryr_network *net)
{
	struct attachment *a = &x->a;

	snprintf(a->container_id, sizeof(a->container_id), "%s", x->c->cid);
	snprintf(a->ifname, sizeof(a->ifname), "%s", x->c->ifname);
	snprintf(a->netns, sizeof(a->netns), "%s", x->c->netns);
	snprintf(a->network, sizeof(a->network), "%s", net->name);
	snprintf(a->port, sizeof(a->port), "%s", port->name);
	snprintf(a->mac, sizeof(a->mac), "%s", port->mac);
	if (*port->ip)
		snprintf(a->address, sizeof(a->address), "%s/%u", port->ip, port->prefixlen);
	snprintf(a->gateway, sizeof(a->gateway), "%s", net->gateway);
	if (*port->ip6)
		snprintf(a->address6, sizeof(a->address6), "%s/%u", port->ip6, port->prefixlen6);
	snprintf(a->gateway6, sizeof(a->gateway6), "%s", net->gateway6);
	a->mtu = net->mtu;
	snprintf(a->binding, sizeof(a->binding), "%s", binding_name(x->drv));
	if (net != &x->net)
		x->net = *net;
}

static void add_row_plugged(struct add *x)
{
	snprintf(x->a.host_ifname, sizeof(x->a.host_ifname), "%s", x->st.host_ifname);
	snprintf(x->a.binding_data, sizeof(x->a.binding_data), "%s", x->st.data);
}

static struct binding_req add_req(struct add *x, const struct kuryr_port *port,
				  const struct kuryr_network *net)
{
	return (struct binding_req){ .port = port,
				     .net = net,
				     .netns_fd = x->netns_fd,
				     .ifname = x->c->ifname,
				     .device_id = x->c->cid,
				     .handed_over = x->c->handed_over,
				     .rarp = x->move != NULL };
}

static json_t *plug_error(int r, const char *err)
{
	if (r == -EADDRINUSE)
		return reply_error(KURYR_ERR_IFNAME_EXISTS, "interface name taken", err);
	if (r == -ETIMEDOUT)
		return reply_error(CNI_ERR_TRY_AGAIN, "port did not come up", err);
	/* Nested: the network's MTU does not fit in the VM's NIC. */
	if (r == -EMSGSIZE)
		return reply_error(CNI_ERR_INVALID_CONFIG, "network MTU too large", err);
	/* Nested: the driver puts containers on the VM's own network only. */
	if (r == -EXDEV)
		return reply_error(CNI_ERR_INVALID_CONFIG, "network not the VM's", err);
	/* The switch's database unreachable is worth a retry. */
	if (r == -ENOTCONN)
		return reply_error(CNI_ERR_TRY_AGAIN, "cannot plug the port", err);
	return reply_error(KURYR_ERR_DATAPATH, "cannot plug the port", err);
}

/* The port an ADD names, to move here: runtimeConfig "port", else the
 * netconf's own "port". */
static json_t *requested_port(json_t *conf, const char **ret)
{
	json_t *rc = json_object_get(conf, "runtimeConfig");
	json_t *v = json_object_get(rc, "port") ?: json_object_get(conf, "port");

	*ret = NULL;
	if (!v)
		return NULL;
	if (!json_is_string(v) || !*json_string_value(v) || strlen(json_string_value(v)) >= 64)
		return reply_error(CNI_ERR_INVALID_CONFIG, "invalid port",
				   "expected the name or id of an existing port");
	*ret = json_string_value(v);
	return NULL;
}

static json_t *add_prepare(struct add *x)
{
	struct kuryrd *d = x->d;
	const struct cni_req *c = x->c;
	json_t *reply;

	reply = requested_addresses(c->conf, x->want_ip, x->want_ip6, x->want_mac);
	if (!reply)
		reply = port_choice_parse(d, c->conf, &x->pc);
	if (!reply)
		reply = requested_port(c->conf, &x->move);
	if (!reply)
		reply = lb_follow_parse(c->conf, &x->lb_pools);
	if (reply)
		return reply;
	if (x->move && (x->pc.has_sgs || x->pc.qos || x->pc.project))
		return reply_error(CNI_ERR_INVALID_CONFIG, "invalid port",
				   "a port named to move keeps its own security groups, QoS "
				   "policy and project");
	if (x->move && !d->backend->ops->port_move)
		return reply_error(CNI_ERR_UNSUPPORTED_FIELD, "unsupported field",
				   "this backend cannot move a port between nodes");
	if (strlen(c->netns) >= sizeof(x->a.netns))
		return reply_error(CNI_ERR_INVALID_ENV, "invalid CNI_NETNS", "path too long");
	/* Ports with fixed addresses never come from a pool; the others from
	 * the pool of their network and project, groups and QoS policy. */
	x->pooled = d->pool && !x->move && !*x->want_ip && !*x->want_ip6 && !*x->want_mac &&
		    pool_key(x->key, c->network, x->pc.project, x->pc.has_sgs ? x->pc.sgs : NULL,
			     x->pc.qos) == 0;
	return NULL;
}

/* ADD from a pool entry: no backend call. NULL asks the caller to go on
 * and create a port (the entry was unusable and is destroyed).
 *
 * A pre-wired entry's row is written once, when its macvlan is in place:
 * until then the kernel is the record. The macvlan is created up, so its
 * stub holds it promiscuous from the start, and a restart destroys an
 * entry whose stub holds a device no row explains (pool recovery). A
 * port-only entry's veth is recorded before it is made, as a miss is.
 * Either way the row is inserted without a look first: an earlier row
 * of the container is found by the insert (add_record()), or, where the
 * plug came first, by the plug finding CNI_IFNAME taken. */
static json_t *add_from_pool(struct add *x, struct pool_entry *e)
{
	struct kuryrd *d = x->d;
	struct binding_req req;
	json_t *reply;
	int r;

	x->drv = e->prewired ? d->park_binding : d->node_binding;
	add_row(x, &e->port, &e->net);
	x->a.pooled = e->prewired ? ATTACH_POOL_PREWIRED : ATTACH_POOL_PORT;
	x->st = e->prewired ? e->parked : (struct binding_state){ 0 };
	reply = e->prewired ? NULL : add_record(x, ATTACH_PORT);
	if (reply) {
		pool_give_back(d->pool, e);
		return reply;
	}
	req = add_req(x, &e->port, &e->net);
	if (e->prewired)
		r = binding_plug(x->drv, &req, &x->st, &x->err);
	else
		r = binding_attach(x->drv, &req, d->cfg.port_up_timeout_ms, &x->st, &x->err);
	if (r == -EADDRINUSE || r == -ETIMEDOUT || (r < 0 && !e->prewired)) {
		/* The entry itself is fine: back to the pool. */
		pool_give_back(d->pool, e);
		if (x->recorded)
			store_delete(d->store, x->a.container_id, x->a.ifname);
		log_warn("event=add-failed container=%.12s ifname=%s network=%s: %s", x->c->cid,
			 x->c->ifname, x->c->network, x->err ? x->err : "");
		/* The name is taken: by this container's own attachment, which
		 * "already attached" says better (a pre-wired ADD looks only now,
		 * when it has to). */
		if (r == -EADDRINUSE && !x->recorded && (reply = add_earlier(x)))
			return reply;
		return plug_error(r, x->err);
	}
	if (r < 0) {
		log_warn("event=pool-entry-unusable port=%s: %s", e->port.name,
			 x->err ? x->err : "");
		pool_destroy(d->pool, e);
		x->recorded = false;
		x->a = (struct attachment){ 0 };
		x->st = (struct binding_state){ 0 };
		free(x->err);
		x->err = NULL;
		return NULL;
	}
	add_row_plugged(x);
	reply = add_record(x, ATTACH_DONE);
	if (reply) {
		/* Not recorded as done: give nothing out, destroy the entry. */
		(void)binding_unplug(x->drv, &req, &x->st, NULL);
		pool_destroy(d->pool, e);
		if (x->recorded)
			store_delete(d->store, x->a.container_id, x->a.ifname);
		return reply;
	}
	pool_note_user(d->pool, e->port.name, x->c->cid);
	return add_result(x->c, &x->a, &x->st, &e->net.info);
}

static json_t *add_network(struct add *x)
{
	struct kuryrd *d = x->d;
	char by_name[POOL_KEY_MAX];
	int r;

	r = d->backend->ops->network_get(d->backend, x->c->network, &x->net, &x->err);
	if (r == -ENOENT)
		return reply_error(CNI_ERR_INVALID_CONFIG, "unknown network", x->err);
	if (r == -ENOTUNIQ)
		return reply_error(CNI_ERR_INVALID_CONFIG, "ambiguous network name", x->err);
	if (r == -ENOTCONN)
		return reply_error(CNI_ERR_TRY_AGAIN, "network backend unreachable", x->err);
	if (r < 0)
		return reply_cni_errno(r, "network backend failed", x->err);
	if (!x->pooled || pool_key(by_name, x->net.name, x->pc.project,
				   x->pc.has_sgs ? x->pc.sgs : NULL, x->pc.qos) < 0)
		return NULL;
	/* Pools go by the network's name: a network named by its id takes
	 * from that pool too, if no other network has that name. */
	if (!streq(by_name, x->key)) {
		struct kuryr_network same;

		snprintf(x->key, sizeof(x->key), "%s", by_name);
		x->pool_again =
		    d->backend->ops->network_get(d->backend, x->net.name, &same, NULL) == 0 &&
		    streq(same.id, x->net.id);
		if (!x->pool_again)
			return NULL;
	}
	/* This network is used here: make sure its pool fills. */
	pool_want(d->pool, x->key, true);
	return NULL;
}

static json_t *add_intent(struct add *x)
{
	x->drv = x->d->node_binding;
	/* The name the backend port will be made with: recorded before it
	 * exists, so a crash at any later point can be rolled back. */
	uuid_random(x->port.name);
	add_row(x, &x->port, &x->net);
	return add_record(x, ATTACH_INTENT);
}

static json_t *add_port(struct add *x)
{
	struct kuryrd *d = x->d;
	char name[sizeof(x->port.name)];
	int r;

	snprintf(name, sizeof(name), "%s", x->port.name);
	r = d->backend->ops->port_create(
	    d->backend,
	    &(struct port_spec){ .network = x->net.name,
				 .net = &x->net,
				 .name = name,
				 .mac = *x->want_mac ? x->want_mac : NULL,
				 .ip = *x->want_ip ? x->want_ip : NULL,
				 .ip6 = *x->want_ip6 ? x->want_ip6 : NULL,
				 .owner = PORT_OWNER_CONTAINER,
				 .device_id = x->c->cid,
				 .ifname = x->c->ifname,
				 .security_groups = x->pc.has_sgs ? x->pc.sgs : NULL,
				 .qos_policy = x->pc.qos,
				 .project = x->pc.project,
				 .subport = binding_subports(x->drv),
				 .unbound = binding_unbound(x->drv) },
	    &x->port, &x->err);
	if (r < 0) {
		snprintf(x->port.name, sizeof(x->port.name), "%s", name);
		/* Its outcome lost: the port may still appear. */
		if (r == -ETIMEDOUT || r == -ENOTCONN)
			janitor_sweep_soon(d);
		return reply_cni_errno(
		    r, r == -EDQUOT ? "quota exceeded" : "cannot create the port", x->err);
	}
	/* From now on the port by the backend's own id (Neutron's differs
	 * from the name kuryrd gave it). */
	add_row(x, &x->port, &x->net);
	return add_record(x, ATTACH_PORT);
}

static json_t *add_plug(struct add *x)
{
	struct binding_req req = add_req(x, &x->port, &x->net);
	int r;

	r = binding_plug(x->drv, &req, &x->st, &x->err);
	if (r < 0)
		return plug_error(r, x->err);
	add_row_plugged(x);
	return add_record(x, ATTACH_PLUGGED);
}

static json_t *add_ready(struct add *x)
{
	struct binding_req req = add_req(x, &x->port, &x->net);
	struct kuryrd *d = x->d;
	int timeout = d->cfg.port_up_timeout_ms;
	int r;

	r = binding_wait_ready(x->drv, &x->st, timeout, &x->err);
	if (r < 0)
		return reply_error(CNI_ERR_TRY_AGAIN, "port did not come up", x->err);
	/* A port that is bound nowhere never becomes ACTIVE. */
	if ((d->backend->ops->caps & BACKEND_CAP_ACTIVE_AFTER_PLUG) && !binding_unbound(x->drv)) {
		r = d->backend->ops->port_wait_up(d->backend, x->port.name, timeout, &x->err);
		if (r < 0)
			return reply_cni_errno(r == -ENOENT ? -ENOTCONN : r,
					       "port did not become active", x->err);
	}
	binding_announce(x->drv, &req, &x->st);
	return NULL;
}

static json_t *add_done(struct add *x)
{
	return add_record(x, ATTACH_DONE);
}

/* The addresses the runtime asked for, where it asked, are the port's. */
static bool move_addresses_match(const struct add *x)
{
	return (!*x->want_ip || streq(x->want_ip, x->port.ip)) &&
	       (!*x->want_ip6 || streq(x->want_ip6, x->port.ip6)) &&
	       (!*x->want_mac || strcasecmp(x->want_mac, x->port.mac) == 0);
}

static json_t *add_move_intent(struct add *x)
{
	struct kuryrd *d = x->d;
	int r;

	x->drv = d->node_binding;
	r = d->backend->ops->port_get(d->backend, x->move, &x->port, &x->err);
	if (r == -ENOENT)
		return reply_error(CNI_ERR_INVALID_CONFIG, "unknown port", x->err);
	if (r < 0)
		return reply_cni_errno(r, "cannot read the port", x->err);
	if (!streq(x->port.network, x->net.name) && !streq(x->port.network, x->net.id))
		return reply_error(CNI_ERR_INVALID_CONFIG, "port not on the network",
				   x->port.network);
	if (x->port.owner == PORT_OWNER_VM)
		return reply_error(CNI_ERR_INVALID_CONFIG, "invalid port",
				   "it is a VM's port: the VM's migration moves it");
	if (streq(x->port.host, d->cfg.host))
		return reply_error(CNI_ERR_INVALID_CONFIG, "invalid port",
				   "it is on this node already");
	if (!move_addresses_match(x))
		return reply_error(CNI_ERR_INVALID_CONFIG, "invalid port",
				   "runtimeConfig asks for other addresses than the port's");
	if (kuryr_port_prefixes(&x->port, &x->net) < 0)
		return reply_error(KURYR_ERR_BACKEND, "invalid port",
				   "its network's subnet is not a prefix");
	/* Only the port's name: recorded before the backend is asked, so a
	 * rollback (after a crash too) gives it back. */
	add_row(x, &x->port, &x->net);
	x->a.pooled = ATTACH_MOVED_IN;
	return add_record(x, ATTACH_INTENT);
}

static json_t *add_move_begin(struct add *x)
{
	struct kuryrd *d = x->d;
	int r;

	r = d->backend->ops->port_move(
	    d->backend, x->port.name,
	    &(struct port_move){ .step = PORT_MOVE_BEGIN, .to = d->cfg.host }, NULL, &x->err);
	if (r < 0)
		return reply_cni_errno(r, "cannot move the port", x->err);
	log_info("event=move-begin container=%.12s port=%s from=%s", x->c->cid, x->port.name,
		 x->port.host);
	return add_record(x, ATTACH_PORT);
}

static json_t *add_move_finish(struct add *x)
{
	struct kuryrd *d = x->d;
	int r;

	r = d->backend->ops->port_move(d->backend, x->port.name,
				       &(struct port_move){ .step = PORT_MOVE_FINISH,
							    .to = d->cfg.host,
							    .device_id = x->c->cid,
							    .ifname = x->c->ifname },
				       NULL, &x->err);
	if (r < 0)
		return reply_cni_errno(r, "cannot move the port", x->err);
	return NULL;
}

static void add_rollback(struct add *x)
{
	_cleanup_free_ char *rerr = NULL;

	if (x->drv)
		binding_cancel(x->drv, &x->st);
	/* A plug that failed left nothing behind: only the port is undone
	 * (after a crash the driver's name tells the restart to look). */
	if (x->a.state < ATTACH_PLUGGED)
		x->a.binding[0] = 0;
	if (x->recorded && attachment_teardown(x->d, &x->a, x->netns_fd, &rerr) < 0) {
		log_err("event=add-rollback-failed container=%.12s ifname=%s port=%s: %s",
			x->c->cid, x->c->ifname, x->a.port, rerr ? rerr : "");
		janitor_kick(x->d);
	}
	log_warn("event=add-failed container=%.12s ifname=%s network=%s: %s", x->c->cid,
		 x->c->ifname, x->c->network, x->err ? x->err : "");
}

/* The attachment is made: into the pools the netconf names, or undone. */
static json_t *add_join(struct add *x, json_t *reply)
{
	_cleanup_free_ char *rerr = NULL;
	int r;

	if (!x->lb_pools || !json_object_get(reply, "result"))
		return reply;
	r = lb_follow_join(x->d, &x->a, &x->net, x->lb_pools, &x->err);
	if (r == 0)
		return reply;
	json_decref(reply);
	if (attachment_teardown(x->d, &x->a, x->netns_fd, &rerr) < 0) {
		log_err("event=add-rollback-failed container=%.12s ifname=%s port=%s: %s",
			x->c->cid, x->c->ifname, x->a.port, rerr ? rerr : "");
		janitor_kick(x->d);
	}
	log_warn("event=add-failed container=%.12s ifname=%s network=%s: %s", x->c->cid,
		 x->c->ifname, x->c->network, x->err ? x->err : "");
	return reply_cni_errno(r, "cannot join the load balancer pools", x->err);
}

/* A pool hit on x->key: NULL to go on (a miss, or an unusable entry). */
static json_t *add_pool(struct add *x)
{
	struct pool_entry e;

	if (!x->pooled || pool_take(x->d->pool, x->key, &e) < 0)
		return NULL;
	return add_join(x, add_from_pool(x, &e));
}

static json_t *add_locked(struct add *x)
{
	static json_t *(*const steps[])(struct add *) = {
		add_intent, add_port, add_plug, add_ready, add_done,
	};
	static json_t *(*const move_steps[])(struct add *) = {
		add_move_intent, add_move_begin, add_plug, add_ready, add_move_finish, add_done,
	};
	json_t *reply;

	/* A hit on the pool the netconf names makes no backend call. */
	reply = add_prepare(x);
	if (!reply)
		reply = add_pool(x);
	if (!reply)
		reply = add_network(x);
	if (!reply && x->pool_again)
		reply = add_pool(x);
	if (reply)
		return reply;
	for (size_t i = 0; i < (x->move ? ELEMENTSOF(move_steps) : ELEMENTSOF(steps)); i++) {
		reply = (x->move ? move_steps : steps)[i](x);
		if (reply) {
			add_rollback(x);
			return reply;
		}
	}
	return add_join(x, add_result(x->c, &x->a, &x->st, &x->net.info));
}

json_t *cni_add(struct kuryrd *d, const struct cni_req *c)
{
	struct add x = { .d = d, .c = c, .netns_fd = c->netns_fd };
	pthread_mutex_t *l;
	uint64_t t0 = now_us();
	json_t *reply;

	if (!c->netns || !*c->netns)
		return reply_error(CNI_ERR_INVALID_ENV, "CNI_NETNS is not set", NULL);
	reply = need_netns(c);
	if (reply)
		return reply;
	l = kuryrd_stripe(d, c->cid, c->ifname);
	pthread_mutex_lock(l);
	reply = add_locked(&x);
	pthread_mutex_unlock(l);
	free(x.err);
	metrics_observe_add(d, now_us() - t0);
	return reply;
}

/* ---- DEL, CHECK, STATUS, GC ---- */

json_t *cni_del(struct kuryrd *d, const struct cni_req *c)
{
	/* DEL may come without a netns (the container is gone), and DEL of
	 * something we never attached succeeds (CNI: idempotent). */
	return attachment_del(d, c->cid, c->ifname, c->netns_fd) ?: reply_ok(NULL);
}

json_t *cni_check(struct kuryrd *d, const struct cni_req *c)
{
	_cleanup_free_ char *err = NULL;
	struct kuryr_network net;
	struct kuryr_port port, bport;
	struct binding_state st;
	struct binding_req req;
	struct attachment a;
	struct binding *drv;
	json_t *prev, *ips;
	int r;

	prev = need_netns(c);
	if (prev)
		return prev;
	if (store_get(d->store, c->cid, c->ifname, &a) < 0 || a.state != ATTACH_DONE)
		return reply_error(CNI_ERR_UNKNOWN_CONTAINER, "unknown container",
				   "no attachment for this container and ifname");
	drv = kuryrd_binding(d, a.binding);
	if (!drv)
		return reply_error(KURYR_ERR_DATAPATH, "cannot check the attachment",
				   "its binding driver is not on this node");
	attachment_binding(&a, c->netns_fd, &port, &net, &req, &st);
	r = binding_check(drv, &req, &st, &err);
	if (r == -ENODEV)
		return reply_error(KURYR_ERR_DATAPATH, "interface missing in the container", err);
	if (r == -EUCLEAN)
		return reply_error(KURYR_ERR_DATAPATH, "interface changed in the container", err);
	if (r < 0)
		return reply_error(KURYR_ERR_DATAPATH, "cannot check the attachment", err);
	r = d->backend->ops->port_get(d->backend, a.port, &bport, &err);
	if (r < 0)
		return reply_error(r == -ENOENT ? KURYR_ERR_BACKEND : cni_code_of(r),
				   "backend port missing", err);
	prev = json_object_get(c->conf, "prevResult");
	ips = json_object_get(prev, "ips");
	if (prev) {
		bool match = false;

		/* Its first address, IPv4 where it has one. */
		const char *want = *a.address || !*a.address6 ? a.address : a.address6;

		for (size_t i = 0; i < json_array_size(ips); i++)
			if (streq_ptr(json_object_get_str(json_array_get(ips, i), "address"), want))
				match = true;
		if (!match)
			return reply_error(KURYR_ERR_DATAPATH, "prevResult does not match",
					   "the attachment's address is not in prevResult.ips");
	}
	return reply_ok(NULL);
}

json_t *cni_status(struct kuryrd *d, const struct cni_req *c)
{
	if (!d->backend->ops->connected(d->backend))
		return reply_error(CNI_ERR_NOT_AVAILABLE, "network backend unreachable",
				   d->backend->ops->describe(d->backend));
	if (!binding_connected(d->node_binding))
		return reply_error(CNI_ERR_NOT_AVAILABLE, "the node's datapath is unreachable",
				   d->bridge ? bridge_db(d->bridge)
					     : binding_name(d->node_binding));
	return reply_ok(NULL);
}

json_t *cni_gc(struct kuryrd *d, const struct cni_req *c)
{
	_cleanup_free_ struct attachment *rows = NULL;
	json_t *valid = json_object_get(c->conf, "cni.dev/valid-attachments");
	struct kuryr_network buf;
	const char *network = kuryrd_network_name(d, c->network, &buf);
	json_t *error = NULL;
	unsigned removed = 0;
	size_t n = 0;
	int r;

	if (valid && !json_is_array(valid))
		return reply_error(CNI_ERR_INVALID_CONFIG, "invalid network configuration",
				   "cni.dev/valid-attachments is not an array");
	r = store_list(d->store, &rows, &n);
	if (r < 0)
		return reply_error(CNI_ERR_IO, "cannot read the attachment store", strerror(-r));
	for (size_t i = 0; i < n; i++) {
		const struct attachment *a = &rows[i];
		bool keep = false;
		json_t *reply;

		if (!streq(a->network, network))
			continue;
		for (size_t j = 0; j < json_array_size(valid) && !keep; j++) {
			json_t *v = json_array_get(valid, j);

			keep = streq_ptr(json_object_get_str(v, "containerID"), a->container_id) &&
			       streq_ptr(json_object_get_str(v, "ifname"), a->ifname);
		}
		if (keep)
			continue;
		reply = attachment_del(d, a->container_id, a->ifname, -1);
		if (!reply)
			removed++;
		else if (!error)
			error = reply;
		else
			json_decref(reply);
	}
	if (removed)
		log_info("event=gc network=%s removed=%u", network, removed);
	return error ?: reply_ok(NULL);
}
