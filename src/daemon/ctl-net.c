/* SPDX-License-Identifier: Apache-2.0 */
/* The operator's verbs on networks, ports and VMs' taps. */
#include <stdio.h>

#include "daemon-private.h"
#include "json-util.h"
#include "log.h"

static json_t *network_json(const struct kuryr_network *n)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "name", n->name, "id",
			      n->id, "subnet", n->cidr, "gateway", n->gateway, "subnet6", n->cidr6,
			      "gateway6", n->gateway6, "mtu", (int)n->mtu, "ports", (int)n->nports);

	if (o && *n->cidr6)
		json_object_set_new(o, "ipv6_mode", json_string(n->ipv6_mode));
	if (o && n->external) {
		json_object_set_new(o, "external", json_true());
		json_object_set_new(o, "physical_network", json_string(n->physical_network));
	}
	return o;
}

/* network.create's "subnet": one CIDR, or a list of at most one per
 * family (kuryrctl's --subnet given once or twice), into @cidr (IPv4) and
 * @cidr6 (anything with a ':'; the backend checks them). */
static json_t *network_subnets(json_t *v, const char **cidr, const char **cidr6)
{
	size_t n = json_is_string(v) ? 1 : json_is_array(v) ? json_array_size(v) : 0;

	if (!v)
		return reply_error(400, "missing argument", "subnet");
	if (n < 1 || n > 2)
		return reply_error(400, "invalid argument",
				   "subnet is a CIDR, or a list of one IPv4 and one IPv6 CIDR");
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_is_string(v) ? v : json_array_get(v, i));
		const char **slot;

		if (!s)
			return reply_error(400, "invalid argument", "a subnet is a CIDR string");
		slot = strchr(s, ':') ? cidr6 : cidr;
		if (*slot)
			return reply_error(400, "invalid argument",
					   "a network has at most one subnet per family (IPv4, "
					   "IPv6)");
		*slot = s;
	}
	return NULL;
}

static json_t *port_json(const struct kuryr_port *p)
{
	json_t *pairs = json_array();

	/* Neutron's names, as openstack port show -f json has them. */
	for (unsigned i = 0; i < p->n_pairs; i++)
		json_array_append_new(pairs, json_pack("{s:s, s:s}", "ip_address", p->pairs[i].ip,
						       "mac_address", p->pairs[i].mac));
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:b, s:o}",
			 "name", p->name, "network", p->network, "mac", p->mac, "ip", p->ip, "ip6",
			 p->ip6, "up", p->up, "host", p->host, "migrating_to", p->migrating_to,
			 "owner",
			 p->owner == PORT_OWNER_VM     ? "vm"
			 : p->owner == PORT_OWNER_POOL ? "pool"
						       : "container",
			 "device_id", p->device_id, "ifname", p->ifname, "port_security",
			 p->port_security, "allowed_address_pairs", pairs);
}

/* The request's "allowed_addresses" ("IP[/LEN][,MAC]" each) into
 * @pairs (room for KURYR_MAX_ADDR_PAIRS), after the *n there already are
 * (a pair given again is not added twice; a MAC not given is @own_mac).
 * NULL, or the error reply. */
static json_t *parse_pairs(json_t *list, const char *what, const char *own_mac,
			   struct kuryr_addr_pair *pairs, unsigned *n)
{
	size_t i;
	json_t *e;

	if (list && !json_is_array(list))
		return reply_error(400, what, "allowed_addresses is a list of strings");
	json_array_foreach(list, i, e) {
		_cleanup_free_ char *err = NULL;
		struct kuryr_addr_pair p;
		bool dup = false;

		if (backend_addr_pair_parse(json_string_value(e), &p, &err) < 0)
			return reply_ctl_errno(-EINVAL, what, err);
		if (!*p.mac && own_mac)
			str_copy(p.mac, own_mac, sizeof(p.mac));
		for (unsigned j = 0; j < *n && !dup; j++)
			dup = streq(pairs[j].ip, p.ip) && streq(pairs[j].mac, p.mac);
		if (dup)
			continue;
		if (*n == KURYR_MAX_ADDR_PAIRS) {
			err = strdup_printf("a port has at most %d allowed address pairs",
					    KURYR_MAX_ADDR_PAIRS);
			return reply_error(400, what, err);
		}
		pairs[(*n)++] = p;
	}
	return NULL;
}

