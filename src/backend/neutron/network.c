/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "neutron": networks, with the subnets their ports take addresses
 * from (one per family: IPv4, IPv6 in mode slaac or dhcpv6-stateful),
 * their DNS servers and host routes; external networks
 * (flat provider networks with router:external) for routers' gateways and
 * floating IPs. */
#include <arpa/inet.h>
#include <stdio.h>
#include <sys/socket.h>

#include "neutron-private.h"

/* Add the subnet's DNS servers and host routes to @info (as many as fit):
 * a dual-stack network's result has both subnets'. */
static void subnet_info(json_t *sub, struct kuryr_subnet_info *info)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(sub, "dns_nameservers"), i, v) {
		if (info->n_dns < KURYR_MAX_DNS && json_is_string(v))
			str_copy(info->dns[info->n_dns++], json_string_value(v),
				 sizeof(info->dns[0]));
	}
	json_array_foreach(json_object_get(sub, "host_routes"), i, v) {
		struct kuryr_route *rt = &info->routes[info->n_routes];
		const char *dst = json_object_get_str(v, "destination");
		const char *gw = json_object_get_str(v, "nexthop");

		if (info->n_routes >= KURYR_MAX_ROUTES || !dst || !gw)
			continue;
		str_copy(rt->dst, dst, sizeof(rt->dst));
		str_copy(rt->gw, gw, sizeof(rt->gw));
		info->n_routes++;
	}
}

/* Network @net with its first IPv4 subnet (or pod_subnet), whose id goes
 * to @ret_subnet_id (40 bytes, may be NULL; "" without a subnet), and its
 * first IPv6 subnet. */
static int fill_network(struct neutron_backend *nb, json_t *net, struct kuryr_network *ret,
			char *ret_subnet_id, char **reterr_msg)
{
	_cleanup_json_ json_t *subs = NULL, *all = NULL;
	_cleanup_free_ char *path = NULL;
	json_t *sub, *sub6 = NULL;
	size_t i;
	int r;

	*ret = (struct kuryr_network){ 0 };
	str_copy(ret->name, json_object_get_str(net, "name"), sizeof(ret->name));
	str_copy(ret->id, json_object_get_str(net, "id"), sizeof(ret->id));
	ret->mtu = (uint32_t)json_integer_value(json_object_get(net, "mtu"));
	if (!ret->mtu)
		ret->mtu = KURYR_DEFAULT_MTU;
	ret->external = json_is_true(json_object_get(net, "router:external"));
	str_copy(ret->physical_network, json_object_get_str(net, "provider:physical_network"),
		 sizeof(ret->physical_network));
	if (asprintf(&path, "/subnets?network_id=%s", ret->id) < 0)
		return -ENOMEM;
	r = neutron_api(nb, "GET", path, NULL, &all, reterr_msg);
	if (r < 0)
		return r;
	subs = json_pack("{s:[]}", "subnets");
	json_array_foreach(json_object_get(all, "subnets"), i, sub) {
		const char *cidr = json_object_get_str(sub, "cidr");

		if (!cidr || !strchr(cidr, ':'))
			json_array_append(json_object_get(subs, "subnets"), sub);
		else if (!sub6)
			sub6 = sub;
	}
	/* [neutron_defaults] pod_subnet (id or name) where the network has
	 * it, else the first IPv4 subnet. */
	sub = json_array_get(json_object_get(subs, "subnets"), 0);
	if (*nb->pod_subnet) {
		_cleanup_free_ char *ids = NULL;
		json_t *s, *by_id = NULL, *named = NULL;
		unsigned n_named = 0;

		json_array_foreach(json_object_get(subs, "subnets"), i, s) {
			if (streq_ptr(json_object_get_str(s, "id"), nb->pod_subnet))
				by_id = s;
			else if (streq_ptr(json_object_get_str(s, "name"), nb->pod_subnet)) {
				if (neutron_ids_append(&ids, s) < 0)
					return -ENOMEM;
				named = s;
				n_named++;
			}
		}
		if (!by_id && n_named > 1) {
			set_errmsg(reterr_msg,
				   "More than one subnet of network %s exists with the name "
				   "\"%s\": %s; use an ID ([neutron_defaults] pod_subnet)",
				   ret->name, nb->pod_subnet, ids);
			return -ENOTUNIQ;
		}
		if (by_id || named)
			sub = by_id ?: named;
	}
	/* Ports name their subnets: the port's IPv4 address comes from the
	 * subnet this network shows. */
	str_copy(ret->subnet_id, json_object_get_str(sub, "id"), sizeof(ret->subnet_id));
	str_copy(ret->cidr, json_object_get_str(sub, "cidr"), sizeof(ret->cidr));
	str_copy(ret->gateway, json_object_get_str(sub, "gateway_ip"), sizeof(ret->gateway));
	subnet_info(sub, &ret->info);
	if (sub6) {
		str_copy(ret->subnet6_id, json_object_get_str(sub6, "id"), sizeof(ret->subnet6_id));
		str_copy(ret->cidr6, json_object_get_str(sub6, "cidr"), sizeof(ret->cidr6));
		str_copy(ret->gateway6, json_object_get_str(sub6, "gateway_ip"),
			 sizeof(ret->gateway6));
		str_copy(ret->ipv6_mode, json_object_get_str(sub6, "ipv6_address_mode"),
			 sizeof(ret->ipv6_mode));
		subnet_info(sub6, &ret->info);
	}
	if (ret_subnet_id)
		str_copy(ret_subnet_id, json_object_get_str(sub, "id"), 40);
	return 0;
}

