/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "neutron": ports bound to this node, created one at a time or in
 * bulk for pools, with their security groups and QoS policy, or a VM's
 * bound here before its tap is plugged; waited on until Neutron reports
 * them ACTIVE; their allowed address pairs changed one at a time against
 * concurrent writers (revision_number If-Match); moved to another node
 * (binding:profile migrating_to, then binding:host_id), likewise. */
#include <stdio.h>

#include "neutron-private.h"
#include "time-util.h"

/* What a port gets beyond its network, resolved to Neutron ids once per
 * create (or per bulk create). */
struct port_opts {
	json_t *sg_ids; /* array; NULL: Neutron's default group */
	char qos_id[40];
	const char *project;
	bool tags_in_body; /* else neutron_tag_after() each port */
};

/* A trunk's subport's device_owner, as Neutron's trunk plugin sets it. */
#define SUBPORT_OWNER "trunk:subport"
/* Between a subport-to-be pool port's key and its node, in its
 * description. */
#define POOL_HOST_SEP " @ "
/* The binding:profile key of a port being moved: the node it goes to. */
#define MIGRATING_TO  "migrating_to"

static void row_to_port(struct neutron_backend *nb, json_t *p, const char *network_name,
			struct kuryr_port *ret)
{
	const char *owner = json_object_get_str(p, "device_owner");
	const char *dev = json_object_get_str(p, "device_id");
	json_t *ip, *pair;
	size_t i;

	*ret = (struct kuryr_port){ 0 };
	str_copy(ret->name, json_object_get_str(p, "id"), sizeof(ret->name));
	str_copy(ret->network, network_name, sizeof(ret->network));
	str_copy(ret->mac, json_object_get_str(p, "mac_address"), sizeof(ret->mac));
	/* The first address of each family (a network shows one subnet per
	 * family, and ports are made with one address on each). */
	json_array_foreach(json_object_get(p, "fixed_ips"), i, ip) {
		const char *a = json_object_get_str(ip, "ip_address");

		if (!a)
			continue;
		if (!strchr(a, ':') && !*ret->ip)
			str_copy(ret->ip, a, sizeof(ret->ip));
		else if (strchr(a, ':') && !*ret->ip6)
			str_copy(ret->ip6, a, sizeof(ret->ip6));
	}
	ret->up = streq_ptr(json_object_get_str(p, "status"), "ACTIVE");
	str_copy(ret->host, json_object_get_str(p, "binding:host_id"), sizeof(ret->host));
	/* Where a move takes it (port_move), as Nova's live migration says
	 * it: ML2/OVN binds it there too. */
	str_copy(ret->migrating_to,
		 json_object_get_str(json_object_get(p, "binding:profile"), MIGRATING_TO),
		 sizeof(ret->migrating_to));
	/* What the binding driver goes by. */
	str_copy(ret->vif_type, json_object_get_str(p, "binding:vif_type"), sizeof(ret->vif_type));
	str_copy(ret->bridge,
		 json_object_get_str(json_object_get(p, "binding:vif_details"), "bridge_name"),
		 sizeof(ret->bridge));
	/* Without Neutron's port-security extension every port has it. */
	ret->port_security = !json_is_false(json_object_get(p, "port_security_enabled"));
	json_array_foreach(json_object_get(p, "allowed_address_pairs"), i, pair) {
		if (ret->n_pairs == KURYR_MAX_ADDR_PAIRS)
			break;
		str_copy(ret->pairs[ret->n_pairs].ip, json_object_get_str(pair, "ip_address"),
			 sizeof(ret->pairs[0].ip));
		str_copy(ret->pairs[ret->n_pairs].mac, json_object_get_str(pair, "mac_address"),
			 sizeof(ret->pairs[0].mac));
		ret->n_pairs++;
	}
	const char *desc = json_object_get_str(p, "description");

	/* A subport is ours as a pool's entry only (its description). */
	if (owner && (streq(owner, DEVICE_OWNER) ||
		      (streq(owner, SUBPORT_OWNER) && desc && strstr(desc, POOL_HOST_SEP)))) {
		const char *key = desc;
		const char *at = key ? strstr(key, POOL_HOST_SEP) : NULL;

		if (key && *key) {
			/* A pool port (its description is its pool's key,
			 * and for a subport the node's name), ready or in use
			 * by container device_id. */
			ret->owner = PORT_OWNER_POOL;
			str_copy(ret->device_id, dev, sizeof(ret->device_id));
			str_copy(ret->pool_key, key, sizeof(ret->pool_key));
			if (at) {
				ret->pool_key[at - key < (long)sizeof(ret->pool_key) ? at - key
										     : 0] = 0;
				if (!*ret->host)
					str_copy(ret->host, at + strlen(POOL_HOST_SEP),
						 sizeof(ret->host));
			}
		} else if (dev && *dev) {
			ret->owner = PORT_OWNER_CONTAINER;
			str_copy(ret->device_id, dev, sizeof(ret->device_id));
		} else {
			ret->owner = PORT_OWNER_POOL;
		}
	} else {
		ret->owner = PORT_OWNER_VM;
		str_copy(ret->device_id, dev, sizeof(ret->device_id));
	}
	(void)nb;
}