/* port.set {name, allowed_addresses, no_allowed_address, port_security,
 * no_port_security}: as openstack port set, --allowed-address adds to the
 * port's pairs, and after --no-allowed-address replaces them. */
static json_t *port_set(struct kuryrd *d, const char *name, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const struct backend_ops *ops = d->backend->ops;
	json_t *list = json_object_get(args, "allowed_addresses");
	bool on = json_is_true(json_object_get(args, "port_security"));
	bool off = json_is_true(json_object_get(args, "no_port_security"));
	bool clear = json_is_true(json_object_get(args, "no_allowed_address"));
	struct kuryr_addr_pair pairs[KURYR_MAX_ADDR_PAIRS];
	struct port_update u;
	struct kuryr_port p;
	unsigned n = 0;
	json_t *reply;
	int r;

	if (!ops->port_update)
		return reply_error(501, "not supported", "this backend cannot change ports");
	if (!list && !clear && !on && !off)
		return reply_error(400, "cannot set the port",
				   "nothing to change: --allowed-address, --no-allowed-address, "
				   "--port-security or --no-port-security");
	if (on && off)
		return reply_error(400, "cannot set the port",
				   "--port-security or --no-port-security, not both");
	r = ops->port_get(d->backend, name, &p, &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot set the port", err);
	if (!clear) {
		n = p.n_pairs;
		memcpy(pairs, p.pairs, n * sizeof(*pairs));
	}
	reply = parse_pairs(list, "cannot set the port", p.mac, pairs, &n);
	if (reply)
		return reply;
	u = (struct port_update){ .set_pairs = list || clear,
				  .pairs = pairs,
				  .n_pairs = n,
				  .set_port_security = on || off,
				  .port_security = on };
	r = ops->port_update(d->backend, name, &u, &p, &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot set the port", err);
	log_info("event=port-set port=%s port_security=%s pairs=%u", p.name,
		 p.port_security ? "on" : "off", p.n_pairs);
	return reply_ok(port_json(&p));
}

json_t *ctl_network(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const struct backend_ops *ops = d->backend->ops;
	const char *name = json_object_get_str(args, "name");
	struct kuryr_network n;
	int r;

	if (streq(verb, "network.list")) {
		_cleanup_free_ struct kuryr_network *nets = NULL;
		size_t count = 0;
		json_t *a;

		r = ops->network_list(d->backend, &nets, &count, &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot list networks", err);
		a = json_array();
		for (size_t i = 0; i < count; i++)
			json_array_append_new(a, network_json(&nets[i]));
		return reply_ok(a);
	}
	if (!name)
		return reply_error(400, "missing argument", "name");
	if (streq(verb, "network.create")) {
		json_t *mtu = json_object_get(args, "mtu");
		bool external = json_is_true(json_object_get(args, "external"));
		const char *physnet = json_object_get_str(args, "physical_network");
		const char *cidr = NULL, *cidr6 = NULL;
		json_t *reply;

		reply = network_subnets(json_object_get(args, "subnet"), &cidr, &cidr6);
		if (reply)
			return reply;

		if (external && !(ops->caps & BACKEND_CAP_ROUTERS))
			return reply_error(501, "not supported",
					   "this node's backend has no external networks");
		if (external != !!physnet)
			return reply_error(400, "invalid argument",
					   "--external and --physical-network NAME go together");
		r = ops->network_create(
		    d->backend,
		    &(struct network_spec){ .name = name,
					    .cidr = cidr,
					    .cidr6 = cidr6,
					    .ipv6_mode = json_object_get_str(args, "ipv6_mode"),
					    .gateway = json_object_get_str(args, "gateway"),
					    .mtu = (uint32_t)json_integer_value(mtu),
					    .external = external,
					    .physical_network = physnet },
		    &n, &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot create the network", err);
		log_info("event=network-create network=%s subnet=%s subnet6=%s%s%s", n.name, n.cidr,
			 n.cidr6, external ? " physical_network=" : "", external ? physnet : "");
		/* Warm this node's pool now, so the first container hits it:
		 * containers seldom sit on the way out. */
		if (d->pool && !external)
			pool_want(d->pool, n.name, false);
		return reply_ok(network_json(&n));
	}
	if (streq(verb, "network.show")) {
		r = ops->network_get(d->backend, name, &n, &err);
		return r < 0 ? reply_ctl_errno(r, "cannot show the network", err)
			     : reply_ok(network_json(&n));
	}
	/* network.delete: this node's idle pool ports would keep it busy. */
	if (d->pool)
		(void)pool_free_ready(d->pool, kuryrd_network_name(d, name, &n), NULL);
	r = ops->network_delete(d->backend, name, &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot delete the network", err);
	log_info("event=network-delete network=%s", name);
	return reply_ok(NULL);
}

/* A pool hit does not touch the backend, so a pool port in use shows its
 * container from this node's attachment store. */
static void claim_pool_ports(struct kuryrd *d, struct kuryr_port *ports, size_t n)
{
	_cleanup_free_ struct attachment *rows = NULL;
	size_t n_rows = 0;

	if (store_list(d->store, &rows, &n_rows) < 0)
		return;
	for (size_t r = 0; r < n_rows; r++) {
		const struct attachment *a = &rows[r];

		if (a->pooled != ATTACH_POOL_PORT && a->pooled != ATTACH_POOL_PREWIRED)
			continue;
		for (size_t i = 0; i < n; i++)
			if (ports[i].owner == PORT_OWNER_POOL && streq(ports[i].name, a->port)) {
				ports[i].owner = PORT_OWNER_CONTAINER;
				snprintf(ports[i].device_id, sizeof(ports[i].device_id), "%s",
					 a->container_id);
				snprintf(ports[i].ifname, sizeof(ports[i].ifname), "%s", a->ifname);
			}
	}
}

/* port.migrate {name, to, finish, cancel}: what the target node's side of
 * a live migration does to the port (Nova's pre- and post-migration); the
 * workload itself moves by other means (a VM's migration, an ADD that
 * names the port on the target, which does all of it). */
static json_t *port_migrate(struct kuryrd *d, const char *name, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const struct backend_ops *ops = d->backend->ops;
	bool finish = json_is_true(json_object_get(args, "finish"));
	bool cancel = json_is_true(json_object_get(args, "cancel"));
	const char *to = json_object_get_str(args, "to");
	struct kuryr_port p;
	int r;

	if (!ops->port_move)
		return reply_error(501, "cannot move the port",
				   "this backend cannot move a port between nodes");
	if (finish && cancel)
		return reply_error(400, "cannot move the port", "--finish or --cancel, not both");
	if (!cancel && (!to || !*to))
		return reply_error(400, "missing argument", "to");
	r = ops->port_move(d->backend, name,
			   &(struct port_move){ .step = cancel	 ? PORT_MOVE_CANCEL
							: finish ? PORT_MOVE_FINISH
								 : PORT_MOVE_BEGIN,
						.to = to },
			   &p, &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot move the port", err);
	log_info("event=port-migrate port=%s to=%s step=%s", p.name, to ? to : "",
		 cancel	  ? "cancel"
		 : finish ? "finish"
			  : "begin");
	return reply_ok(port_json(&p));
}

json_t *ctl_port(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const struct backend_ops *ops = d->backend->ops;
	const char *name = json_object_get_str(args, "name");
	struct kuryr_port p;
	int r;

	if (streq(verb, "port.list")) {
		_cleanup_free_ struct kuryr_port *ports = NULL;
		size_t count = 0;
		json_t *a;

		r = ops->port_list(d->backend, json_object_get_str(args, "network"), &ports, &count,
				   &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot list ports", err);
		if (d->pool)
			claim_pool_ports(d, ports, count);
		a = json_array();
		for (size_t i = 0; i < count; i++)
			json_array_append_new(a, port_json(&ports[i]));
		return reply_ok(a);
	}
	if (streq(verb, "port.create")) {
		const char *net = json_object_get_str(args, "network");
		struct kuryr_addr_pair pairs[KURYR_MAX_ADDR_PAIRS];
		unsigned n_pairs = 0;
		const char *ip;
		json_t *reply;

		if (!net)
			return reply_error(400, "missing argument", "network");
		ip = json_object_get_str(args, "ip");
		reply = parse_pairs(json_object_get(args, "allowed_addresses"),
				    "cannot create the port", NULL, pairs, &n_pairs);
		if (reply)
			return reply;
		r = ops->port_create(
		    d->backend,
		    &(struct port_spec){
			.network = net,
			.name = name,
			.mac = json_object_get_str(args, "mac"),
			/* --ip of either family */
			.ip = ip && !strchr(ip, ':') ? ip : NULL,
			.ip6 = ip && strchr(ip, ':') ? ip : NULL,
			.owner = PORT_OWNER_VM,
			.device_id = json_object_get_str(args, "device_id"),
			.pairs = pairs,
			.n_pairs = n_pairs,
			.no_port_security = json_is_true(json_object_get(args, "no_port_security")),
		    },
		    &p, &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot create the port", err);
		log_info("event=port-create port=%s network=%s ip=%s", p.name, net, p.ip);
		return reply_ok(port_json(&p));
	}
	if (!name)
		return reply_error(400, "missing argument", "name");
	if (streq(verb, "port.set"))
		return port_set(d, name, args);
	if (streq(verb, "port.migrate"))
		return port_migrate(d, name, args);
	r = ops->port_get(d->backend, name, &p, &err);
	if (streq(verb, "port.show"))
		return r < 0 ? reply_ctl_errno(r, "cannot show the port", err)
			     : reply_ok(port_json(&p));
	/* port.delete */
	if (r < 0)
		return reply_ctl_errno(r, "cannot delete the port", err);
	if (p.owner == PORT_OWNER_CONTAINER)
		return reply_error(409, "cannot delete the port",
				   "it belongs to a container: DEL the container instead");
	if (p.owner == PORT_OWNER_POOL)
		return reply_error(409, "cannot delete the port",
				   "it belongs to a port pool: use kuryrctl pool free");
	r = ops->port_delete(d->backend, name, &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot delete the port", err);
	return reply_ok(NULL);
}

/* vm.plug {tap, port}: what Nova (the port's binding) and os-vif (the tap
 * on the bridge) do; vm.unplug {tap}. */
json_t *ctl_vm(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	struct binding *tap = kuryrd_binding(d, "tap");
	const char *ifname = json_object_get_str(args, "tap");
	const char *port_name = json_object_get_str(args, "port");
	struct binding_state st = { 0 };
	struct kuryr_port p = { 0 };
	struct binding_req req;
	int r;

	if (!tap)
		return reply_error(501, "not supported", "this node has no bridge for VMs");
	if (!ifname)
		return reply_error(400, "missing argument", "tap");
	if (streq(verb, "vm.unplug")) {
		snprintf(st.host_ifname, sizeof(st.host_ifname), "%s", ifname);
		r = binding_unplug(tap, &(struct binding_req){ .port = &p, .netns_fd = -1 }, &st,
				   &err);
		return r < 0 ? reply_ctl_errno(r, "cannot unplug", err) : reply_ok(NULL);
	}
	if (!port_name)
		return reply_error(400, "missing argument", "port");
	r = d->backend->ops->port_get(d->backend, port_name, &p, &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot plug", err);
	if (p.owner != PORT_OWNER_VM)
		return reply_error(409, "cannot plug", "the port belongs to a container");
	/* Bound here before the tap is on the bridge, as Nova binds it before
	 * os-vif plugs: one bound elsewhere stays off this node. */
	if (d->backend->ops->port_bind) {
		r = d->backend->ops->port_bind(d->backend, p.name, &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot plug", err);
	}
	req = (struct binding_req){
		.port = &p, .netns_fd = -1, .ifname = ifname, .device_id = p.device_id
	};
	r = binding_attach(tap, &req, d->cfg.port_up_timeout_ms, &st, &err);
	if (r < 0)
		return r == -ETIMEDOUT ? reply_error(504, "port did not come up", err)
				       : reply_ctl_errno(r, "cannot plug", err);
	r = d->backend->ops->port_wait_up(d->backend, p.name, d->cfg.port_up_timeout_ms, &err);
	if (r < 0) {
		(void)binding_unplug(tap, &req, &st, NULL);
		return reply_error(504, "port did not come up", err ? err : strerror(-r));
	}
	r = d->backend->ops->port_get(d->backend, port_name, &p, &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot show the port", err);
	log_info("event=vm-plug tap=%s port=%s", ifname, p.name);
	return reply_ok(port_json(&p));
}
