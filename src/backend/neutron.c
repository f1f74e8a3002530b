/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "neutron": containers get real OpenStack Neutron ports, through
 * the Neutron API v2.0 (an os_session: Keystone or noauth, libcurl +
 * jansson). The ML2 driver (ML2/OVN here) programs the datapath, kuryrd
 * plugs the port.
 *
 * Mapping:
 *   network -> Neutron network (by id, or by a name unique among the
 *              project's own and shared ones) with its first IPv4 subnet
 *   port    -> Neutron port, device_owner "compute:kuryr",
 *              binding:host_id this node, name = the id kuryrd chose before
 *              creating it (so a port whose creation outcome was lost is
 *              still found and deleted); kuryr_port.name is Neutron's id,
 *              which is also the OVS iface-id ML2/OVN expects.
 *   pool    -> device_owner "compute:kuryr", description = its pool's key,
 *              device_id = the container using it ("" while ready), written
 *              after the fact, off the ADD/DEL path. */
#include <arpa/inet.h>
#include <stdatomic.h>
#include <curl/curl.h>
#include <stdio.h>
#include <time.h>

#include "neutron.h"
#include "json-util.h"
#include "openstack/session.h"
#include "time-util.h"

#define DEVICE_OWNER "compute:kuryr"

struct neutron_backend {
	struct backend base;
	struct os_session *s;
	char *where;   /* "neutron=URL" or "keystone=URL" */
	char *project; /* sent as project_id (without Keystone: required) */
	char *host;
	int timeout_ms;
	/* [neutron_defaults] */
	char *pod_subnet;
	char *bridge;		/* where this node plugs ports */
	char **security_groups; /* NULL-terminated; NULL: Neutron's default */
	char *qos_policy;
	json_t *tags;	  /* resource_tags, an array; NULL: none */
	char *tags_query; /* "&tags=a,b" for listings of our ports, or "" */
	/* Whether a port create may carry its tags (Neutron's extension
	 * tag-ports-during-bulk-creation): -1 not known yet, 0, 1. */
	atomic_int tags_in_body;
};

/* What a port gets beyond its network, resolved to Neutron ids once per
 * create (or per bulk create). */
struct port_opts {
	json_t *sg_ids; /* array; NULL: Neutron's default group */
	char qos_id[40];
	const char *project;
	bool tags_in_body; /* else tag_after() each port */
};

static struct neutron_backend *to_neutron(struct backend *b)
{
	return (struct neutron_backend *)b;
}

/* One Neutron API call (@path under /v2.0). @body (stolen) may be NULL.
 * GET, PUT and DELETE are retried; a POST only when it provably did not
 * reach Neutron. */
static int api_t(struct neutron_backend *nb, const char *method, const char *path, json_t *body,
		 int timeout_ms, json_t **ret, char **reterr_msg)
{
	_cleanup_free_ char *full = NULL;
	int r;

	if (asprintf(&full, "/v2.0%s", path) < 0) {
		json_decref(body);
		return -ENOMEM;
	}
	r = os_request(nb->s, method, full, body, timeout_ms,
		       streq(method, "POST") ? 0 : OS_REQ_IDEMPOTENT, ret, NULL, reterr_msg);
	/* The backend contract: unreachable is -ENOTCONN, never -ENOENT. */
	return r == -ECONNREFUSED ? -ENOTCONN : r;
}

static int api(struct neutron_backend *nb, const char *method, const char *path, json_t *body,
	       json_t **ret, char **reterr_msg)
{
	return api_t(nb, method, path, body, nb->timeout_ms, ret, reterr_msg);
}

/* DELETE @collection/@id ("/ports", "/trunks", ...). */
static int api_delete(struct neutron_backend *nb, const char *collection, const char *id,
		      char **reterr_msg)
{
	_cleanup_free_ char *path = NULL;

	if (!id || asprintf(&path, "%s/%s", collection, id) < 0)
		return -ENOMEM;
	return api(nb, "DELETE", path, NULL, NULL, reterr_msg);
}

static char *escape(const char *s)
{
	CURL *c = curl_easy_init();
	char *e = c ? curl_easy_escape(c, s, 0) : NULL;
	char *r = e ? strdup(e) : NULL;

	curl_free(e);
	if (c)
		curl_easy_cleanup(c);
	return r;
}

/* resource_tags on @collection/@id ("/networks", ...), for what cannot
 * carry them in its create request: all in one request, or (QoS policies,
 * whose tags cannot be replaced at once) one request per tag. */
static int tag_after(struct neutron_backend *nb, const char *collection, const char *id,
		     char **reterr_msg)
{
	_cleanup_free_ char *path = NULL;
	size_t i;
	json_t *t;

	if (!nb->tags)
		return 0;
	if (!id || asprintf(&path, "%s/%s/tags", collection, id) < 0)
		return -ENOMEM;
	if (!streq(collection, "/qos/policies"))
		return api(nb, "PUT", path, json_pack("{s:O}", "tags", nb->tags), NULL, reterr_msg);
	json_array_foreach(nb->tags, i, t) {
		_cleanup_free_ char *one = NULL, *e = escape(json_string_value(t));
		int r;

		if (!e || asprintf(&one, "%s/%s", path, e) < 0)
			return -ENOMEM;
		r = api(nb, "PUT", one, NULL, NULL, reterr_msg);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Whether port creates can carry the tags; asked of Neutron once (at
 * login, or at the first create if Neutron could not answer then). */
static bool tags_in_body(struct neutron_backend *nb)
{
	int known = atomic_load(&nb->tags_in_body);
	int r;

	if (!nb->tags)
		return false;
	if (known >= 0)
		return known;
	r = api(nb, "GET", "/extensions/tag-ports-during-bulk-creation", NULL, NULL, NULL);
	if (r == 0 || r == -ENOENT)
		atomic_store(&nb->tags_in_body, r == 0);
	return r == 0;
}

#define LIST_PAGE 500

/* Whether a page's "<key>_links" offer a next page. Neutron sends links
 * when it pages; a page smaller than asked for ends the listing only when
 * there are none (its pagination_max_limit may cap every page below
 * LIST_PAGE). */
static bool has_next(json_t *res, const char *key, size_t n)
{
	char name[64];
	json_t *links, *l;
	size_t i;

	snprintf(name, sizeof(name), "%s_links", key);
	links = json_object_get(res, name);
	if (!links)
		return n >= LIST_PAGE;
	json_array_foreach(links, i, l) {
		if (streq_ptr(json_object_get_str(l, "rel"), "next"))
			return n > 0;
	}
	return false;
}

/* Every item of a listing (@path has a query already), a page of
 * LIST_PAGE (or Neutron's own maximum) at a time, in *ret (an array). */
static int list_all(struct neutron_backend *nb, const char *path, const char *key, json_t **ret,
		    char **reterr_msg)
{
	_cleanup_json_ json_t *all = json_array();
	_cleanup_free_ char *marker = NULL;

	if (!all)
		return -ENOMEM;
	for (;;) {
		_cleanup_free_ char *page = NULL;
		_cleanup_json_ json_t *res = NULL;
		json_t *items;
		size_t n;
		int r;

		if (asprintf(&page, "%s&limit=%d%s%s", path, LIST_PAGE, marker ? "&marker=" : "",
			     marker ? marker : "") < 0)
			return -ENOMEM;
		r = api(nb, "GET", page, NULL, &res, reterr_msg);
		if (r < 0)
			return r;
		items = json_object_get(res, key);
		n = json_array_size(items);
		json_array_extend(all, items);
		if (!has_next(res, key, n))
			break;
		free(marker);
		marker = strdup(json_object_get_str(json_array_get(items, n - 1), "id") ?: "");
		if (!marker || !*marker)
			break;
	}
	*ret = TAKE_PTR(all);
	return 0;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* A kind of object users name, by id or by name. */
struct kind {
	const char *what;	/* in messages: "network" */
	const char *collection; /* "/networks" */
	const char *key;	/* a listing's member: "networks" */
	const char *one;	/* a GET by id's member: "network" */
	int missing;		/* -errno for "there is none" */
	/* Names resolve among the project's own objects and those shared
	 * with it: with admin credentials Neutron shows every project's. */
	bool scoped;
};

static const struct kind k_network = {
	"network", "/networks", "networks", "network", -ENOENT, true
};
/* Not scoped: a pod's port may be in the pod's own project, and a rollback
 * finds a port whose create outcome was lost by the name kuryrd gave it. */
static const struct kind k_port = { "port", "/ports", "ports", "port", -ENOENT, false };
static const struct kind k_trunk = { "trunk", "/trunks", "trunks", "trunk", -ENOENT, true };
static const struct kind k_sg = {
	"security group", "/security-groups", "security_groups", "security_group", -ESRCH, true
};
static const struct kind k_qos = {
	"QoS policy", "/qos/policies", "policies", "policy", -ESRCH, true
};

#define SCOPE_MAX 256

/* The project names resolve in: @project (a pod's own) if given, else
 * [neutron_defaults] project, else the token's; "" before a Keystone login
 * (then whatever Neutron shows kuryrd). */
static void scope_of(struct neutron_backend *nb, const char *project, char out[SCOPE_MAX])
{
	if (project && *project)
		copy_str(out, SCOPE_MAX, project);
	else if (*nb->project)
		copy_str(out, SCOPE_MAX, nb->project);
	else
		os_session_project_id(nb->s, out, SCOPE_MAX);
}

static bool in_scope(const struct kind *k, json_t *o, const char *project)
{
	const char *owner =
	    json_object_get_str(o, "project_id") ?: json_object_get_str(o, "tenant_id");

	return !k->scoped || !*project || streq_ptr(owner, project) ||
	       json_is_true(json_object_get(o, "shared"));
}

/* Append @o's id to the ", "-separated list *ids. */
static int ids_append(char **ids, json_t *o)
{
	char *more = strdup_printf("%s%s%s", *ids ? *ids : "", *ids ? ", " : "",
				   json_object_get_str(o, "id") ?: "?");

	if (!more)
		return -ENOMEM;
	free(*ids);
	*ids = more;
	return 0;
}

/* The one @k named exactly @name in @project's scope (see struct kind;
 * "": any): 0 with a new reference in *ret, k->missing if there is none,
 * -ENOTUNIQ naming every candidate's id if there are several. */
static int by_name(struct neutron_backend *nb, const struct kind *k, const char *name,
		   const char *project, json_t **ret, char **reterr_msg)
{
	_cleanup_free_ char *path = NULL, *e = escape(name), *ids = NULL;
	_cleanup_json_ json_t *all = NULL;
	json_t *o, *found = NULL;
	size_t i, n = 0;
	int r;

	if (!e || asprintf(&path, "%s?name=%s", k->collection, e) < 0)
		return -ENOMEM;
	r = list_all(nb, path, k->key, &all, reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(all, i, o) {
		/* Exactly: a case-insensitive collation may match more. */
		if (!streq_ptr(json_object_get_str(o, "name"), name) || !in_scope(k, o, project))
			continue;
		if (ids_append(&ids, o) < 0)
			return -ENOMEM;
		found = o;
		n++;
	}
	if (n == 0) {
		set_errmsg(reterr_msg, "%s \"%s\" does not exist%s%s", k->what, name,
			   k->scoped && *project ? " in project " : "", k->scoped ? project : "");
		return k->missing;
	}
	if (n > 1) {
		set_errmsg(reterr_msg,
			   "More than one %s exists with the name \"%s\": %s; use an ID", k->what,
			   name, ids);
		return -ENOTUNIQ;
	}
	*ret = json_incref(found);
	return 0;
}

/* The @k that @ref names: by id first where @ref looks like one (a 404
 * then falls back to the names, since a name may look like an id too),
 * else by_name() in @project's scope. */
static int lookup(struct neutron_backend *nb, const struct kind *k, const char *ref,
		  const char *project, json_t **ret, char **reterr_msg)
{
	if (uuid_is_valid(ref)) {
		_cleanup_free_ char *path = strdup_printf("%s/%s", k->collection, ref);
		_cleanup_json_ json_t *res = NULL;
		int r;

		if (!path)
			return -ENOMEM;
		r = api(nb, "GET", path, NULL, &res, reterr_msg);
		if (r == 0 && json_is_object(json_object_get(res, k->one))) {
			*ret = json_incref(json_object_get(res, k->one));
			return 0;
		}
		/* Only a 404 means "no such id": a Neutron that cannot
		 * answer must not make an object look gone (a rollback
		 * would forget a port). */
		if (r < 0 && r != -ENOENT)
			return r;
		if (reterr_msg) {
			free(*reterr_msg);
			*reterr_msg = NULL;
		}
	}
	return by_name(nb, k, ref, project, ret, reterr_msg);
}

/* The subnet's DNS servers and host routes (as many as fit). */
static void subnet_info(json_t *sub, struct kuryr_subnet_info *info)
{
	json_t *v;
	size_t i;

	*info = (struct kuryr_subnet_info){ 0 };
	json_array_foreach(json_object_get(sub, "dns_nameservers"), i, v) {
		if (info->n_dns < KURYR_MAX_DNS && json_is_string(v))
			copy_str(info->dns[info->n_dns++], sizeof(info->dns[0]),
				 json_string_value(v));
	}
	json_array_foreach(json_object_get(sub, "host_routes"), i, v) {
		struct kuryr_route *rt = &info->routes[info->n_routes];
		const char *dst = json_object_get_str(v, "destination");
		const char *gw = json_object_get_str(v, "nexthop");

		if (info->n_routes >= KURYR_MAX_ROUTES || !dst || !gw || strchr(dst, ':'))
			continue;
		copy_str(rt->dst, sizeof(rt->dst), dst);
		copy_str(rt->gw, sizeof(rt->gw), gw);
		info->n_routes++;
	}
}

/* Network @name (or @id) and its first IPv4 subnet. */
static int fill_network(struct neutron_backend *nb, json_t *net, struct kuryr_network *ret,
			char **reterr_msg)
{
	_cleanup_json_ json_t *subs = NULL;
	_cleanup_free_ char *path = NULL;
	json_t *sub;
	int r;

	*ret = (struct kuryr_network){ 0 };
	copy_str(ret->name, sizeof(ret->name), json_object_get_str(net, "name"));
	copy_str(ret->id, sizeof(ret->id), json_object_get_str(net, "id"));
	ret->mtu = (uint32_t)json_integer_value(json_object_get(net, "mtu"));
	if (!ret->mtu)
		ret->mtu = KURYR_DEFAULT_MTU;
	if (asprintf(&path, "/subnets?network_id=%s&ip_version=4", ret->id) < 0)
		return -ENOMEM;
	r = api(nb, "GET", path, NULL, &subs, reterr_msg);
	if (r < 0)
		return r;
	/* [neutron_defaults] pod_subnet (id or name) where the network has
	 * it, else the first IPv4 subnet. */
	sub = json_array_get(json_object_get(subs, "subnets"), 0);
	if (*nb->pod_subnet) {
		_cleanup_free_ char *ids = NULL;
		json_t *s, *by_id = NULL, *named = NULL;
		unsigned n_named = 0;
		size_t i;

		json_array_foreach(json_object_get(subs, "subnets"), i, s) {
			if (streq_ptr(json_object_get_str(s, "id"), nb->pod_subnet))
				by_id = s;
			else if (streq_ptr(json_object_get_str(s, "name"), nb->pod_subnet)) {
				if (ids_append(&ids, s) < 0)
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
		if (by_id || named) {
			sub = by_id ?: named;
			copy_str(ret->subnet_id, sizeof(ret->subnet_id),
				 json_object_get_str(sub, "id"));
		}
	}
	copy_str(ret->cidr, sizeof(ret->cidr), json_object_get_str(sub, "cidr"));
	copy_str(ret->gateway, sizeof(ret->gateway), json_object_get_str(sub, "gateway_ip"));
	subnet_info(sub, &ret->info);
	return 0;
}

static int neutron_network_get(struct backend *b, const char *name, struct kuryr_network *ret,
			       char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *net = NULL;
	char scope[SCOPE_MAX];
	int r;

	scope_of(nb, NULL, scope);
	r = lookup(nb, &k_network, name, scope, &net, reterr_msg);
	if (r < 0)
		return r;
	return fill_network(nb, net, ret, reterr_msg);
}

static int neutron_network_list(struct backend *b, struct kuryr_network **ret, size_t *ret_n,
				char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ struct kuryr_network *out = NULL;
	json_t *nets;
	size_t n = 0;
	int r;

	r = list_all(nb, "/networks?fields=id&fields=name&fields=mtu", "networks", &res,
		     reterr_msg);
	if (r < 0)
		return r;
	nets = res;
	out = calloc(json_array_size(nets) + 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(nets); i++) {
		_cleanup_free_ char *why = NULL;

		r = fill_network(nb, json_array_get(nets, i), &out[n], &why);
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

static int neutron_network_create(struct backend *b, const struct network_spec *spec,
				  struct kuryr_network *ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL, *sres = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *existing = NULL;
	char scope[SCOPE_MAX];
	const char *id;
	json_t *body, *sub;
	int r;

	/* Not another of that name where names resolve (one shared with
	 * the project counts): it would make the name ambiguous. */
	scope_of(nb, NULL, scope);
	r = by_name(nb, &k_network, spec->name, scope, &existing, NULL);
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
	r = api(nb, "POST", "/networks", body, &res, reterr_msg);
	if (r < 0)
		return r;
	id = json_object_get_str(json_object_get(res, "network"), "id");
	sub = json_pack("{s:{s:s, s:s, s:i, s:s}}", "subnet", "network_id", id ? id : "", "cidr",
			spec->cidr ? spec->cidr : "", "ip_version", 4, "name", spec->name);
	if (*nb->project)
		json_object_set_new(json_object_get(sub, "subnet"), "project_id",
				    json_string(nb->project));
	if (spec->gateway)
		json_object_set_new(json_object_get(sub, "subnet"), "gateway_ip",
				    *spec->gateway ? json_string(spec->gateway) : json_null());
	r = api(nb, "POST", "/subnets", sub, &sres, reterr_msg);
	if (r == 0)
		r = tag_after(nb, "/networks", id, reterr_msg);
	if (r == 0)
		r = tag_after(nb, "/subnets",
			      json_object_get_str(json_object_get(sres, "subnet"), "id"),
			      reterr_msg);
	if (r < 0) {
		/* No half-made network (its subnet goes with it). */
		if (asprintf(&path, "/networks/%s", id ? id : "") >= 0)
			(void)api(nb, "DELETE", path, NULL, NULL, NULL);
		return r;
	}
	return fill_network(nb, json_object_get(res, "network"), ret, reterr_msg);
}

static int neutron_network_delete(struct backend *b, const char *name, char **reterr_msg)
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
	r = api(nb, "DELETE", path, NULL, NULL, reterr_msg);
	return r == -EEXIST ? -EBUSY : r;
}

static void row_to_port(struct neutron_backend *nb, json_t *p, const char *network_name,
			struct kuryr_port *ret)
{
	const char *owner = json_object_get_str(p, "device_owner");
	const char *dev = json_object_get_str(p, "device_id");
	json_t *ip = json_array_get(json_object_get(p, "fixed_ips"), 0);

	*ret = (struct kuryr_port){ 0 };
	copy_str(ret->name, sizeof(ret->name), json_object_get_str(p, "id"));
	copy_str(ret->network, sizeof(ret->network), network_name);
	copy_str(ret->mac, sizeof(ret->mac), json_object_get_str(p, "mac_address"));
	copy_str(ret->ip, sizeof(ret->ip), json_object_get_str(ip, "ip_address"));
	ret->up = streq_ptr(json_object_get_str(p, "status"), "ACTIVE");
	copy_str(ret->host, sizeof(ret->host), json_object_get_str(p, "binding:host_id"));
	if (owner && streq(owner, DEVICE_OWNER)) {
		const char *key = json_object_get_str(p, "description");

		if (key && *key) {
			/* A pool port (its description is its pool's key),
			 * ready or in use by container device_id. */
			ret->owner = PORT_OWNER_POOL;
			copy_str(ret->device_id, sizeof(ret->device_id), dev);
			copy_str(ret->pool_key, sizeof(ret->pool_key), key);
		} else if (dev && *dev) {
			ret->owner = PORT_OWNER_CONTAINER;
			copy_str(ret->device_id, sizeof(ret->device_id), dev);
		} else {
			ret->owner = PORT_OWNER_POOL;
		}
	} else {
		ret->owner = PORT_OWNER_VM;
		copy_str(ret->device_id, sizeof(ret->device_id), dev);
	}
	(void)nb;
}

/* The port by Neutron id, or by the name kuryrd gave it. */
static int find_port(struct neutron_backend *nb, const char *name, json_t **ret, char **reterr_msg)
{
	return lookup(nb, &k_port, name, "", ret, reterr_msg);
}

static int network_name_of(struct neutron_backend *nb, const char *id, char *out, size_t size)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *res = NULL;

	if (asprintf(&path, "/networks/%s", id) < 0)
		return -ENOMEM;
	if (api(nb, "GET", path, NULL, &res, NULL) < 0)
		return -ENOENT;
	copy_str(out, size, json_object_get_str(json_object_get(res, "network"), "name"));
	return 0;
}

static int neutron_port_get(struct backend *b, const char *name, struct kuryr_port *ret,
			    char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *p = NULL;
	char net[128] = "";
	int r;

	r = find_port(nb, name, &p, reterr_msg);
	if (r < 0)
		return r;
	(void)network_name_of(nb, json_object_get_str(p, "network_id"), net, sizeof(net));
	row_to_port(nb, p, net, ret);
	return 0;
}

/* The id of the @k that @ref names (lookup()), names resolving in
 * @project's scope (scope_of()). */
static int resolve_id(struct neutron_backend *nb, const struct kind *k, const char *ref,
		      const char *project, char out[40], char **reterr_msg)
{
	_cleanup_json_ json_t *o = NULL;
	char scope[SCOPE_MAX];
	int r;

	scope_of(nb, project, scope);
	r = lookup(nb, k, ref, scope, &o, reterr_msg);
	if (r == 0)
		copy_str(out, 40, json_object_get_str(o, "id"));
	return r;
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
				 .tags_in_body = tags_in_body(nb) };
	if (spec->owner == PORT_OWNER_VM)
		return 0;
	if (sgs) {
		o->sg_ids = json_array();
		for (; *sgs; sgs++) {
			char id[40];

			r = resolve_id(nb, &k_sg, *sgs, o->project, id, reterr_msg);
			if (r < 0) {
				port_opts_release(o);
				return r;
			}
			json_array_append_new(o->sg_ids, json_string(id));
		}
	}
	if (qos && *qos) {
		r = resolve_id(nb, &k_qos, qos, o->project, o->qos_id, reterr_msg);
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
			      spec->owner == PORT_OWNER_POOL ? ""
			      : spec->device_id		     ? spec->device_id
							     : "",
			      "name", name ? name : "");

	if (*o->project)
		json_object_set_new(p, "project_id", json_string(o->project));
	if (spec->owner == PORT_OWNER_VM)
		json_object_set_new(p, "binding:host_id", json_string(""));
	if (spec->mac)
		json_object_set_new(p, "mac_address", json_string(spec->mac));
	if (*net->subnet_id) {
		json_t *fip = json_pack("{s:s}", "subnet_id", net->subnet_id);

		if (spec->ip)
			json_object_set_new(fip, "ip_address", json_string(spec->ip));
		json_object_set_new(p, "fixed_ips", json_pack("[o]", fip));
	} else if (spec->ip)
		json_object_set_new(p, "fixed_ips", json_pack("[{s:s}]", "ip_address", spec->ip));
	if (o->sg_ids)
		json_object_set(p, "security_groups", o->sg_ids);
	if (*o->qos_id)
		json_object_set_new(p, "qos_policy_id", json_string(o->qos_id));
	if (spec->owner == PORT_OWNER_POOL && spec->pool_key)
		json_object_set_new(p, "description", json_string(spec->pool_key));
	if (o->tags_in_body)
		json_object_set(p, "tags", nb->tags);
	return p;
}

static int neutron_port_create(struct backend *b, const struct port_spec *spec,
			       struct kuryr_port *ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	struct kuryr_network net;
	struct port_opts o;
	uint32_t subnet;
	uint8_t len;
	json_t *p;
	int r;

	if (spec->net)
		net = *spec->net;
	else {
		r = neutron_network_get(b, spec->network, &net, reterr_msg);
		if (r < 0)
			return r;
	}
	r = port_opts_resolve(nb, spec, &o, reterr_msg);
	if (r < 0)
		return r;
	r = api(nb, "POST", "/ports",
		json_pack("{s:o}", "port", port_body(nb, spec, &net, spec->name, &o)), &res,
		reterr_msg);
	port_opts_release(&o);
	if (r < 0)
		return r;
	p = json_object_get(res, "port");
	row_to_port(nb, p, net.name, ret);
	if (!o.tags_in_body) {
		r = tag_after(nb, "/ports", ret->name, reterr_msg);
		if (r < 0) {
			(void)b->ops->port_delete(b, ret->name, NULL);
			return r;
		}
	}
	if (spec->owner != PORT_OWNER_VM) {
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
	if (cidr4_parse(net.cidr, &subnet, &len) == 0)
		ret->prefixlen = len;
	if (!*ret->ip || !*ret->mac) {
		set_errmsg(reterr_msg, "Neutron gave port %s no IPv4 address", ret->name);
		(void)b->ops->port_delete(b, ret->name, NULL);
		return -EIO;
	}
	return 0;
}

static int neutron_port_create_bulk(struct backend *b, const struct port_spec *spec, unsigned n,
				    struct kuryr_port *ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	struct kuryr_network net;
	json_t *list, *ports;
	struct port_opts o;
	char batch[12 + 37];
	uint32_t subnet;
	uint8_t len = 24;
	int r;

	if (spec->net)
		net = *spec->net;
	else {
		r = neutron_network_get(b, spec->network, &net, reterr_msg);
		if (r < 0)
			return r;
	}
	(void)cidr4_parse(net.cidr, &subnet, &len);
	/* The batch's ports share a name: if the POST's outcome is lost (a
	 * timeout), whatever it created is found by that name and deleted,
	 * never created twice. */
	uuid_random(batch + 12);
	memcpy(batch, "kuryr-batch-", 12);
	r = port_opts_resolve(nb, spec, &o, reterr_msg);
	if (r < 0)
		return r;
	list = json_array();
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(list, port_body(nb, spec, &net, batch, &o));
	port_opts_release(&o);
	/* One bulk POST: Neutron creates all or none, at ~0.4 s of server time
	 * per port here, so the timeout grows with the batch. */
	r = api_t(nb, "POST", "/ports", json_pack("{s:o}", "ports", list),
		  nb->timeout_ms + 2000 * (int)n, &res, reterr_msg);
	if (r == -ETIMEDOUT || r == -ENOTCONN) {
		_cleanup_json_ json_t *found = NULL;
		_cleanup_free_ char *path = NULL;
		json_t *made;

		if (asprintf(&path, "/ports?name=%s&fields=id", batch) >= 0 &&
		    api(nb, "GET", path, NULL, &found, NULL) == 0) {
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
		ret[i].prefixlen = len;
	}
	for (unsigned i = 0; i < n && !o.tags_in_body; i++) {
		r = tag_after(nb, "/ports", ret[i].name, reterr_msg);
		if (r < 0) {
			for (unsigned j = 0; j < n; j++)
				(void)b->ops->port_delete(b, ret[j].name, NULL);
			return r;
		}
	}
	return 0;
}

#define PORT_FIELDS                                                                    \
	"&fields=id&fields=name&fields=network_id&fields=mac_address&fields=fixed_ips" \
	"&fields=status&fields=device_owner&fields=device_id&fields=binding:host_id"   \
	"&fields=description"

static int neutron_port_list(struct backend *b, const char *network, struct kuryr_port **ret,
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
		/* With resource_tags, only the ports that carry them. */
		if (asprintf(&path, "/ports?device_owner=" DEVICE_OWNER "%s" PORT_FIELDS,
			     nb->tags_query) < 0)
			return -ENOMEM;
		/* Network names in one listing, not one GET per port. */
		r = list_all(nb, "/networks?fields=id&fields=name", "networks", &nets, reterr_msg);
		if (r < 0)
			return r;
	}
	r = list_all(nb, path, "ports", &ports, reterr_msg);
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

static int neutron_port_delete(struct backend *b, const char *name, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *p = NULL;
	int r;

	r = find_port(nb, name, &p, reterr_msg);
	if (r < 0)
		return r;
	return api_delete(nb, "/ports", json_object_get_str(p, "id"), reterr_msg);
}

static int neutron_port_wait_up(struct backend *b, const char *name, int timeout_ms,
				char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_free_ char *e = escape(name), *path = NULL;
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
		r = api_t(nb, "GET", path, NULL, (int)left, &res, reterr_msg);
		if (r == -ENOENT) {
			/* A name, not an id. */
			_cleanup_json_ json_t *p = NULL;

			r = find_port(nb, name, &p, reterr_msg);
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

static int neutron_port_set_device(struct backend *b, const char *name, const char *device_id,
				   char **reterr_msg)
{
	_cleanup_free_ char *path = NULL, *e = escape(name);

	if (!e || asprintf(&path, "/ports/%s", e) < 0)
		return -ENOMEM;
	return api(to_neutron(b), "PUT", path,
		   json_pack("{s:{s:s}}", "port", "device_id", device_id), NULL, reterr_msg);
}

/* ---- security groups and QoS policies ---- */

static json_t *sg_json(json_t *g)
{
	json_t *rules = json_array(), *r;
	size_t i;

	json_array_foreach(json_object_get(g, "security_group_rules"), i, r) {
		json_array_append_new(
		    rules,
		    json_pack("{s:s?, s:s?, s:I, s:I, s:s?, s:s?}", "direction",
			      json_object_get_str(r, "direction"), "protocol",
			      json_object_get_str(r, "protocol"), "port_min",
			      json_integer_value(json_object_get(r, "port_range_min")), "port_max",
			      json_integer_value(json_object_get(r, "port_range_max")),
			      "remote_ip_prefix", json_object_get_str(r, "remote_ip_prefix"),
			      "ethertype", json_object_get_str(r, "ethertype")));
	}
	return json_pack("{s:s?, s:s?, s:o}", "id", json_object_get_str(g, "id"), "name",
			 json_object_get_str(g, "name"), "rules", rules);
}

static int sg_id(struct neutron_backend *nb, const char *sg, char id[40], char **reterr_msg)
{
	return resolve_id(nb, &k_sg, sg, NULL, id, reterr_msg);
}

/* Whether a @k named @name exists where names resolve (so that creating
 * another would make the name ambiguous). */
static bool name_taken(struct neutron_backend *nb, const struct kind *k, const char *name)
{
	_cleanup_json_ json_t *o = NULL;
	char scope[SCOPE_MAX];
	int r;

	scope_of(nb, NULL, scope);
	r = by_name(nb, k, name, scope, &o, NULL);
	return r == 0 || r == -ENOTUNIQ;
}

static int neutron_sg_get(struct backend *b, const char *sg, json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ char *path = NULL;
	char id[40];
	int r;

	r = sg_id(nb, sg, id, reterr_msg);
	if (r < 0)
		return r;
	if (asprintf(&path, "/security-groups/%s", id) < 0)
		return -ENOMEM;
	r = api(nb, "GET", path, NULL, &res, reterr_msg);
	if (r == 0)
		*ret = sg_json(json_object_get(res, "security_group"));
	return r;
}

static int neutron_sg_create(struct backend *b, const char *name, json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	json_t *body = json_pack("{s:s}", "name", name);
	const char *id_made;
	int r;

	if (name_taken(nb, &k_sg, name)) {
		json_decref(body);
		set_errmsg(reterr_msg, "security group \"%s\" already exists", name);
		return -EEXIST;
	}
	if (*nb->project)
		json_object_set_new(body, "project_id", json_string(nb->project));
	r = api(nb, "POST", "/security-groups", json_pack("{s:o}", "security_group", body), &res,
		reterr_msg);
	if (r < 0)
		return r;
	id_made = json_object_get_str(json_object_get(res, "security_group"), "id");
	r = tag_after(nb, "/security-groups", id_made, reterr_msg);
	if (r < 0) {
		(void)api_delete(nb, "/security-groups", id_made, NULL);
		return r;
	}
	*ret = sg_json(json_object_get(res, "security_group"));
	return 0;
}

static int neutron_sg_rule_add(struct backend *b, const char *sg, const struct sg_rule *rule,
			       char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	json_t *body;
	char id[40];
	int r;

	r = sg_id(nb, sg, id, reterr_msg);
	if (r < 0)
		return r;
	body = json_pack("{s:s, s:s, s:s}", "security_group_id", id, "direction", rule->direction,
			 "ethertype", "IPv4");
	if (rule->protocol)
		json_object_set_new(body, "protocol", json_string(rule->protocol));
	if (rule->port_min) {
		json_object_set_new(body, "port_range_min", json_integer(rule->port_min));
		json_object_set_new(body, "port_range_max",
				    json_integer(rule->port_max ? rule->port_max : rule->port_min));
	}
	if (rule->remote_ip_prefix)
		json_object_set_new(body, "remote_ip_prefix", json_string(rule->remote_ip_prefix));
	if (*nb->project)
		json_object_set_new(body, "project_id", json_string(nb->project));
	return api(nb, "POST", "/security-group-rules",
		   json_pack("{s:o}", "security_group_rule", body), &res, reterr_msg);
}

static int neutron_sg_delete(struct backend *b, const char *sg, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	char id[40];
	int r;

	r = sg_id(nb, sg, id, reterr_msg);
	if (r < 0)
		return r;
	r = api_delete(nb, "/security-groups", id, reterr_msg);
	return r == -EEXIST ? -EBUSY : r; /* 409: ports still use it */
}

static int neutron_qos_create(struct backend *b, const char *name, unsigned max_kbps,
			      unsigned max_burst_kbps, json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ char *path = NULL;
	json_t *body = json_pack("{s:s}", "name", name);
	const char *id;
	int r;

	if (name_taken(nb, &k_qos, name)) {
		json_decref(body);
		set_errmsg(reterr_msg, "QoS policy \"%s\" already exists", name);
		return -EEXIST;
	}
	if (*nb->project)
		json_object_set_new(body, "project_id", json_string(nb->project));
	r = api(nb, "POST", "/qos/policies", json_pack("{s:o}", "policy", body), &res, reterr_msg);
	if (r < 0)
		return r;
	id = json_object_get_str(json_object_get(res, "policy"), "id");
	if (!id || asprintf(&path, "/qos/policies/%s/bandwidth_limit_rules", id) < 0)
		return -ENOMEM;
	r = api(nb, "POST", path,
		json_pack("{s:{s:i, s:i}}", "bandwidth_limit_rule", "max_kbps", (int)max_kbps,
			  "max_burst_kbps", (int)max_burst_kbps),
		NULL, reterr_msg);
	if (r == 0)
		r = tag_after(nb, "/qos/policies", id, reterr_msg);
	if (r < 0) {
		(void)api_delete(nb, "/qos/policies", id, NULL); /* no policy without its limit */
		return r;
	}
	*ret = json_pack("{s:s, s:s, s:i, s:i}", "id", id, "name", name, "max_kbps", (int)max_kbps,
			 "max_burst_kbps", (int)max_burst_kbps);
	return 0;
}

static int neutron_qos_delete(struct backend *b, const char *qos, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	char id[40];
	int r;

	r = resolve_id(nb, &k_qos, qos, NULL, id, reterr_msg);
	if (r < 0)
		return r;
	r = api_delete(nb, "/qos/policies", id, reterr_msg);
	return r == -EEXIST ? -EBUSY : r;
}

/* ---- trunks ---- */

static json_t *trunk_json(json_t *t)
{
	json_t *subs = json_array(), *sp;
	size_t i;

	json_array_foreach(json_object_get(t, "sub_ports"), i, sp) {
		json_array_append_new(
		    subs,
		    json_pack("{s:s?, s:I}", "port", json_object_get_str(sp, "port_id"), "vlan",
			      json_integer_value(json_object_get(sp, "segmentation_id"))));
	}
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:o}", "id", json_object_get_str(t, "id"),
			 "name", json_object_get_str(t, "name"), "port",
			 json_object_get_str(t, "port_id"), "status",
			 json_object_get_str(t, "status"), "subports", subs);
}

/* The trunk by id or by name, as Neutron has it. */
static int find_trunk(struct neutron_backend *nb, const char *ref, json_t **ret, char **reterr_msg)
{
	char scope[SCOPE_MAX];

	scope_of(nb, NULL, scope);
	return lookup(nb, &k_trunk, ref, scope, ret, reterr_msg);
}

static int neutron_trunk_create(struct backend *b, const char *parent, const char *name,
				json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *p = NULL, *res = NULL;
	json_t *body;
	int r;

	r = find_port(nb, parent, &p, reterr_msg);
	if (r < 0)
		return r;
	body = json_pack("{s:s, s:s}", "port_id", json_object_get_str(p, "id"), "name",
			 name ? name : "");
	if (*nb->project)
		json_object_set_new(body, "project_id", json_string(nb->project));
	r = api(nb, "POST", "/trunks", json_pack("{s:o}", "trunk", body), &res, reterr_msg);
	if (r < 0)
		return r;
	r = tag_after(nb, "/trunks", json_object_get_str(json_object_get(res, "trunk"), "id"),
		      reterr_msg);
	if (r < 0) {
		(void)api_delete(nb, "/trunks",
				 json_object_get_str(json_object_get(res, "trunk"), "id"), NULL);
		return r;
	}
	*ret = trunk_json(json_object_get(res, "trunk"));
	return 0;
}

static int neutron_trunk_get(struct backend *b, const char *trunk, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *t = NULL;
	int r = find_trunk(to_neutron(b), trunk, &t, reterr_msg);

	if (r == 0)
		*ret = trunk_json(t);
	return r;
}

static int neutron_trunk_delete(struct backend *b, const char *trunk, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *t = NULL;
	int r;

	r = find_trunk(nb, trunk, &t, reterr_msg);
	if (r < 0)
		return r;
	return api_delete(nb, "/trunks", json_object_get_str(t, "id"), reterr_msg);
}

static int neutron_trunk_subport(struct backend *b, const char *trunk, bool add, const char *port,
				 unsigned vlan, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *t = NULL, *p = NULL;
	_cleanup_free_ char *path = NULL;
	json_t *sp;
	int r;

	if (add && (vlan < 1 || vlan > 4094)) {
		set_errmsg(reterr_msg, "VLAN %u is not in 1..4094", vlan);
		return -EINVAL;
	}
	r = find_trunk(nb, trunk, &t, reterr_msg);
	if (r == 0)
		r = find_port(nb, port, &p, reterr_msg);
	if (r < 0)
		return r;
	if (asprintf(&path, "/trunks/%s/%s", json_object_get_str(t, "id"),
		     add ? "add_subports" : "remove_subports") < 0)
		return -ENOMEM;
	sp = add ? json_pack("{s:s, s:s, s:i}", "port_id", json_object_get_str(p, "id"),
			     "segmentation_type", "vlan", "segmentation_id", (int)vlan)
		 : json_pack("{s:s}", "port_id", json_object_get_str(p, "id"));
	/* PUT: repeating it is harmless, so it is retried like a GET. */
	return api(nb, "PUT", path, json_pack("{s:[o]}", "sub_ports", sp), NULL, reterr_msg);
}

/* Poll the status of @n ports by id in one listing every 200 ms. */
static void neutron_ports_wait_up(struct backend *b, const char *const *ids, size_t n,
				  int timeout_ms, bool *ok)
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
		    api_t(nb, "GET", path, NULL, (int)(timeout_ms - spent), &res, NULL) < 0)
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

static void neutron_write_metrics(struct backend *b, FILE *f)
{
	struct os_session_stats st;

	os_session_stats(to_neutron(b)->s, &st);
	fprintf(f,
		"# HELP kuryr_neutron_requests_total Neutron API requests.\n"
		"# TYPE kuryr_neutron_requests_total counter\n"
		"kuryr_neutron_requests_total %lu\n"
		"# HELP kuryr_neutron_retries_total Neutron API requests repeated.\n"
		"# TYPE kuryr_neutron_retries_total counter\n"
		"kuryr_neutron_retries_total %lu\n"
		"# HELP kuryr_neutron_token_fetches_total Keystone tokens fetched.\n"
		"# TYPE kuryr_neutron_token_fetches_total counter\n"
		"kuryr_neutron_token_fetches_total %lu\n"
		"# HELP kuryr_neutron_requests_in_flight Neutron API requests in flight.\n"
		"# TYPE kuryr_neutron_requests_in_flight gauge\n"
		"kuryr_neutron_requests_in_flight %lu\n"
		"# HELP kuryr_neutron_requests_queued_total Requests that waited for the "
		"concurrency cap.\n"
		"# TYPE kuryr_neutron_requests_queued_total counter\n"
		"kuryr_neutron_requests_queued_total %lu\n",
		st.requests, st.retries, st.token_fetches, st.in_flight, st.waited);
}

static bool neutron_connected(struct backend *b)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;

	return api(nb, "GET", "/networks?limit=1&fields=id", NULL, &res, NULL) == 0;
}

static const char *neutron_describe(struct backend *b)
{
	return to_neutron(b)->where;
}

static void neutron_free(struct backend *b)
{
	struct neutron_backend *nb = to_neutron(b);

	os_session_free(nb->s);
	for (char **g = nb->security_groups; g && *g; g++)
		free(*g);
	free(nb->security_groups);
	free(nb->pod_subnet);
	free(nb->bridge);
	free(nb->qos_policy);
	free(nb->project);
	free(nb->host);
	free(nb->where);
	json_decref(nb->tags);
	free(nb->tags_query);
	free(nb);
}

static const struct backend_ops neutron_ops = {
	.name = "neutron",
	.network_create = neutron_network_create,
	.network_get = neutron_network_get,
	.network_list = neutron_network_list,
	.network_delete = neutron_network_delete,
	.port_create = neutron_port_create,
	.port_create_bulk = neutron_port_create_bulk,
	.port_get = neutron_port_get,
	.port_list = neutron_port_list,
	.port_delete = neutron_port_delete,
	.port_wait_up = neutron_port_wait_up,
	.ports_wait_up = neutron_ports_wait_up,
	.port_set_device = neutron_port_set_device,
	.trunk_create = neutron_trunk_create,
	.trunk_get = neutron_trunk_get,
	.trunk_delete = neutron_trunk_delete,
	.trunk_subport = neutron_trunk_subport,
	.sg_create = neutron_sg_create,
	.sg_get = neutron_sg_get,
	.sg_rule_add = neutron_sg_rule_add,
	.sg_delete = neutron_sg_delete,
	.qos_create = neutron_qos_create,
	.qos_delete = neutron_qos_delete,
	.connected = neutron_connected,
	.describe = neutron_describe,
	.write_metrics = neutron_write_metrics,
	.caps = BACKEND_CAP_PORT_POLICIES | BACKEND_CAP_SECURITY_GROUPS | BACKEND_CAP_QOS |
		BACKEND_CAP_TRUNKS | BACKEND_CAP_ACTIVE_AFTER_PLUG,
	.free = neutron_free,
};

int backend_neutron_new(const struct neutron_opts *o, struct backend **ret, char **reterr_msg)
{
	const struct os_auth_config *a = o->auth;
	struct neutron_backend *nb;
	int r;

	if (*a->endpoint_override && strncmp(a->endpoint_override, "http://", 7) != 0 &&
	    strncmp(a->endpoint_override, "https://", 8) != 0) {
		set_errmsg(reterr_msg, "[neutron] endpoint_override \"%s\" is not an http(s) URL",
			   a->endpoint_override);
		return -EINVAL;
	}
	nb = calloc(1, sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	nb->base.ops = &neutron_ops;
	nb->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
	/* Without Keystone, Neutron needs the project in every body; with
	 * it, the token's project unless one is configured. */
	nb->project = strdup(o->project && *o->project	    ? o->project
			     : a->auth_type == OS_AUTH_NONE ? "kuryr"
							    : "");
	nb->host = strdup(o->host);
	nb->where = *a->endpoint_override ? strdup_printf("neutron=%s", a->endpoint_override)
					  : strdup_printf("keystone=%s", a->auth_url);
	nb->pod_subnet = strdup(o->pod_subnet ? o->pod_subnet : "");
	nb->bridge = strdup(o->bridge ? o->bridge : "");
	nb->qos_policy = strdup(o->qos_policy ? o->qos_policy : "");
	if (o->security_groups) {
		size_t n = 0;

		while (o->security_groups[n])
			n++;
		nb->security_groups = calloc(n + 1, sizeof(char *));
		for (size_t i = 0; nb->security_groups && i < n; i++)
			if (!(nb->security_groups[i] = strdup(o->security_groups[i]))) {
				neutron_free(&nb->base);
				return -ENOMEM;
			}
		if (!nb->security_groups) {
			neutron_free(&nb->base);
			return -ENOMEM;
		}
	}
	atomic_init(&nb->tags_in_body, -1);
	nb->tags_query = strdup("");
	if (o->resource_tags && *o->resource_tags) {
		_cleanup_free_ char *joined = NULL, *e = NULL;

		nb->tags = json_array();
		for (const char *const *t = o->resource_tags; nb->tags && *t; t++) {
			char *j =
			    strdup_printf("%s%s%s", joined ? joined : "", joined ? "," : "", *t);

			if (!j) {
				neutron_free(&nb->base);
				return -ENOMEM;
			}
			free(joined);
			joined = j;
			json_array_append_new(nb->tags, json_string(*t));
		}
		e = joined ? escape(joined) : NULL;
		free(nb->tags_query);
		nb->tags_query = e ? strdup_printf("&tags=%s", e) : NULL;
	}
	if (!nb->project || !nb->host || !nb->where || !nb->pod_subnet || !nb->bridge ||
	    !nb->qos_policy || !nb->tags_query) {
		neutron_free(&nb->base);
		return -ENOMEM;
	}
	r = os_session_new(&(struct os_session_opts){ .auth = a,
						      .service_type = "network",
						      .timeout_ms = nb->timeout_ms,
						      .max_concurrent = o->max_concurrent },
			   &nb->s, reterr_msg);
	if (r < 0) {
		neutron_free(&nb->base);
		return r;
	}
	*ret = &nb->base;
	return 0;
}

int backend_neutron_login(struct backend *b, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	int r = os_session_login(nb->s, reterr_msg);

	/* Ask once, now, whether port creates can carry resource_tags, so the
	 * first ADD does not (only if Neutron cannot say yet). */
	if (r == 0)
		(void)tags_in_body(nb);
	return r;
}