/* The port by Neutron id, or by the name kuryrd gave it. */
int neutron_find_port(struct neutron_backend *nb, const char *name, json_t **ret, char **reterr_msg)
{
	return neutron_lookup(nb, &neutron_kind_port, name, "", ret, reterr_msg);
}

static int network_name_of(struct neutron_backend *nb, const char *id, char *out, size_t size)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *res = NULL;

	if (asprintf(&path, "/networks/%s", id) < 0)
		return -ENOMEM;
	if (neutron_api(nb, "GET", path, NULL, &res, NULL) < 0)
		return -ENOENT;
	str_copy(out, json_object_get_str(json_object_get(res, "network"), "name"), size);
	return 0;
}

int neutron_port_get(struct backend *b, const char *name, struct kuryr_port *ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *p = NULL;
	char net[128] = "";
	int r;

	r = neutron_find_port(nb, name, &p, reterr_msg);
	if (r < 0)
		return r;
	(void)network_name_of(nb, json_object_get_str(p, "network_id"), net, sizeof(net));
	row_to_port(nb, p, net, ret);
	return 0;
}

/* Neutron's allowed_address_pairs: [{ip_address, mac_address}], a pair
 * without a MAC taking the port's. */
static json_t *pairs_json(const struct kuryr_addr_pair *pairs, unsigned n)
{
	json_t *a = json_array();

	for (unsigned i = 0; i < n; i++) {
		json_t *o = json_pack("{s:s}", "ip_address", pairs[i].ip);

		if (*pairs[i].mac)
			json_object_set_new(o, "mac_address", json_string(pairs[i].mac));
		json_array_append_new(a, o);
	}
	return a;
}

/* What Neutron would refuse (AddressPairAndPortSecurityRequired, 409), in
 * the OVN backend's words; @pairs NULL: @n pairs the port has already. */
static int check_pairs(const char *port, const struct kuryr_addr_pair *pairs, unsigned n,
		       bool port_security, char **reterr_msg)
{
	if (n && !port_security) {
		set_errmsg(reterr_msg, "allowed address pairs need port security (port %s)", port);
		return -EBUSY;
	}
	return pairs ? backend_addr_pairs_check(pairs, n, reterr_msg) : 0;
}

static void port_opts_release(struct port_opts *o)
{
	json_decref(o->sg_ids);
	o->sg_ids = NULL;
}

static int port_opts_resolve(struct neutron_backend *nb, const struct port_spec *spec,
			     struct port_opts *o, char **reterr_msg)
{
	const char *const *sgs = spec->security_groups ? spec->security_groups
						       : (const char *const *)nb->security_groups;
	const char *qos = spec->qos_policy ? spec->qos_policy : nb->qos_policy;
	int r;

	*o = (struct port_opts){ .project =
				     spec->project && *spec->project ? spec->project : nb->project,
				 .tags_in_body = neutron_tags_in_body(nb) };
	if (spec->owner == PORT_OWNER_VM)
		return 0;
	if (sgs) {
		o->sg_ids = json_array();
		for (; *sgs; sgs++) {
			char id[40];

			r = neutron_resolve_id(nb, &neutron_kind_sg, *sgs, o->project, id,
					       reterr_msg);
			if (r < 0) {
				port_opts_release(o);
				return r;
			}
			json_array_append_new(o->sg_ids, json_string(id));
		}
	}
	if (qos && *qos) {
		r = neutron_resolve_id(nb, &neutron_kind_qos, qos, o->project, o->qos_id,
				       reterr_msg);
		if (r < 0) {
			port_opts_release(o);
			return r;
		}
	}
	return 0;
}