int neutron_network_find(struct neutron_backend *nb, const char *name, struct kuryr_network *ret,
			 char subnet_id[40], char **reterr_msg)
{
	_cleanup_json_ json_t *net = NULL;
	char scope[SCOPE_MAX];
	int r;

	neutron_scope_of(nb, NULL, scope);
	r = neutron_lookup(nb, &neutron_kind_network, name, scope, &net, reterr_msg);
	if (r < 0)
		return r;
	return fill_network(nb, net, ret, subnet_id, reterr_msg);
}

int neutron_network_get(struct backend *b, const char *name, struct kuryr_network *ret,
			char **reterr_msg)
{
	return neutron_network_find(to_neutron(b), name, ret, NULL, reterr_msg);
}

int neutron_network_list(struct backend *b, struct kuryr_network **ret, size_t *ret_n,
			 char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ struct kuryr_network *out = NULL;
	json_t *nets;
	size_t n = 0;
	int r;

	r = neutron_list_all(nb,
			     "/networks?fields=id&fields=name&fields=mtu&fields=router:external"
			     "&fields=provider:physical_network",
			     "networks", &res, reterr_msg);
	if (r < 0)
		return r;
	nets = res;
	out = calloc(json_array_size(nets) + 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(nets); i++) {
		_cleanup_free_ char *why = NULL;

		r = fill_network(nb, json_array_get(nets, i), &out[n], NULL, &why);
		/* One network's ambiguous pod_subnet does not hide the rest:
		 * it is listed without a subnet. */
		if (r < 0 && r != -ENOTUNIQ) {
			if (reterr_msg)
				*reterr_msg = TAKE_PTR(why);
			return r;
		}
		n++;
	}
	*ret = TAKE_PTR(out);
	*ret_n = n;
	return 0;
}

/* The IPv6 subnet @spec asks for, checked before anything is made: a
 * canonical prefix, a mode Neutron has (SLAAC needs a /64: a host makes
 * its address from the prefix and its MAC). */
static int subnet6_check(const struct network_spec *spec, char **reterr_msg)
{
	const char *mode = spec->ipv6_mode ?: "slaac";
	char canon[64], ip[48];
	uint8_t len = 0;
	int family;

	if (!streq(mode, "slaac") && !streq(mode, "dhcpv6-stateful")) {
		set_errmsg(reterr_msg, "IPv6 mode \"%s\" is slaac or dhcpv6-stateful", mode);
		return -EINVAL;
	}
	if (ip_or_prefix_canon(spec->cidr6, canon, sizeof(canon), &family) < 0 ||
	    family != AF_INET6 || !strchr(canon, '/') ||
	    addr_split(canon, ip, sizeof(ip), &len) < 0 || len < 1 || len > 126) {
		set_errmsg(reterr_msg,
			   "subnet \"%s\" is not an IPv6 network address with a prefix length",
			   spec->cidr6);
		return -EINVAL;
	}
	if (streq(mode, "slaac") && len != 64) {
		set_errmsg(reterr_msg,
			   "IPv6 subnet %s: SLAAC makes addresses from the prefix and the MAC "
			   "(EUI-64), which needs a /64 (or --ipv6-mode dhcpv6-stateful)",
			   canon);
		return -EINVAL;
	}
	if (spec->external) {
		set_errmsg(reterr_msg, "an external network is IPv4 only (floating IPs are IPv4; "
				       "IPv6 is routed, not NATed)");
		return -EINVAL;
	}
	return 0;
}

