/* SPDX-License-Identifier: Apache-2.0 */
/* NetworkDriver: a Docker network is a backend network, an endpoint a
 * port.
 *
 * CreateNetwork attaches to an existing network when its options name one
 * (-o kuryr.net.uuid=ID or kuryr.net.name=NAME, and upstream Kuryr's
 * neutron.net.uuid / neutron.net.name) and leaves it be on DeleteNetwork;
 * otherwise it creates "docker-NETWORK_ID" with Docker's subnet and
 * gateway and deletes it with the Docker network. -o kuryr.security_groups
 * (names or ids, comma-separated) and -o kuryr.qos_policy give its ports
 * their groups and policy (else [neutron_defaults]). Every option is
 * checked before anything is made. An endpoint's own kuryr.security_groups
 * and kuryr.qos_policy (docker network connect --driver-opt) override the
 * network's for its port.
 *
 * CreateEndpoint takes the port kuryr's IPAM reserved for the endpoint's
 * address, or makes one with the addresses Docker's own IPAM chose; Join
 * hands dockerd the device (already plugged and up, in kuryrd's netns) and
 * the gateway; DeleteEndpoint undoes a port it made (a reserved one goes
 * with its ReleaseAddress). */
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "docker-private.h"
#include "json-util.h"
#include "log.h"

/* The generic options of a network ("-o k=v"): ours are checked, others
 * (another driver's, Docker's own) are left alone. */
struct net_opts {
	const char *ref; /* an existing network, by id or name */
	json_t *sgs;	 /* array of names or ids, or NULL */
	const char *qos;
	uint32_t mtu;
};

/* @generic: a network's "com.docker.network.generic" options, or an
 * endpoint's own (docker network connect --driver-opt), which may only
 * choose its port's policies. */
static int parse_opts(json_t *generic, bool endpoint, struct net_opts *o, char **reterr_msg)
{
	const char *k;
	json_t *v;

	*o = (struct net_opts){ 0 };
	json_object_foreach(generic, k, v) {
		const char *s = json_string_value(v);

		if (strncmp(k, "kuryr.", 6) && strncmp(k, "neutron.", 8) && !streq(k, "mtu") &&
		    !streq(k, "com.docker.network.driver.mtu"))
			continue;
		if (!s || !*s) {
			set_errmsg(reterr_msg, "option %s needs a value", k);
			return -EINVAL;
		}
		if (endpoint && !streq(k, "kuryr.security_groups") &&
		    !streq(k, "kuryr.qos_policy")) {
			set_errmsg(reterr_msg,
				   "option %s is a network's; an endpoint takes "
				   "kuryr.security_groups and kuryr.qos_policy",
				   k);
			return -EINVAL;
		}
		if (streq(k, "kuryr.net.uuid") || streq(k, "kuryr.net.name") ||
		    streq(k, "neutron.net.uuid") || streq(k, "neutron.net.name")) {
			if (o->ref && !streq(o->ref, s)) {
				set_errmsg(reterr_msg, "option %s names another network than %s", k,
					   o->ref);
				return -EINVAL;
			}
			o->ref = s;
		} else if (streq(k, "kuryr.security_groups")) {
			_cleanup_free_ char *copy = strdup(s);
			char *save = NULL;

			if (!copy)
				return -ENOMEM;
			o->sgs = json_array();
			for (char *t = strtok_r(copy, ",", &save); t;
			     t = strtok_r(NULL, ",", &save))
				if (*t)
					json_array_append_new(o->sgs, json_string(t));
			if (!json_array_size(o->sgs) || json_array_size(o->sgs) > 16) {
				set_errmsg(reterr_msg, "option %s: 1 to 16 security groups", k);
				return -EINVAL;
			}
		} else if (streq(k, "kuryr.qos_policy"))
			o->qos = s;
		else if (streq(k, "mtu") || streq(k, "com.docker.network.driver.mtu")) {
			char *end;
			unsigned long m = strtoul(s, &end, 10);

			if (*end || m < 1280 || m > 65535) {
				set_errmsg(reterr_msg, "option %s: %s is not an MTU (1280..65535)",
					   k, s);
				return -EINVAL;
			}
			o->mtu = (uint32_t)m;
		} else {
			set_errmsg(reterr_msg,
				   "unknown option %s (kuryr.net.uuid, kuryr.net.name, "
				   "kuryr.security_groups, kuryr.qos_policy, mtu)",
				   k);
			return -EINVAL;
		}
	}
	return 0;
}