static json_t *port_body(struct neutron_backend *nb, const struct port_spec *spec,
			 const struct kuryr_network *net, const char *name,
			 const struct port_opts *o)
{
	json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s}", "network_id", net->id, "binding:host_id",
			      nb->host, "device_owner",
			      spec->owner == PORT_OWNER_VM ? "" : DEVICE_OWNER, "device_id",
			      spec->owner == PORT_OWNER_POOL || spec->subport ? ""
			      : spec->device_id				      ? spec->device_id
									      : "",
			      "name", name ? name : "");

	if (*o->project)
		json_object_set_new(p, "project_id", json_string(o->project));
	/* A VM's port is bound by whoever runs the VM (Nova); a subport by
	 * the trunk's driver (ML2/OVN: as its parent, vif_type ovs), and it
	 * has no device_id: Neutron takes no port in use by a device as a
	 * subport (PortInUse); an unbound one by nobody. */
	if (spec->owner == PORT_OWNER_VM || spec->subport || spec->unbound)
		json_object_set_new(p, "binding:host_id", json_string(""));
	if (spec->mac)
		json_object_set_new(p, "mac_address", json_string(spec->mac));
	/* An address on each subnet the network shows: Neutron would put a
	 * port on any IPv4 subnet of the network, and on a dhcpv6-stateful
	 * one only if asked. */
	{
		json_t *fips = json_array();
		const char *sub[2] = { net->subnet_id, net->subnet6_id };
		const char *want[2] = { spec->ip, spec->ip6 };

		for (int f = 0; f < 2; f++) {
			json_t *fip;

			if (!*sub[f] && !want[f])
				continue;
			fip = *sub[f] ? json_pack("{s:s}", "subnet_id", sub[f]) : json_object();
			if (want[f])
				json_object_set_new(fip, "ip_address", json_string(want[f]));
			json_array_append_new(fips, fip);
		}
		if (json_array_size(fips))
			json_object_set_new(p, "fixed_ips", fips);
		else
			json_decref(fips);
	}
	if (o->sg_ids)
		json_object_set(p, "security_groups", o->sg_ids);
	if (spec->n_pairs)
		json_object_set_new(p, "allowed_address_pairs",
				    pairs_json(spec->pairs, spec->n_pairs));
	if (spec->no_port_security) {
		json_object_set_new(p, "port_security_enabled", json_false());
		/* The node's default groups are not the port's: none (a group
		 * named in the request stays, for Neutron to refuse). */
		if (!spec->security_groups)
			json_object_set_new(p, "security_groups", json_array());
	}
	if (*o->qos_id)
		json_object_set_new(p, "qos_policy_id", json_string(o->qos_id));
	/* A pool port's description is its pool's key; a subport-to-be or
	 * an unbound port, which has no host of ours, also names the node
	 * (POOL_HOST_SEP) so that its pool finds it again after a restart. */
	if (spec->owner == PORT_OWNER_POOL && spec->pool_key) {
		char *d = spec->subport || spec->unbound
			      ? strdup_printf("%s" POOL_HOST_SEP "%s", spec->pool_key, nb->host)
			      : strdup(spec->pool_key);

		json_object_set_new(p, "description", d ? json_string(d) : json_null());
		free(d);
	}
	if (o->tags_in_body)
		json_object_set(p, "tags", nb->tags);
	return p;
}

/* The network a port spec names: as the caller just read it, or from
 * Neutron. */
static int spec_network(struct backend *b, const struct port_spec *spec, struct kuryr_network *ret,
			char **reterr_msg)
{
	if (spec->net) {
		*ret = *spec->net;
		return 0;
	}
	return neutron_network_get(b, spec->network, ret, reterr_msg);
}

/* POST the port. An HTTP 500 is tried once more when the port has the
 * name we chose: ML2/OVN has been seen to fail a create with one while
 * other ports of the network were being made at once (an IntegrityError
 * on its ovn_revision_numbers), after Neutron had deleted the port again;
 * whatever of it is left under that name goes first. */
static int post_port(struct neutron_backend *nb, const struct port_spec *spec,
		     const struct kuryr_network *net, const struct port_opts *o, json_t **ret,
		     char **reterr_msg)
{
	long status = 0;
	int r;

	for (int attempt = 0;; attempt++) {
		_cleanup_json_ json_t *left = NULL;
		_cleanup_free_ char *q = NULL, *esc = NULL;
		size_t i;
		json_t *p;

		r = neutron_api_status(
		    nb, "POST", "/ports",
		    json_pack("{s:o}", "port", port_body(nb, spec, net, spec->name, o)), ret,
		    &status, reterr_msg);
		if (r == 0 || status != 500 || !spec->name || !*spec->name || attempt > 0)
			return r;
		esc = neutron_escape(spec->name);
		q = esc ? strdup_printf("/ports?name=%s&fields=id", esc) : NULL;
		if (!q || neutron_api(nb, "GET", q, NULL, &left, NULL) < 0)
			return r;
		json_array_foreach(json_object_get(left, "ports"), i, p)
			if (neutron_api_delete(nb, "/ports", json_object_get_str(p, "id"), NULL) <
			    0)
				return r;
		if (reterr_msg) {
			free(*reterr_msg);
			*reterr_msg = NULL;
		}
	}
}

int neutron_port_create(struct backend *b, const struct port_spec *spec, struct kuryr_port *ret,
			char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	struct kuryr_network net;
	struct port_opts o;
	json_t *p;
	int r;

	r = check_pairs(spec->name ? spec->name : "new", spec->pairs, spec->n_pairs,
			!spec->no_port_security, reterr_msg);
	if (r < 0)
		return r;
	r = spec_network(b, spec, &net, reterr_msg);
	if (r < 0)
		return r;
	r = port_opts_resolve(nb, spec, &o, reterr_msg);
	if (r < 0)
		return r;
	r = post_port(nb, spec, &net, &o, &res, reterr_msg);
	port_opts_release(&o);
	if (r < 0)
		return r;
	p = json_object_get(res, "port");
	row_to_port(nb, p, net.name, ret);
	if (!o.tags_in_body) {
		r = neutron_tag_after(nb, "/ports", ret->name, reterr_msg);
		if (r < 0) {
			(void)b->ops->port_delete(b, ret->name, NULL);
			return r;
		}
	}
	/* A subport-to-be is not bound yet, an unbound port never: nothing
	 * to check. */
	if (spec->owner != PORT_OWNER_VM && !spec->subport && !spec->unbound) {
		/* The vif_type picks the binding driver: only "ovs" exists here. */
		const char *vif = json_object_get_str(p, "binding:vif_type");

		const char *bridge =
		    json_object_get_str(json_object_get(p, "binding:vif_details"), "bridge_name");

		if (!streq_ptr(vif, "ovs")) {
			set_errmsg(reterr_msg,
				   "Neutron bound port %s as vif_type \"%s\" on host %s; kuryrd "
				   "plugs only \"ovs\"",
				   ret->name, vif ? vif : "", nb->host);
			(void)b->ops->port_delete(b, ret->name, NULL);
			return -EPROTONOSUPPORT;
		}
		/* Where vif_details names the bridge (newer ML2/OVN does;
		 * Zed's does not), this node plugs into its own one only. */
		if (bridge && *nb->bridge && !streq(bridge, nb->bridge)) {
			set_errmsg(reterr_msg,
				   "Neutron wants port %s on bridge %s; this node plugs into %s "
				   "([neutron_defaults] ovs_bridge or [ovs] bridge)",
				   ret->name, bridge, nb->bridge);
			(void)b->ops->port_delete(b, ret->name, NULL);
			return -EPROTONOSUPPORT;
		}
	}
	if (kuryr_port_prefixes(ret, &net) < 0 || !kuryr_port_has_ip(ret) || !*ret->mac) {
		set_errmsg(reterr_msg, "Neutron gave port %s no address", ret->name);
		(void)b->ops->port_delete(b, ret->name, NULL);
		return -EIO;
	}
	return 0;
}