/* POST the network's subnet of @version (4, 6); its id to @ret_id. */
static int subnet_create(struct neutron_backend *nb, const struct network_spec *spec,
			 const char *net_id, int version, char ret_id[40], char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	const char *gw = spec->gateway;
	json_t *body, *sub;
	int r;

	body = json_pack("{s:{s:s, s:s, s:i, s:s}}", "subnet", "network_id", net_id, "cidr",
			 version == 4 ? spec->cidr : spec->cidr6, "ip_version", version, "name",
			 spec->name);
	sub = json_object_get(body, "subnet");
	if (*nb->project)
		json_object_set_new(sub, "project_id", json_string(nb->project));
	if (version == 6) {
		/* Neutron's RAs (ML2/OVN: ipv6_ra_configs on the router's
		 * port) say what the address mode says. */
		const char *mode = spec->ipv6_mode
				       ?: spec->ipv6_assigned ? "dhcpv6-stateful"
							      : "slaac";

		json_object_set_new(sub, "ipv6_address_mode", json_string(mode));
		json_object_set_new(sub, "ipv6_ra_mode", json_string(mode));
	}
	/* --gateway names one family's; "" is none for both. Otherwise the
	 * first host address, also for IPv6 (Neutron's own default there is
	 * the subnet-router anycast address), as on backend ovn. */
	if (gw && (!*gw || (strchr(gw, ':') != NULL) == (version == 6)))
		json_object_set_new(sub, "gateway_ip", *gw ? json_string(gw) : json_null());
	else if (version == 6) {
		char ip[48], first[48];
		uint8_t len;

		if (addr_split(spec->cidr6, ip, sizeof(ip), &len) == 0 &&
		    snprintf(first, sizeof(first), "%s1", ip) < (int)sizeof(first) &&
		    ip6_in_prefix(first, spec->cidr6, first))
			json_object_set_new(sub, "gateway_ip", json_string(first));
	}
	/* An IP range: allocation pools around the gateway (Neutron's own
	 * default, the first host, when the spec names none). */
	if (version == 4 && spec->ip_range) {
		struct ip4_span al[2], ex[3];
		char first[INET_ADDRSTRLEN] = "";
		unsigned na, ne;
		json_t *pools = json_array();
		uint32_t net;
		uint8_t len;

		if (!gw && cidr4_parse(spec->cidr, &net, &len) == 0)
			inet_ntop(AF_INET, &(struct in_addr){ .s_addr = htonl(net + 1) }, first,
				  sizeof(first));
		r = backend_ip_range(spec->cidr, spec->ip_range, gw ? gw : first, al, &na, ex, &ne,
				     reterr_msg);
		for (unsigned i = 0; r == 0 && i < na; i++) {
			char a[40], b[40];

			ip4_span_format(&(struct ip4_span){ al[i].first, al[i].first }, "", a,
					sizeof(a));
			ip4_span_format(&(struct ip4_span){ al[i].last, al[i].last }, "", b,
					sizeof(b));
			json_array_append_new(pools, json_pack("{s:s, s:s}", "start", a, "end", b));
		}
		json_object_set_new(sub, "allocation_pools", pools);
		if (r < 0) {
			json_decref(body);
			return r;
		}
	}
	r = neutron_api(nb, "POST", "/subnets", body, &res, reterr_msg);
	if (r < 0)
		return r;
	str_copy(ret_id, json_object_get_str(json_object_get(res, "subnet"), "id"), 40);
	return neutron_tag_after(nb, "/subnets", ret_id, reterr_msg);
}