/* "WHAT NAME: NONE (the backend's words)" when it does not exist, else
 * the backend's failure. */
static void lookup_failed(char **reterr_msg, const char *what, const char *name, const char *none,
			  int r, const char *err)
{
	if (r == -ENOENT || r == -ESRCH)
		set_errmsg(reterr_msg, "%s %s: %s%s%s%s", what, name, none, err ? " (" : "",
			   err ? err : "", err ? ")" : "");
	else
		set_errmsg(reterr_msg, "%s %s: %s", what, name, err ? err : strerror(-r));
}

/* The groups and policy exist: a port made later must not be the first
 * to find out. */
static int check_policies(struct kuryrd *d, const struct net_opts *o, char **reterr_msg)
{
	const struct backend_ops *ops = d->backend->ops;
	_cleanup_free_ char *err = NULL;
	json_t *v;
	size_t i;
	int r;

	if ((o->sgs || o->qos) && !(ops->caps & BACKEND_CAP_PORT_POLICIES)) {
		set_errmsg(reterr_msg, "backend %s has no security groups or QoS policies per port",
			   ops->name);
		return -EOPNOTSUPP;
	}
	json_array_foreach(o->sgs, i, v) {
		json_t *sg = NULL;

		r = ops->sg_get(d->backend, json_string_value(v), &sg, &err);
		json_decref(sg);
		if (r < 0) {
			lookup_failed(reterr_msg, "security group", json_string_value(v),
				      "no such group", r, err);
			return r;
		}
	}
	if (o->qos) {
		json_t *q = NULL;

		r = ops->qos_get(d->backend, o->qos, &q, &err);
		json_decref(q);
		if (r < 0) {
			lookup_failed(reterr_msg, "QoS policy", o->qos, "no such policy", r, err);
			return r;
		}
	}
	return 0;
}

/* Docker's "ADDR/LEN" as "ADDR". */
static void strip_len(const char *s, char *out, size_t size)
{
	uint8_t len;

	if (!s || addr_split(s, out, size, &len) < 0)
		*out = 0;
}

/* The IPAM pool kuryr made for subnet @cidr that no network has yet: the
 * one this network's RequestPool made. Its id in @out, or "". */