int neutron_port_create_bulk(struct backend *b, const struct port_spec *spec, unsigned n,
			     struct kuryr_port *ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	struct kuryr_network net;
	json_t *list, *ports;
	struct port_opts o;
	char batch[12 + 37];
	int r;

	r = spec_network(b, spec, &net, reterr_msg);
	if (r < 0)
		return r;
	/* The batch's ports share a name: if the POST's outcome is lost (a
	 * timeout), whatever it created is found by that name and deleted,
	 * never created twice. */
	uuid_random(batch + 12);
	memcpy(batch, "kuryr-batch-", 12);
	r = port_opts_resolve(nb, spec, &o, reterr_msg);
	if (r < 0)
		return r;
	list = json_array();
	for (unsigned i = 0; i < n; i++) {
		json_t *body = port_body(nb, spec, &net, batch, &o);

		/* Neutron's bulk create (Zed) makes a port's SLAAC address
		 * before its MAC, and fails (HTTP 500): these ports come
		 * with a MAC of ours. */
		if (streq(net.ipv6_mode, "slaac") && !spec->mac) {
			char mac[MAC_STR_LEN];

			mac_random(mac);
			json_object_set_new(body, "mac_address", json_string(mac));
		}
		json_array_append_new(list, body);
	}
	port_opts_release(&o);
	/* One bulk POST: Neutron creates all or none, at ~0.4 s of server time
	 * per port here, so the timeout grows with the batch. */
	r = neutron_api_t(nb, "POST", "/ports", json_pack("{s:o}", "ports", list),
			  nb->timeout_ms + 2000 * (int)n, &res, reterr_msg);
	if (r == -ETIMEDOUT || r == -ENOTCONN) {
		_cleanup_json_ json_t *found = NULL;
		_cleanup_free_ char *path = NULL;
		json_t *made;

		if (asprintf(&path, "/ports?name=%s&fields=id", batch) >= 0 &&
		    neutron_api(nb, "GET", path, NULL, &found, NULL) == 0) {
			made = json_object_get(found, "ports");
			for (size_t i = 0; i < json_array_size(made); i++)
				(void)b->ops->port_delete(
				    b, json_object_get_str(json_array_get(made, i), "id"), NULL);
		}
	}
	if (r < 0)
		return r;
	ports = json_object_get(res, "ports");
	if (json_array_size(ports) != n) {
		set_errmsg(reterr_msg, "Neutron created %zu of %u ports", json_array_size(ports),
			   n);
		for (size_t i = 0; i < json_array_size(ports); i++)
			(void)b->ops->port_delete(
			    b, json_object_get_str(json_array_get(ports, i), "id"), NULL);
		return -EIO;
	}
	for (unsigned i = 0; i < n; i++) {
		row_to_port(nb, json_array_get(ports, i), net.name, &ret[i]);
		(void)kuryr_port_prefixes(&ret[i], &net);
	}
	for (unsigned i = 0; i < n && !o.tags_in_body; i++) {
		r = neutron_tag_after(nb, "/ports", ret[i].name, reterr_msg);
		if (r < 0) {
			for (unsigned j = 0; j < n; j++)
				(void)b->ops->port_delete(b, ret[j].name, NULL);
			return r;
		}
	}
	return 0;
}

#define PORT_FIELDS                                                                     \
	"&fields=id&fields=name&fields=network_id&fields=mac_address&fields=fixed_ips"  \
	"&fields=status&fields=device_owner&fields=device_id&fields=binding:host_id"    \
	"&fields=description&fields=port_security_enabled&fields=allowed_address_pairs" \
	"&fields=binding:profile"