int neutron_network_create(struct backend *b, const struct network_spec *spec,
			   struct kuryr_network *ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *existing = NULL;
	char scope[SCOPE_MAX], sub_id[40];
	const char *id, *gw = spec->gateway;
	json_t *body;
	int r;

	if (!spec->cidr && !spec->cidr6) {
		set_errmsg(reterr_msg, "a network needs an IPv4 or an IPv6 subnet, or both");
		return -EINVAL;
	}
	if (spec->cidr6) {
		r = subnet6_check(spec, reterr_msg);
		if (r < 0)
			return r;
	} else if (spec->ipv6_mode) {
		set_errmsg(reterr_msg, "--ipv6-mode goes with an IPv6 subnet");
		return -EINVAL;
	}
	if (gw && *gw && !(strchr(gw, ':') ? spec->cidr6 : spec->cidr)) {
		set_errmsg(reterr_msg, "gateway \"%s\": the network has no IPv%c subnet", gw,
			   strchr(gw, ':') ? '6' : '4');
		return -EINVAL;
	}
	/* Neutron would take a gateway off the subnet; a container's
	 * default route could not reach it. */
	if (gw && *gw) {
		uint32_t net4, a4;
		uint8_t len4;
		bool in;

		if (strchr(gw, ':'))
			in = ip6_in_prefix(gw, spec->cidr6, NULL);
		else
			in = cidr4_parse(spec->cidr, &net4, &len4) == 0 &&
			     inet_pton(AF_INET, gw, &a4) == 1 &&
			     ip4_in_subnet(ntohl(a4), net4, len4);
		if (!in) {
			set_errmsg(reterr_msg, "gateway \"%s\" is not a host address of %s", gw,
				   strchr(gw, ':') ? spec->cidr6 : spec->cidr);
			return -EINVAL;
		}
	}
	/* Not another of that name where names resolve (one shared with
	 * the project counts): it would make the name ambiguous. */
	neutron_scope_of(nb, NULL, scope);
	r = neutron_by_name(nb, &neutron_kind_network, spec->name, scope, &existing, NULL);
	if (r == 0 || r == -ENOTUNIQ) {
		set_errmsg(reterr_msg, "network \"%s\" already exists", spec->name);
		return -EEXIST;
	}
	body = json_pack("{s:{s:s}}", "network", "name", spec->name);
	if (*nb->project)
		json_object_set_new(json_object_get(body, "network"), "project_id",
				    json_string(nb->project));
	if (spec->mtu)
		json_object_set_new(json_object_get(body, "network"), "mtu",
				    json_integer(spec->mtu));
	/* The way out: a flat network on the physical network the nodes'
	 * bridge_mappings put on a provider bridge, which routers' gateways
	 * and floating IPs take their addresses from. */
	if (spec->external) {
		json_t *n = json_object_get(body, "network");

		json_object_set_new(n, "router:external", json_true());
		json_object_set_new(n, "provider:network_type", json_string("flat"));
		json_object_set_new(
		    n, "provider:physical_network",
		    json_string(spec->physical_network ? spec->physical_network : ""));
	}
	r = neutron_api(nb, "POST", "/networks", body, &res, reterr_msg);
	if (r < 0)
		return r;
	id = json_object_get_str(json_object_get(res, "network"), "id") ?: "";
	r = neutron_tag_after(nb, "/networks", id, reterr_msg);
	if (r == 0 && spec->cidr)
		r = subnet_create(nb, spec, id, 4, sub_id, reterr_msg);
	if (r == 0 && spec->cidr6)
		r = subnet_create(nb, spec, id, 6, sub_id, reterr_msg);
	if (r < 0) {
		/* No half-made network (its subnets go with it). */
		if (asprintf(&path, "/networks/%s", id) >= 0)
			(void)neutron_api(nb, "DELETE", path, NULL, NULL, NULL);
		return r;
	}
	return fill_network(nb, json_object_get(res, "network"), ret, NULL, reterr_msg);
}

int neutron_network_delete(struct backend *b, const char *name, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_free_ char *path = NULL;
	struct kuryr_network n;
	int r;

	r = neutron_network_get(b, name, &n, reterr_msg);
	if (r < 0)
		return r;
	if (asprintf(&path, "/networks/%s", n.id) < 0)
		return -ENOMEM;
	r = neutron_api(nb, "DELETE", path, NULL, NULL, reterr_msg);
	return r == -EEXIST ? -EBUSY : r;
}