static void pool_of(struct kuryrd *d, const char *cidr, char *out, size_t size)
{
	struct store_record *recs = NULL;
	size_t n = 0;

	*out = 0;
	if (!cidr || store_record_list(d->store, DOCKER_KIND_POOL, &recs, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		_cleanup_json_ json_t *v = json_loads(recs[i].value, 0, NULL);

		if (streq_ptr(json_object_get_str(v, "pool"), cidr) &&
		    streq_ptr(json_object_get_str(v, "network"), ""))
			snprintf(out, size, "%s", recs[i].id); /* the latest */
	}
	store_records_free(recs, n);
}

static void pool_link(struct kuryrd *d, const char *pool, const char *nid)
{
	_cleanup_json_ json_t *rec = docker_record_get(d, DOCKER_KIND_POOL, pool);

	if (!rec)
		return;
	json_object_set_new(rec, "network", json_string(nid));
	(void)docker_record_put(d, DOCKER_KIND_POOL, pool, rec);
}

json_t *docker_create_network(struct kuryrd *d, json_t *body, char **reterr_msg)
{
	const struct backend_ops *ops = d->backend->ops;
	const char *nid = json_object_get_str(body, "NetworkID");
	json_t *v4 = json_array_get(json_object_get(body, "IPv4Data"), 0);
	json_t *v6 = json_array_get(json_object_get(body, "IPv6Data"), 0);
	const char *cidr = json_object_get_str(v4, "Pool");
	const char *cidr6 = json_object_get_str(v6, "Pool");
	_cleanup_json_ json_t *rec = NULL, *sgs = NULL;
	_cleanup_free_ char *err = NULL;
	char gw[48], name[128], pool[160];
	struct kuryr_network net;
	struct net_opts o;
	int r;

	if (!nid || !*nid || strlen(nid) > 64) {
		set_errmsg(reterr_msg, "CreateNetwork without a NetworkID");
		return NULL;
	}
	r = parse_opts(
	    json_object_get(json_object_get(body, "Options"), "com.docker.network.generic"), false,
	    &o, reterr_msg);
	sgs = o.sgs;
	if (r < 0 || check_policies(d, &o, reterr_msg) < 0)
		return NULL;
	strip_len(json_object_get_str(v4, "Gateway"), gw, sizeof(gw));
	if (o.ref) {
		r = ops->network_get(d->backend, o.ref, &net, &err);
		if (r < 0) {
			lookup_failed(reterr_msg, "network", o.ref, "no such network", r, err);
			return NULL;
		}
		if ((cidr && !streq(cidr, net.cidr)) || (cidr6 && !streq(cidr6, net.cidr6))) {
			set_errmsg(reterr_msg,
				   "subnet %s%s%s conflicts with network %s's %s%s%s: give "
				   "--subnet %s or leave it out with Docker's default IPAM",
				   cidr ? cidr : "", cidr && cidr6 ? " " : "", cidr6 ? cidr6 : "",
				   net.name, *net.cidr ? net.cidr : "no IPv4 subnet",
				   *net.cidr6 ? " " : "", net.cidr6,
				   *net.cidr ? net.cidr : net.cidr6);
			return NULL;
		}
	} else {
		_cleanup_json_ json_t *prec = NULL;
		const char *range;

		pool_of(d, cidr, pool, sizeof(pool));
		prec = *pool ? docker_record_get(d, DOCKER_KIND_POOL, pool) : NULL;
		range = json_object_get_str(prec, "ip_range");
		snprintf(name, sizeof(name), "docker-%s", nid);
		r = ops->network_create(
		    d->backend,
		    &(struct network_spec){ .name = name,
					    .cidr = cidr,
					    .cidr6 = cidr6,
					    .gateway = *gw ? gw : NULL,
					    .ipv6_assigned = cidr6 != NULL,
					    .mtu = o.mtu,
					    .ip_range = range && *range ? range : NULL },
		    &net, &err);
		if (r < 0) {
			set_errmsg(reterr_msg, "cannot create network %s: %s", name,
				   err ? err : strerror(-r));
			return NULL;
		}
	}
	pool_of(d, cidr, pool, sizeof(pool));
	rec = json_pack("{s:s, s:s, s:b, s:s}", "network", net.name, "id", net.id, "owned", !o.ref,
			"pool", pool);
	if (rec && o.sgs)
		json_object_set(rec, "security_groups", o.sgs);
	if (rec && o.qos)
		json_object_set_new(rec, "qos_policy", json_string(o.qos));
	r = rec ? docker_record_put(d, DOCKER_KIND_NETWORK, nid, rec) : -ENOMEM;
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot record the network: %s", strerror(-r));
		if (!o.ref)
			(void)ops->network_delete(d->backend, net.name, NULL);
		return NULL;
	}
	if (*pool)
		pool_link(d, pool, nid);
	log_info("event=docker-network id=%.12s network=%s owned=%s pool=%s", nid, net.name,
		 o.ref ? "no" : "yes", *pool ? pool : "-");
	return json_object();
}

json_t *docker_delete_network(struct kuryrd *d, json_t *body, char **reterr_msg)
{
	const char *nid = json_object_get_str(body, "NetworkID");
	_cleanup_json_ json_t *rec = docker_record_get(d, DOCKER_KIND_NETWORK, nid);
	const char *name = json_object_get_str(rec, "network");
	const char *pool = json_object_get_str(rec, "pool");
	_cleanup_free_ char *err = NULL;
	int r;

	if (!rec)
		return json_object(); /* not ours, or gone already */
	if (json_is_true(json_object_get(rec, "owned")) && name) {
		/* Its pool's ready ports first: they are ours, not Docker's. */
		if (d->pool)
			(void)pool_free_ready(d->pool, name, NULL);
		r = d->backend->ops->network_delete(d->backend, name, &err);
		if (r < 0 && r != -ENOENT) {
			set_errmsg(reterr_msg, "cannot delete network %s: %s", name,
				   err ? err : strerror(-r));
			return NULL;
		}
	} else if (d->pool && name)
		(void)pool_free_ready(d->pool, name, NULL);
	if (pool && *pool)
		pool_link(d, pool, "");
	docker_record_delete(d, DOCKER_KIND_NETWORK, nid);
	log_info("event=docker-network-deleted id=%.12s network=%s", nid, name ? name : "-");
	return json_object();
}