int neutron_port_list(struct backend *b, const char *network, struct kuryr_port **ret,
		      size_t *ret_n, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *ports = NULL, *nets = NULL;
	_cleanup_free_ struct kuryr_port *out = NULL;
	_cleanup_free_ char *path = NULL;
	struct kuryr_network net = { 0 };
	int r;

	if (network) {
		r = neutron_network_get(b, network, &net, reterr_msg);
		if (r < 0)
			return r;
		if (asprintf(&path, "/ports?network_id=%s" PORT_FIELDS, net.id) < 0)
			return -ENOMEM;
	} else {
		/* With resource_tags, only the ports that carry them. Ours,
		 * and subports: a pool's entries on a trunk. */
		if (asprintf(&path,
			     "/ports?device_owner=" DEVICE_OWNER "&device_owner=" SUBPORT_OWNER
			     "%s" PORT_FIELDS,
			     nb->tags_query) < 0)
			return -ENOMEM;
		/* Network names in one listing, not one GET per port. */
		r = neutron_list_all(nb, "/networks?fields=id&fields=name", "networks", &nets,
				     reterr_msg);
		if (r < 0)
			return r;
	}
	r = neutron_list_all(nb, path, "ports", &ports, reterr_msg);
	if (r < 0)
		return r;
	out = calloc(json_array_size(ports) + 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(ports); i++) {
		json_t *p = json_array_get(ports, i), *n;
		const char *name = net.name;
		size_t j;

		json_array_foreach(nets, j, n) {
			if (streq_ptr(json_object_get_str(n, "id"),
				      json_object_get_str(p, "network_id")))
				name = json_object_get_str(n, "name") ?: "";
		}
		row_to_port(nb, p, name, &out[i]);
	}
	*ret_n = json_array_size(ports);
	*ret = TAKE_PTR(out);
	return 0;
}

int neutron_port_delete(struct backend *b, const char *name, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *p = NULL;
	int r;

	r = neutron_find_port(nb, name, &p, reterr_msg);
	if (r < 0)
		return r;
	return neutron_api_delete(nb, "/ports", json_object_get_str(p, "id"), reterr_msg);
}

int neutron_port_wait_up(struct backend *b, const char *name, int timeout_ms, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_free_ char *e = neutron_escape(name), *path = NULL;
	uint64_t t0;
	int r = -ETIMEDOUT;

	if (!e || asprintf(&path, "/ports/%s?fields=status", e) < 0)
		return -ENOMEM;
	t0 = now_ms();
	/* Neutron has no watch: poll the port's status, every request
	 * bounded by what is left of the wait. */
	for (;;) {
		_cleanup_json_ json_t *res = NULL;
		long left;

		left = timeout_ms - (long)(now_ms() - t0);
		if (left <= 0)
			break;
		r = neutron_api_t(nb, "GET", path, NULL, (int)left, &res, reterr_msg);
		if (r == -ENOENT) {
			/* A name, not an id. */
			_cleanup_json_ json_t *p = NULL;

			r = neutron_find_port(nb, name, &p, reterr_msg);
			if (r < 0)
				return r;
			free(path);
			path = NULL;
			if (asprintf(&path, "/ports/%s?fields=status",
				     json_object_get_str(p, "id")) < 0)
				return -ENOMEM;
			continue;
		}
		if (r < 0)
			return r;
		if (streq_ptr(json_object_get_str(json_object_get(res, "port"), "status"),
			      "ACTIVE"))
			return 0;
		msleep(50);
	}
	if (r == 0 || r == -ETIMEDOUT)
		set_errmsg(reterr_msg, "Neutron port %s did not become ACTIVE within %d ms", name,
			   timeout_ms);
	return -ETIMEDOUT;
}

int neutron_port_set_device(struct backend *b, const char *name, const char *device_id,
			    char **reterr_msg)
{
	_cleanup_free_ char *path = NULL, *e = neutron_escape(name);

	if (!e || asprintf(&path, "/ports/%s", e) < 0)
		return -ENOMEM;
	return neutron_api(to_neutron(b), "PUT", path,
			   json_pack("{s:{s:s}}", "port", "device_id", device_id), NULL,
			   reterr_msg);
}

/* Poll the status of @n ports by id in one listing every 200 ms. */
void neutron_ports_wait_up(struct backend *b, const char *const *ids, size_t n, int timeout_ms,
			   bool *ok)
{
	struct neutron_backend *nb = to_neutron(b);
	uint64_t t0;
	size_t left = n;

	memset(ok, 0, n * sizeof(*ok));
	t0 = now_ms();
	while (left) {
		_cleanup_json_ json_t *res = NULL;
		_cleanup_free_ char *path = NULL;
		size_t len = 64;
		char *p;
		json_t *port;
		size_t i, j;
		long spent;

		for (i = 0; i < n; i++)
			len += 4 + strlen(ids[i]);
		p = path = malloc(len);
		if (!path)
			return;
		p += sprintf(p, "/ports?fields=id&fields=status");
		for (i = 0; i < n; i++)
			if (!ok[i])
				p += sprintf(p, "&id=%s", ids[i]);
		spent = (long)(now_ms() - t0);
		if (spent >= timeout_ms ||
		    neutron_api_t(nb, "GET", path, NULL, (int)(timeout_ms - spent), &res, NULL) < 0)
			return;
		json_array_foreach(json_object_get(res, "ports"), j, port) {
			if (!streq_ptr(json_object_get_str(port, "status"), "ACTIVE"))
				continue;
			for (i = 0; i < n; i++)
				if (!ok[i] && streq_ptr(json_object_get_str(port, "id"), ids[i])) {
					ok[i] = true;
					left--;
				}
		}
		if (left)
			msleep(200);
	}
}

