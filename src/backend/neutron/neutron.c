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
 *              which is also the OVS iface-id ML2/OVN expects. A nested
 *              container's port (port_spec.subport) has neither host nor
 *              device_id: the trunk plugin binds it as its parent; one
 *              that only reserves an address (port_spec.unbound) has no
 *              host and is bound by nobody.
 *   move    -> binding:profile migrating_to = the target node (ML2/OVN:
 *              requested-chassis both, activation-strategy rarp), then
 *              binding:host_id = the target, a container's port.
 *   pool    -> device_owner "compute:kuryr", description = its pool's key,
 *              device_id = the container using it ("" while ready), written
 *              after the fact, off the ADD/DEL path.
 *   router, floating IP -> Neutron's (router.c); an external network is a
 *              flat provider network with router:external.
 *   load balancer -> Octavia's, provider ovn (lb.c, octavia.c). */
#include <stdatomic.h>
#include <curl/curl.h>
#include <stdio.h>

#include "neutron-private.h"

/* One Neutron API call (@path under /v2.0). @body (stolen) may be NULL.
 * GET, PUT and DELETE are retried; a POST only when it provably did not
 * reach Neutron. */
static int api_status(struct neutron_backend *nb, const char *method, const char *path,
		      const char *header, json_t *body, int timeout_ms, json_t **ret,
		      long *ret_status, char **reterr_msg)
{
	_cleanup_free_ char *full = NULL;
	int r;

	if (asprintf(&full, "/v2.0%s", path) < 0) {
		json_decref(body);
		return -ENOMEM;
	}
	r = os_request_hdr(nb->s, method, full, header, body, timeout_ms,
			   streq(method, "POST") ? 0 : OS_REQ_IDEMPOTENT, ret, ret_status,
			   reterr_msg);
	/* The backend contract: unreachable is -ENOTCONN, never -ENOENT. */
	return r == -ECONNREFUSED ? -ENOTCONN : r;
}

static int api(struct neutron_backend *nb, const char *method, const char *path, const char *header,
	       json_t *body, int timeout_ms, json_t **ret, char **reterr_msg)
{
	return api_status(nb, method, path, header, body, timeout_ms, ret, NULL, reterr_msg);
}

int neutron_api_status(struct neutron_backend *nb, const char *method, const char *path,
		       json_t *body, json_t **ret, long *ret_status, char **reterr_msg)
{
	return api_status(nb, method, path, NULL, body, nb->timeout_ms, ret, ret_status,
			  reterr_msg);
}

int neutron_api_t(struct neutron_backend *nb, const char *method, const char *path, json_t *body,
		  int timeout_ms, json_t **ret, char **reterr_msg)
{
	return api(nb, method, path, NULL, body, timeout_ms, ret, reterr_msg);
}

int neutron_api_if_match(struct neutron_backend *nb, const char *method, const char *path,
			 long revision, json_t *body, json_t **ret, char **reterr_msg)
{
	char h[48];

	snprintf(h, sizeof(h), "If-Match: revision_number=%ld", revision);
	return api(nb, method, path, h, body, nb->timeout_ms, ret, reterr_msg);
}

int neutron_api(struct neutron_backend *nb, const char *method, const char *path, json_t *body,
		json_t **ret, char **reterr_msg)
{
	return neutron_api_t(nb, method, path, body, nb->timeout_ms, ret, reterr_msg);
}

/* DELETE @collection/@id ("/ports", "/trunks", ...). */
int neutron_api_delete(struct neutron_backend *nb, const char *collection, const char *id,
		       char **reterr_msg)
{
	_cleanup_free_ char *path = NULL;

	if (!id || asprintf(&path, "%s/%s", collection, id) < 0)
		return -ENOMEM;
	return neutron_api(nb, "DELETE", path, NULL, NULL, reterr_msg);
}