/* The endpoint record of @body's EndpointID and its attachment row. */
static json_t *endpoint_of(struct kuryrd *d, json_t *body, struct attachment *a, char **reterr_msg)
{
	const char *eid = json_object_get_str(body, "EndpointID");
	json_t *ep = docker_record_get(d, DOCKER_KIND_ENDPOINT, eid);
	const char *key = json_object_get_str(ep, "key");

	if (!key || docker_port_get(d, key, a) < 0) {
		set_errmsg(reterr_msg, "unknown endpoint %.12s", eid ? eid : "(none)");
		json_decref(ep);
		return NULL;
	}
	return ep;
}

json_t *docker_create_endpoint(struct kuryrd *d, json_t *body, char **reterr_msg)
{
	const char *nid = json_object_get_str(body, "NetworkID");
	const char *eid = json_object_get_str(body, "EndpointID");
	json_t *iface = json_object_get(body, "Interface");
	const char *mac = json_object_get_str(iface, "MacAddress");
	_cleanup_json_ json_t *net = docker_record_get(d, DOCKER_KIND_NETWORK, nid);
	_cleanup_json_ json_t *addr = NULL, *ep = NULL;
	const char *pool = json_object_get_str(net, "pool");
	char ip[48], ip6[48], rid[160], key[DOCKER_KEY_LEN + 1], label[96];
	_cleanup_json_ json_t *policies = NULL;
	const char *reserved = NULL;
	struct attachment a;
	struct net_opts o;
	int r;

	if (!net) {
		set_errmsg(reterr_msg, "unknown network %.12s", nid ? nid : "(none)");
		return NULL;
	}
	if (!eid || !*eid || strlen(eid) > 64) {
		set_errmsg(reterr_msg, "CreateEndpoint without an EndpointID");
		return NULL;
	}
	if (mac && !*mac)
		mac = NULL;
	/* Its own policies, over the network's. */
	r = parse_opts(json_object_get(body, "Options"), true, &o, reterr_msg);
	policies = o.sgs ? json_pack("{s:o}", "security_groups", o.sgs) : json_object();
	if (r < 0 || check_policies(d, &o, reterr_msg) < 0)
		return NULL;
	if (o.qos)
		json_object_set_new(policies, "qos_policy", json_string(o.qos));
	strip_len(json_object_get_str(iface, "Address"), ip, sizeof(ip));
	strip_len(json_object_get_str(iface, "AddressIPv6"), ip6, sizeof(ip6));
	snprintf(label, sizeof(label), "docker:%s", eid);
	/* The port kuryr's IPAM made for this address. */
	if (pool && *pool && *ip) {
		snprintf(rid, sizeof(rid), "%s %s", pool, ip);
		addr = docker_record_get(d, DOCKER_KIND_ADDRESS, rid);
		reserved = json_object_get_str(addr, "key");
	}
	if (reserved && docker_port_get(d, reserved, &a) == 0) {
		snprintf(key, sizeof(key), "%s", reserved);
		/* Asked for another MAC than the port's, or policies of its
		 * own: a new port with the same address, that MAC and those
		 * policies (a pool's port keeps its own). */
		if ((mac && strcasecmp(mac, a.mac)) || json_object_size(policies)) {
			r = docker_port_discard(d, key, reterr_msg);
			if (r == 0)
				r = docker_port_attach(
				    d,
				    &(struct docker_port_req){ .key = key,
							       .network = net,
							       .ip = ip,
							       .mac = mac,
							       .policies = policies,
							       .label = label },
				    &a, reterr_msg);
			if (r < 0) {
				docker_record_delete(d, DOCKER_KIND_ADDRESS, rid);
				return NULL;
			}
		} else {
			snprintf(a.netns, sizeof(a.netns), "%s", label);
			(void)store_update(d->store, &a);
		}
	} else {
		reserved = NULL;
		docker_key_new(key);
		r = docker_port_attach(d,
				       &(struct docker_port_req){ .key = key,
								  .network = net,
								  .ip = *ip ? ip : NULL,
								  .ip6 = *ip6 ? ip6 : NULL,
								  .mac = mac,
								  .policies = policies,
								  .label = label },
				       &a, reterr_msg);
		if (r < 0)
			return NULL;
	}
	ep = json_pack("{s:s, s:s, s:b}", "key", key, "network", nid, "reserved", reserved != NULL);
	r = ep ? docker_record_put(d, DOCKER_KIND_ENDPOINT, eid, ep) : -ENOMEM;
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot record the endpoint: %s", strerror(-r));
		if (!reserved)
			(void)docker_port_detach(d, key, NULL);
		return NULL;
	}
	log_info("event=docker-endpoint id=%.12s port=%s ip=%s mac=%s", eid, a.port, a.address,
		 a.mac);
	/* Docker sets the MAC it was told, or the one we answer with. */
	if (!mac)
		return json_pack("{s:{s:s}}", "Interface", "MacAddress", a.mac);
	return json_object();
}