/* The groups a port whose port security is turned on again joins, as a
 * new port of this node would: [neutron_defaults] pod_security_groups,
 * else @project's default group. */
static int node_sg_ids(struct neutron_backend *nb, const char *project, json_t **ret,
		       char **reterr_msg)
{
	const char *const dflt[] = { "default", NULL };
	const char *const *sgs =
	    nb->security_groups ? (const char *const *)nb->security_groups : dflt;
	_cleanup_json_ json_t *ids = json_array();

	for (; *sgs; sgs++) {
		char id[40];
		int r = neutron_resolve_id(nb, &neutron_kind_sg, *sgs, project, id, reterr_msg);

		if (r < 0)
			return r;
		json_array_append_new(ids, json_string(id));
	}
	*ret = TAKE_PTR(ids);
	return 0;
}

/* A pair change retried when another writer changed the port between
 * our read and our write (412): this many times in all. */
#define PORT_UPDATE_ATTEMPTS	   5
/* Writers that lost to each other and retried at once would meet again
 * (kuryrds on one VM's port, each adding its containers' pairs): before
 * each retry, not the first try, a random pause in [d/2, d] for d of
 * 10, 20, then 40 ms. */
#define PORT_UPDATE_BACKOFF_MS	   10
#define PORT_UPDATE_BACKOFF_MAX_MS 40

/* The pause before retry @attempt (1, 2, ...) of a port update. */
static long update_backoff_ms(int attempt)
{
	long d = PORT_UPDATE_BACKOFF_MS << (attempt < 3 ? attempt - 1 : 2);

	if (d > PORT_UPDATE_BACKOFF_MAX_MS)
		d = PORT_UPDATE_BACKOFF_MAX_MS;
	return d / 2 + (long)arc4random_uniform((uint32_t)(d / 2 + 1));
}

/* One read of port @name and one PUT of what @u makes of it, conditional
 * on the port's revision_number where it has one: -ESTALE if the port
 * moved on in between. */
static int port_update_once(struct neutron_backend *nb, const char *name,
			    const struct port_update *u, struct kuryr_port *ret, char **reterr_msg)
{
	_cleanup_json_ json_t *cur = NULL, *res = NULL, *body = NULL, *sgs = NULL;
	_cleanup_free_ char *path = NULL;
	struct kuryr_addr_pair want[KURYR_MAX_ADDR_PAIRS];
	struct kuryr_port now;
	const char *id, *project;
	json_t *rev;
	char net[128] = "";
	bool was_on, on, changed = false;
	unsigned n_want = 0;
	int r;

	r = neutron_find_port(nb, name, &cur, reterr_msg);
	if (r < 0)
		return r;
	id = json_object_get_str(cur, "id");
	project = json_object_get_str(cur, "project_id") ?: json_object_get_str(cur, "tenant_id");
	rev = json_object_get(cur, "revision_number");
	(void)network_name_of(nb, json_object_get_str(cur, "network_id"), net, sizeof(net));
	row_to_port(nb, cur, net, &now);
	was_on = now.port_security;
	on = u->set_port_security ? u->port_security : was_on;
	if (u->set_pairs)
		r = check_pairs(name, u->pairs, u->n_pairs, on, reterr_msg);
	else {
		/* One pair added or removed: against the pairs read now. */
		r = backend_pairs_apply(now.name, now.pairs, now.n_pairs, u, want, &n_want,
					&changed, reterr_msg);
		if (r == 0)
			r = check_pairs(name, NULL, n_want, on, reterr_msg);
	}
	if (r < 0)
		return r;
	if (!u->set_pairs && !changed && !u->set_port_security) {
		/* Added where it is, or removed where it is not. */
		*ret = now;
		return 0;
	}
	body = json_object();
	if (u->set_pairs)
		json_object_set_new(body, "allowed_address_pairs",
				    pairs_json(u->pairs, u->n_pairs));
	else if (changed)
		json_object_set_new(body, "allowed_address_pairs", pairs_json(want, n_want));
	if (u->set_port_security) {
		json_object_set_new(body, "port_security_enabled", json_boolean(on));
		/* Neutron keeps no groups on a port without port security. */
		if (!on)
			json_object_set_new(body, "security_groups", json_array());
		else if (!was_on) {
			r = node_sg_ids(nb, project, &sgs, reterr_msg);
			if (r < 0)
				return r;
			json_object_set(body, "security_groups", sgs);
		}
	}
	if (!id || asprintf(&path, "/ports/%s", id) < 0)
		return -ENOMEM;
	/* Without Neutron's revision numbers (no such field), the last
	 * writer wins. */
	if (json_is_integer(rev))
		r = neutron_api_if_match(nb, "PUT", path, (long)json_integer_value(rev),
					 json_pack("{s:O}", "port", body), &res, reterr_msg);
	else
		r = neutron_api(nb, "PUT", path, json_pack("{s:O}", "port", body), &res,
				reterr_msg);
	if (r < 0)
		return r;
	row_to_port(nb, json_object_get(res, "port"), net, ret);
	return 0;
}