char *neutron_escape(const char *s)
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
int neutron_tag_after(struct neutron_backend *nb, const char *collection, const char *id,
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
		return neutron_api(nb, "PUT", path, json_pack("{s:O}", "tags", nb->tags), NULL,
				   reterr_msg);
	json_array_foreach(nb->tags, i, t) {
		_cleanup_free_ char *one = NULL, *e = neutron_escape(json_string_value(t));
		int r;

		if (!e || asprintf(&one, "%s/%s", path, e) < 0)
			return -ENOMEM;
		r = neutron_api(nb, "PUT", one, NULL, NULL, reterr_msg);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Whether port creates can carry the tags; asked of Neutron once (at
 * login, or at the first create if Neutron could not answer then). */
bool neutron_tags_in_body(struct neutron_backend *nb)
{
	int known = atomic_load(&nb->tags_in_body);
	int r;

	if (!nb->tags)
		return false;
	if (known >= 0)
		return known;
	r = neutron_api(nb, "GET", "/extensions/tag-ports-during-bulk-creation", NULL, NULL, NULL);
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
int neutron_list_all(struct neutron_backend *nb, const char *path, const char *key, json_t **ret,
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
		r = neutron_api(nb, "GET", page, NULL, &res, reterr_msg);
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

	return neutron_api(nb, "GET", "/networks?limit=1&fields=id", NULL, &res, NULL) == 0;
}

static const char *neutron_describe(struct backend *b)
{
	return to_neutron(b)->where;
}

static void neutron_free(struct backend *b)
{
	struct neutron_backend *nb = to_neutron(b);

	os_session_free(nb->s);
	octavia_free(nb);
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
	.port_update = neutron_port_update,
	.port_by_mac = neutron_port_by_mac,
	.port_bind = neutron_port_bind,
	.port_move = neutron_port_move,
	.port_wait_up = neutron_port_wait_up,
	.ports_wait_up = neutron_ports_wait_up,
	.port_set_device = neutron_port_set_device,
	.trunk_create = neutron_trunk_create,
	.trunk_get = neutron_trunk_get,
	.trunk_delete = neutron_trunk_delete,
	.trunk_subport = neutron_trunk_subport,
	.trunk_subports_add = neutron_trunk_subports_add,
	.trunk_by_parent_mac = neutron_trunk_by_parent_mac,
	.sg_create = neutron_sg_create,
	.sg_get = neutron_sg_get,
	.sg_list = neutron_sg_list,
	.sg_rule_add = neutron_sg_rule_add,
	.sg_rule_delete = neutron_sg_rule_delete,
	.sg_delete = neutron_sg_delete,
	.qos_create = neutron_qos_create,
	.qos_get = neutron_qos_get,
	.qos_list = neutron_qos_list,
	.qos_delete = neutron_qos_delete,
	.router_create = neutron_router_create,
	.router_get = neutron_router_get,
	.router_list = neutron_router_list,
	.router_delete = neutron_router_delete,
	.router_interface = neutron_router_interface,
	.router_gateway = neutron_router_gateway,
	.fip_create = neutron_fip_create,
	.fip_list = neutron_fip_list,
	.fip_delete = neutron_fip_delete,
	.lb_create = neutron_lb_create,
	.lb_get = neutron_lb_get,
	.lb_list = neutron_lb_list,
	.lb_delete = neutron_lb_delete,
	.lb_pool_create = neutron_lb_pool_create,
	.lb_pool_get = neutron_lb_pool_get,
	.lb_pool_delete = neutron_lb_pool_delete,
	.lb_member_add = neutron_lb_member_add,
	.lb_member_remove = neutron_lb_member_remove,
	.connected = neutron_connected,
	.describe = neutron_describe,
	.write_metrics = neutron_write_metrics,
	.caps = BACKEND_CAP_PORT_POLICIES | BACKEND_CAP_SECURITY_GROUPS | BACKEND_CAP_QOS |
		BACKEND_CAP_TRUNKS | BACKEND_CAP_ACTIVE_AFTER_PLUG | BACKEND_CAP_ROUTERS |
		BACKEND_CAP_VIRTUAL_PAIRS |
		/* Always: a cloud without Octavia answers -EOPNOTSUPP. */
		BACKEND_CAP_LOADBALANCERS,
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
		e = joined ? neutron_escape(joined) : NULL;
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
	if (r == 0)
		r = octavia_new(nb, o, reterr_msg);
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
		(void)neutron_tags_in_body(nb);
	return r;
}