json_t *docker_delete_endpoint(struct kuryrd *d, json_t *body, char **reterr_msg)
{
	const char *eid = json_object_get_str(body, "EndpointID");
	_cleanup_json_ json_t *ep = docker_record_get(d, DOCKER_KIND_ENDPOINT, eid);
	const char *key = json_object_get_str(ep, "key");

	if (!ep)
		return json_object();
	/* A port kuryr's IPAM reserved goes with its address. */
	if (key && !json_is_true(json_object_get(ep, "reserved")) &&
	    docker_port_detach(d, key, reterr_msg) < 0)
		return NULL;
	docker_record_delete(d, DOCKER_KIND_ENDPOINT, eid);
	log_info("event=docker-endpoint-deleted id=%.12s", eid);
	return json_object();
}

json_t *docker_endpoint_info(struct kuryrd *d, json_t *body, char **reterr_msg)
{
	_cleanup_json_ json_t *ep = NULL;
	struct attachment a;

	ep = endpoint_of(d, body, &a, reterr_msg);
	if (!ep)
		return NULL;
	return json_pack("{s:{s:s, s:s, s:s, s:s}}", "Value", "port", a.port, "network", a.network,
			 "mac", a.mac, "device", a.ifname);
}

/* Noted from Join to Leave: a device found back in our netns in between
 * is a container dockerd removed while we could not be told (docker.c's
 * sweep). */
static void mark_joined(struct kuryrd *d, json_t *body, json_t *ep, bool joined)
{
	if (joined)
		json_object_set_new(ep, "joined", json_integer((json_int_t)time(NULL)));
	else
		json_object_del(ep, "joined");
	(void)docker_record_put(d, DOCKER_KIND_ENDPOINT, json_object_get_str(body, "EndpointID"),
				ep);
}

json_t *docker_join(struct kuryrd *d, json_t *body, char **reterr_msg)
{
	_cleanup_json_ json_t *ep = NULL;
	struct attachment a;
	json_t *reply;

	ep = endpoint_of(d, body, &a, reterr_msg);
	if (!ep)
		return NULL;
	/* The device is plugged and up already: dockerd moves it into the
	 * container, names it eth*, and gives it the addresses. No
	 * docker_gwbridge: the network's gateway (its router) is the way out. */
	reply = json_pack("{s:{s:s, s:s}, s:b}", "InterfaceName", "SrcName", a.ifname, "DstPrefix",
			  "eth", "DisableGatewayService", 1);
	if (reply && *a.gateway && *a.address)
		json_object_set_new(reply, "Gateway", json_string(a.gateway));
	if (reply && *a.gateway6 && *a.address6)
		json_object_set_new(reply, "GatewayIPv6", json_string(a.gateway6));
	mark_joined(d, body, ep, true);
	log_info("event=docker-join port=%s device=%s", a.port, a.ifname);
	return reply;
}

/* dockerd moves the device back out after Leave; the endpoint's delete
 * (or its address's release) then unplugs it. */
json_t *docker_leave(struct kuryrd *d, json_t *body, char **reterr_msg)
{
	_cleanup_json_ json_t *ep = NULL;
	struct attachment a;

	ep = endpoint_of(d, body, &a, reterr_msg);
	if (!ep)
		return NULL;
	mark_joined(d, body, ep, false);
	return json_object();
}