int neutron_port_update(struct backend *b, const char *name, const struct port_update *u,
			struct kuryr_port *ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	int r = -ESTALE;

	for (int a = 0; a < PORT_UPDATE_ATTEMPTS && r == -ESTALE; a++) {
		if (a > 0)
			msleep(update_backoff_ms(a));
		r = port_update_once(nb, name, u, ret, reterr_msg);
	}
	if (r == -ESTALE) {
		set_errmsg(reterr_msg, "port %s changed under each of %d attempts to update it",
			   name, PORT_UPDATE_ATTEMPTS);
		return -EAGAIN;
	}
	return r;
}

/* One read of VM port @name and, unless it is bound already, one PUT of
 * this node as its binding:host_id, conditional on its revision_number
 * where it has one: -ESTALE if the port moved on in between. ML2 binds it
 * in the PUT, so its answer says how. */
static int port_bind_once(struct neutron_backend *nb, const char *name, char **reterr_msg)
{
	_cleanup_json_ json_t *cur = NULL, *res = NULL;
	_cleanup_free_ char *path = NULL;
	const char *id, *host, *vif;
	json_t *rev, *body;
	int r;

	r = neutron_find_port(nb, name, &cur, reterr_msg);
	if (r < 0)
		return r;
	id = json_object_get_str(cur, "id");
	host = json_object_get_str(cur, "binding:host_id");
	/* Here, or on its way here (port_move): ML2/OVN binds it here. */
	if (streq_ptr(host, nb->host) ||
	    streq_ptr(json_object_get_str(json_object_get(cur, "binding:profile"), MIGRATING_TO),
		      nb->host))
		return 0;
	if (host && *host) {
		set_errmsg(reterr_msg, "port %s is bound to host %s, not to this node (%s)", id,
			   host, nb->host);
		return -EBUSY;
	}
	if (!id || asprintf(&path, "/ports/%s", id) < 0)
		return -ENOMEM;
	body = json_pack("{s:{s:s}}", "port", "binding:host_id", nb->host);
	rev = json_object_get(cur, "revision_number");
	if (json_is_integer(rev))
		r = neutron_api_if_match(nb, "PUT", path, (long)json_integer_value(rev), body, &res,
					 reterr_msg);
	else
		r = neutron_api(nb, "PUT", path, body, &res, reterr_msg);
	if (r < 0)
		return r;
	/* The vif_type picks the binding driver: only "ovs" exists here. */
	vif = json_object_get_str(json_object_get(res, "port"), "binding:vif_type");
	if (!streq_ptr(vif, "ovs")) {
		set_errmsg(reterr_msg,
			   "Neutron bound port %s as vif_type \"%s\" on host %s; kuryrd plugs only "
			   "\"ovs\"",
			   id, vif ? vif : "", nb->host);
		(void)neutron_api(nb, "PUT", path,
				  json_pack("{s:{s:s}}", "port", "binding:host_id", ""), NULL,
				  NULL);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

int neutron_port_bind(struct backend *b, const char *name, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	int r = -ESTALE;

	for (int a = 0; a < PORT_UPDATE_ATTEMPTS && r == -ESTALE; a++)
		r = port_bind_once(nb, name, reterr_msg);
	if (r == -ESTALE) {
		set_errmsg(reterr_msg, "port %s changed under each of %d attempts to bind it", name,
			   PORT_UPDATE_ATTEMPTS);
		return -EAGAIN;
	}
	return r;
}

/* A port moved between nodes (port_move), the way Nova moves a VM's
 * during live migration: binding:profile migrating_to names the target,
 * which ML2/OVN turns into requested-chassis "NODE,TO" with
 * activation-strategy rarp; finishing makes the target its
 * binding:host_id and drops migrating_to. Each write is conditional on the
 * revision_number the checks were made against. */

/* What a move is about, of port @row: where it is bound and moving, and
 * whose it is. Neutron itself bumps revision_number for other reasons (a
 * status change): a write that lost only to those is tried again. */
static json_t *move_state(json_t *row)
{
	static const char *const keys[] = { "binding:host_id", "binding:profile", "device_id",
					    "device_owner", "description" };
	json_t *o = json_object();

	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		json_t *v = json_object_get(row, keys[i]);

		json_object_set(o, keys[i], v ? v : json_null());
	}
	return o;
}

/* One read of port @name, the checks and one conditional PUT: -ESTALE if
 * the port's revision moved on in between. @was: what the move was about
 * at the first attempt (NULL: this is it; set to it); a port changed in
 * that since is -EAGAIN. */
static int port_move_once(struct neutron_backend *nb, const char *name, const struct port_move *m,
			  json_t **was, struct kuryr_port *ret, char **reterr_msg)
{
	_cleanup_json_ json_t *cur = NULL, *res = NULL, *state = NULL, *profile = NULL;
	_cleanup_free_ char *path = NULL;
	json_t *body, *rev, *prof;
	struct kuryr_port p;
	const char *id;
	char net[128] = "";
	int r;

	r = neutron_find_port(nb, name, &cur, reterr_msg);
	if (r < 0)
		return r;
	state = move_state(cur);
	if (!*was)
		*was = json_incref(state);
	else if (!json_equal(*was, state)) {
		set_errmsg(reterr_msg, "port %s changed while it was being moved", name);
		return -EAGAIN;
	}
	id = json_object_get_str(cur, "id");
	(void)network_name_of(nb, json_object_get_str(cur, "network_id"), net, sizeof(net));
	row_to_port(nb, cur, net, &p);
	r = backend_port_move_check(
	    &p, streq_ptr(json_object_get_str(cur, "device_owner"), SUBPORT_OWNER), m, reterr_msg);
	if (r < 0)
		return r;
	/* The profile as it is but for migrating_to: Neutron replaces it
	 * whole. */
	prof = json_object_get(cur, "binding:profile");
	profile = json_is_object(prof) ? json_deep_copy(prof) : json_object();
	if (!profile)
		return -ENOMEM;
	(void)json_object_del(profile, MIGRATING_TO);
	body = json_object();
	switch (m->step) {
	case PORT_MOVE_BEGIN:
		if (streq(p.migrating_to, m->to)) {
			/* Begun already (kuryrctl, before the ADD that moves
			 * the workload): as it is. */
			if (ret)
				*ret = p;
			json_decref(body);
			return 0;
		}
		json_object_set_new(profile, MIGRATING_TO, json_string(m->to));
		break;
	case PORT_MOVE_FINISH:
		json_object_set_new(body, "binding:host_id", json_string(m->to));
		/* A container's port now, whoever had it: a pool's leaves its
		 * pool (its description, the pool's key) for good. */
		if (m->device_id) {
			json_object_set_new(body, "device_id", json_string(m->device_id));
			json_object_set_new(body, "device_owner", json_string(DEVICE_OWNER));
			json_object_set_new(body, "description", json_string(""));
		}
		break;
	case PORT_MOVE_CANCEL:
		if (!*p.migrating_to) {
			/* Moving nowhere: nothing to undo. */
			if (ret)
				*ret = p;
			json_decref(body);
			return 0;
		}
		break;
	}
	json_object_set(body, "binding:profile", profile);
	if (!id || asprintf(&path, "/ports/%s", id) < 0) {
		json_decref(body);
		return -ENOMEM;
	}
	body = json_pack("{s:o}", "port", body);
	rev = json_object_get(cur, "revision_number");
	/* Without Neutron's revision numbers (no such field), the last
	 * writer wins. */
	if (json_is_integer(rev))
		r = neutron_api_if_match(nb, "PUT", path, (long)json_integer_value(rev), body, &res,
					 reterr_msg);
	else
		r = neutron_api(nb, "PUT", path, body, &res, reterr_msg);
	if (r < 0)
		return r;
	row_to_port(nb, json_object_get(res, "port"), net, &p);
	if (m->step == PORT_MOVE_FINISH && m->device_id)
		str_copy(p.ifname, m->ifname ? m->ifname : "", sizeof(p.ifname));
	if (ret)
		*ret = p;
	return 0;
}

int neutron_port_move(struct backend *b, const char *name, const struct port_move *m,
		      struct kuryr_port *ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *was = NULL;
	int r = -ESTALE;

	for (int a = 0; a < PORT_UPDATE_ATTEMPTS && r == -ESTALE; a++) {
		if (a > 0)
			msleep(update_backoff_ms(a));
		r = port_move_once(nb, name, m, &was, ret, reterr_msg);
	}
	if (r == -ESTALE) {
		set_errmsg(reterr_msg, "port %s changed under each of %d attempts to move it", name,
			   PORT_UPDATE_ATTEMPTS);
		return -EAGAIN;
	}
	return r;
}

/* Neutron's mac_address filter matches the port's own MAC only, never
 * one in its allowed address pairs. */
int neutron_port_by_mac(struct backend *b, const char *mac, struct kuryr_port *ret,
			char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_free_ char *e = neutron_escape(mac), *path = NULL;
	_cleanup_json_ json_t *res = NULL;
	json_t *ports, *p;
	char net[128] = "";
	int r;

	if (!e || asprintf(&path, "/ports?mac_address=%s", e) < 0)
		return -ENOMEM;
	r = neutron_api(nb, "GET", path, NULL, &res, reterr_msg);
	if (r < 0)
		return r;
	ports = json_object_get(res, "ports");
	if (json_array_size(ports) == 0) {
		set_errmsg(reterr_msg, "no Neutron port has MAC %s", mac);
		return -ENOENT;
	}
	if (json_array_size(ports) > 1) {
		_cleanup_free_ char *ids = NULL;
		size_t i;

		json_array_foreach(ports, i, p) {
			char *n = strdup_printf("%s%s%s", ids ? ids : "", ids ? ", " : "",
						json_object_get_str(p, "id") ?: "?");

			free(ids);
			ids = n;
		}
		set_errmsg(reterr_msg, "several Neutron ports have MAC %s: %s", mac,
			   ids ? ids : "");
		return -ENOTUNIQ;
	}
	p = json_array_get(ports, 0);
	(void)network_name_of(nb, json_object_get_str(p, "network_id"), net, sizeof(net));
	row_to_port(nb, p, net, ret);
	return 0;
}
