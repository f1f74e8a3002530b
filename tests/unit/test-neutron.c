/* SPDX-License-Identifier: Apache-2.0 */
/* The Neutron backend against small in-process servers. Listings page
 * like Neutron (limit + marker, sorted by id): more ports than fit a page
 * are all read, each once, with their networks' names from one network
 * listing, and only the fields kuryrd uses are asked for; a server that
 * caps its pages is followed by its "next" links. resource_tags: in the
 * create request where Neutron has tag-ports-during-bulk-creation, else
 * one PUT per port after it (a failed one deletes the port); listings of
 * kuryr's ports filter on them. A port lookup Neutron cannot answer is
 * not "gone". A port bound for another bridge is refused and deleted.
 * Networks, subnets, security groups, QoS policies, trunks and ports are
 * found by id or by name; a name resolves among the project's own and
 * shared objects only (the project configured or the token's) and is
 * refused, naming every candidate's id, when several have it; so are
 * routers. A floating IP or a router's gateway on a network that is not
 * external is refused before Neutron is asked. Of add_subports' 409s only
 * a VLAN id taken is -EEXIST; a nested port is made unbound. One allowed
 * address pair added or removed is a PUT conditional on the port's
 * revision_number, read and tried again on 412; a port by MAC is the one
 * whose own MAC it is; a port moves between nodes by its binding:profile
 * and binding:host_id, by conditional PUTs too. A load balancer change
 * waits while Octavia has it locked and repeats what a 409 refused; without
 * an Octavia the verbs say how to name one. The real neutron-server (and
 * Octavia) are exercised by the e2e suites. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "backend/neutron.h"
#include "json-util.h"
#include "macro.h"
#include "openstack/auth.h"

#define N_PORTS 1203

struct server {
	struct MHD_Daemon *d;
	atomic_int port_pages, network_pages, unfielded;
	/* Like pagination_max_limit: pages no larger than this, with
	 * "<key>_links" as Neutron sends them. 0: as asked, no links. */
	long max_limit;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *data_size, void **con_cls)
{
	struct server *s = cls;
	const char *limit = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	const char *marker = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "marker");
	long lim = limit ? strtol(limit, NULL, 10) : N_PORTS;
	json_t *items = json_array();
	bool more = false;
	const char *key;

	if (s->max_limit && lim > s->max_limit)
		lim = s->max_limit;
	if (streq(url, "/v2.0/networks")) {
		atomic_fetch_add(&s->network_pages, 1);
		key = "networks";
		if (!marker)
			json_array_append_new(items,
					      json_pack("{s:s, s:s}", "id", "net-1", "name", "n1"));
	} else if (streq(url, "/v2.0/ports")) {
		int first = 0;

		atomic_fetch_add(&s->port_pages, 1);
		if (!MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fields"))
			atomic_fetch_add(&s->unfielded, 1);
		key = "ports";
		/* Ids "p0000".."p1202" sort as their numbers do. */
		if (marker)
			first = (int)strtol(marker + 1, NULL, 10) + 1;
		for (int i = first; i < N_PORTS && i < first + lim; i++) {
			char id[24], dev[24], mac[18], ip[24];

			snprintf(id, sizeof(id), "p%04d", i);
			snprintf(dev, sizeof(dev), "c%04d", i);
			snprintf(mac, sizeof(mac), "fa:16:3e:00:%02x:%02x", i / 256, i % 256);
			snprintf(ip, sizeof(ip), "10.9.%d.%d", i / 250, i % 250 + 2);
			json_array_append_new(
			    items, json_pack("{s:s, s:s, s:s, s:s, s:[{s:s}], s:s, s:s, s:s, s:s}",
					     "id", id, "name", id, "network_id", "net-1",
					     "mac_address", mac, "fixed_ips", "ip_address", ip,
					     "status", "ACTIVE", "device_owner", "compute:kuryr",
					     "device_id", dev, "binding:host_id", "node-a"));
		}
		more = first + lim < N_PORTS;
	} else {
		json_decref(items);
		return reply(c, 404, strdup("{\"NeutronError\":{\"message\":\"no\"}}"));
	}
	{
		_cleanup_json_ json_t *page = json_pack("{s:o}", key, items);

		if (s->max_limit) {
			char name[32];

			snprintf(name, sizeof(name), "%s_links", key);
			json_object_set_new(
			    page, name,
			    more ? json_pack("[{s:s, s:s}]", "rel", "next", "href", "http://x/next")
				 : json_array());
		}
		return reply(c, 200, json_dumps(page, JSON_COMPACT));
	}
}

/* ---- resource_tags ---- */

struct tag_server {
	struct MHD_Daemon *d;
	bool has_ext, fail_put, fail_get_port;
	const char *bridge; /* vif_details.bridge_name of new ports, or none */
	atomic_int probes, posts, posts_with_tags, puts, deletes, next_id;
	char put_body[256], list_tags[64];
};

struct upload {
	char *data;
	size_t len;
};

static enum MHD_Result tag_handler(void *cls, struct MHD_Connection *c, const char *url,
				   const char *method, const char *version, const char *data,
				   size_t *data_size, void **con_cls)
{
	struct tag_server *s = cls;
	struct upload *u = *con_cls;
	_cleanup_json_ json_t *req = NULL;

	if (!u) {
		*con_cls = calloc(1, sizeof(*u));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*data_size) {
		char *n = realloc(u->data, u->len + *data_size + 1);

		if (!n)
			return MHD_NO;
		memcpy(n + u->len, data, *data_size);
		u->data = n;
		u->len += *data_size;
		u->data[u->len] = 0;
		*data_size = 0;
		return MHD_YES;
	}
	req = u->data ? json_loads(u->data, 0, NULL) : NULL;
	free(u->data);
	free(u);
	*con_cls = NULL;

	if (streq(url, "/v2.0/extensions/tag-ports-during-bulk-creation")) {
		atomic_fetch_add(&s->probes, 1);
		return s->has_ext ? reply(c, 200, strdup("{\"extension\":{}}"))
				  : reply(c, 404, strdup("{\"NeutronError\":{}}"));
	}
	if (streq(method, "POST") && streq(url, "/v2.0/ports")) {
		json_t *in = json_object_get(req, "ports"), *out = json_array(), *p;
		size_t i;

		if (!in)
			in = json_pack("[O]", json_object_get(req, "port"));
		else
			json_incref(in);
		atomic_fetch_add(&s->posts, 1);
		json_array_foreach(in, i, p) {
			char id[37];

			if (json_object_get(p, "tags"))
				atomic_fetch_add(&s->posts_with_tags, 1);
			snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d",
				 atomic_fetch_add(&s->next_id, 1));
			json_array_append_new(
			    out,
			    json_pack("{s:s, s:s, s:s, s:[{s:s}], s:s, s:s, s:o}", "id", id,
				      "network_id", "net-1", "mac_address", "fa:16:3e:00:00:01",
				      "fixed_ips", "ip_address", "10.9.0.5", "status", "DOWN",
				      "binding:vif_type", "ovs", "binding:vif_details",
				      s->bridge ? json_pack("{s:s}", "bridge_name", s->bridge)
						: json_object()));
		}
		{
			_cleanup_json_ json_t *res =
			    json_object_get(req, "ports")
				? json_pack("{s:o}", "ports", out)
				: json_pack("{s:O}", "port", json_array_get(out, 0));

			if (!json_object_get(req, "ports"))
				json_decref(out);
			json_decref(in);
			return reply(c, 201, json_dumps(res, JSON_COMPACT));
		}
	}
	if (streq(method, "PUT") && strstr(url, "/tags")) {
		_cleanup_free_ char *body = json_dumps(json_object_get(req, "tags"), JSON_COMPACT);

		atomic_fetch_add(&s->puts, 1);
		snprintf(s->put_body, sizeof(s->put_body), "%s", body ? body : "");
		return s->fail_put ? reply(c, 500, strdup("{\"NeutronError\":{}}"))
				   : reply(c, 200, strdup("{\"tags\":[]}"));
	}
	if (streq(method, "GET") && strncmp(url, "/v2.0/ports/", 12) == 0 && s->fail_get_port)
		return reply(c, 503, strdup("{\"NeutronError\":{}}"));
	if (streq(method, "GET") && strncmp(url, "/v2.0/ports/", 12) == 0)
		return reply(c, 200, strdup_printf("{\"port\":{\"id\":\"%s\"}}", url + 12));
	if (streq(method, "DELETE") && strncmp(url, "/v2.0/ports/", 12) == 0) {
		atomic_fetch_add(&s->deletes, 1);
		return reply(c, 204, strdup(""));
	}
	if (streq(method, "GET") && streq(url, "/v2.0/ports")) {
		const char *t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "tags");

		snprintf(s->list_tags, sizeof(s->list_tags), "%s", t ? t : "");
		return reply(c, 200, strdup("{\"ports\":[]}"));
	}
	if (streq(method, "GET") && streq(url, "/v2.0/networks"))
		return reply(c, 200, strdup("{\"networks\":[]}"));
	return reply(c, 404, strdup("{\"NeutronError\":{\"message\":\"no\"}}"));
}

static struct backend *tag_backend(struct tag_server *s, struct os_auth_config *auth)
{
	static const char *const tags[] = { "kuryr", "site-7", NULL };
	_cleanup_free_ char *err = NULL;
	struct backend *b = NULL;
	char url[64];

	s->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
				NULL, NULL, tag_handler, s, MHD_OPTION_SOCK_ADDR,
				&(struct sockaddr_in){ .sin_family = AF_INET,
						       .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
				MHD_OPTION_END);
	assert_non_null(s->d);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u",
		 MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT)->port);
	assert_int_equal(os_auth_config_init(auth), 0);
	assert_int_equal(os_auth_config_set(auth, "endpoint_override", url, NULL), 0);
	assert_int_equal(backend_neutron_new(&(struct neutron_opts){ .auth = auth,
								     .host = "node-a",
								     .timeout_ms = 1500,
								     .resource_tags = tags,
								     .bridge = "br-kuryr" },
					     &b, &err),
			 0);
	return b;
}

static const struct kuryr_network tag_net = {
	.name = "n1", .id = "net-1", .cidr = "10.9.0.0/24", .subnet_id = "sub-1"
};

static void create_pool_ports(struct backend *b, struct kuryr_port ports[3])
{
	_cleanup_free_ char *err = NULL;

	assert_int_equal(b->ops->port_create_bulk(b,
						  &(struct port_spec){ .network = "n1",
								       .net = &tag_net,
								       .owner = PORT_OWNER_POOL,
								       .pool_key = "n1" },
						  3, ports, &err),
			 0);
}

static void test_tags_without_extension(void **state)
{
	struct tag_server s = { 0 };
	struct os_auth_config auth;
	struct backend *b = tag_backend(&s, &auth);
	_cleanup_free_ struct kuryr_port *listed = NULL;
	_cleanup_free_ char *err = NULL;
	struct kuryr_port ports[3], one;
	size_t n;

	create_pool_ports(b, ports);
	/* Asked once whether creates carry tags; then one PUT per port. */
	assert_int_equal(atomic_load(&s.probes), 1);
	assert_int_equal(atomic_load(&s.posts), 1);
	assert_int_equal(atomic_load(&s.posts_with_tags), 0);
	assert_int_equal(atomic_load(&s.puts), 3);
	assert_string_equal(s.put_body, "[\"kuryr\",\"site-7\"]");

	assert_int_equal(b->ops->port_create(b,
					     &(struct port_spec){ .network = "n1",
								  .net = &tag_net,
								  .owner = PORT_OWNER_CONTAINER,
								  .device_id = "c1" },
					     &one, &err),
			 0);
	assert_int_equal(atomic_load(&s.probes), 1);
	assert_int_equal(atomic_load(&s.puts), 4);

	/* A port that cannot be tagged is not kept. */
	s.fail_put = true;
	assert_true(b->ops->port_create(b,
					&(struct port_spec){ .network = "n1",
							     .net = &tag_net,
							     .owner = PORT_OWNER_CONTAINER,
							     .device_id = "c2" },
					&one, &err) < 0);
	assert_non_null(strstr(err, "/tags"));
	assert_int_equal(atomic_load(&s.deletes), 1);

	/* kuryr's ports are listed with the tags as a filter. */
	assert_int_equal(b->ops->port_list(b, NULL, &listed, &n, &err), 0);
	assert_string_equal(s.list_tags, "kuryr,site-7");

	backend_free(b);
	os_auth_config_release(&auth);
	MHD_stop_daemon(s.d);
}

static void test_tags_with_extension(void **state)
{
	struct tag_server s = { .has_ext = true };
	struct os_auth_config auth;
	struct backend *b = tag_backend(&s, &auth);
	struct kuryr_port ports[3];

	/* Asked at start, not on the first create. */
	assert_int_equal(backend_neutron_login(b, NULL), 0);
	assert_int_equal(atomic_load(&s.probes), 1);
	create_pool_ports(b, ports);
	assert_int_equal(atomic_load(&s.probes), 1);
	assert_int_equal(atomic_load(&s.posts_with_tags), 3);
	assert_int_equal(atomic_load(&s.puts), 0);

	backend_free(b);
	os_auth_config_release(&auth);
	MHD_stop_daemon(s.d);
}

/* A Neutron that cannot say whether a port exists (503) does not make
 * it look gone: a rollback that took that for "already deleted" would
 * forget a port that is still there. */
static void test_port_delete_unsure_is_not_gone(void **state)
{
	struct tag_server s = { .has_ext = true, .fail_get_port = true };
	struct os_auth_config auth;
	struct backend *b = tag_backend(&s, &auth);
	_cleanup_free_ char *err = NULL;
	int r;

	r = b->ops->port_delete(b, "00000000-0000-4000-8000-000000000007", &err);
	assert_true(r < 0);
	assert_int_not_equal(r, -ENOENT);
	assert_int_equal(atomic_load(&s.deletes), 0);

	backend_free(b);
	os_auth_config_release(&auth);
	MHD_stop_daemon(s.d);
}

static void port_list_pages(long max_limit, int pages)
{
	struct server s = { .max_limit = max_limit };
	struct os_auth_config auth;
	struct backend *b = NULL;
	_cleanup_free_ struct kuryr_port *ports = NULL;
	_cleanup_free_ char *err = NULL;
	char url[64];
	size_t n = 0;

	s.d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
			       NULL, NULL, handler, &s, MHD_OPTION_SOCK_ADDR,
			       &(struct sockaddr_in){ .sin_family = AF_INET,
						      .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
			       MHD_OPTION_END);
	assert_non_null(s.d);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u",
		 MHD_get_daemon_info(s.d, MHD_DAEMON_INFO_BIND_PORT)->port);
	assert_int_equal(os_auth_config_init(&auth), 0);
	assert_int_equal(os_auth_config_set(&auth, "endpoint_override", url, NULL), 0);
	assert_int_equal(backend_neutron_new(
			     &(struct neutron_opts){ .auth = &auth, .host = "node-a" }, &b, &err),
			 0);

	assert_int_equal(b->ops->port_list(b, NULL, &ports, &n, &err), 0);
	assert_int_equal(n, N_PORTS);
	for (size_t i = 0; i < n; i++) {
		char id[24], dev[24];

		snprintf(id, sizeof(id), "p%04zu", i);
		snprintf(dev, sizeof(dev), "c%04zu", i);
		assert_string_equal(ports[i].name, id);
		assert_string_equal(ports[i].device_id, dev);
		assert_string_equal(ports[i].network, "n1");
		assert_string_equal(ports[i].host, "node-a");
		assert_int_equal(ports[i].owner, PORT_OWNER_CONTAINER);
		assert_true(ports[i].up);
	}
	assert_int_equal(atomic_load(&s.port_pages), pages);
	assert_int_equal(atomic_load(&s.network_pages), 1);
	assert_int_equal(atomic_load(&s.unfielded), 0);

	backend_free(b);
	os_auth_config_release(&auth);
	MHD_stop_daemon(s.d);
}

/* 500 + 500 + 203: three pages of ports, one of networks. */
/* Where Neutron names the bridge a port is bound for (newer ML2/OVN does;
 * Zed's does not, so the e2e suites cannot show this), a node that plugs
 * into another bridge refuses the port, naming both, and deletes it. */
static void test_port_on_another_bridge(void **state)
{
	struct tag_server s = { .has_ext = true, .bridge = "br-ex" };
	struct os_auth_config auth;
	struct backend *b = tag_backend(&s, &auth); /* its node plugs into br-kuryr */
	_cleanup_free_ char *err = NULL;
	struct kuryr_port p;

	assert_int_equal(b->ops->port_create(b,
					     &(struct port_spec){ .network = "n1",
								  .net = &tag_net,
								  .owner = PORT_OWNER_CONTAINER,
								  .device_id = "c1" },
					     &p, &err),
			 -EPROTONOSUPPORT);
	assert_non_null(strstr(err, "br-ex"));
	assert_non_null(strstr(err, "br-kuryr"));
	assert_int_equal(atomic_load(&s.deletes), 1);

	s.bridge = "br-kuryr";
	assert_int_equal(b->ops->port_create(b,
					     &(struct port_spec){ .network = "n1",
								  .net = &tag_net,
								  .owner = PORT_OWNER_CONTAINER,
								  .device_id = "c2" },
					     &p, NULL),
			 0);
	assert_int_equal(atomic_load(&s.deletes), 1);

	backend_free(b);
	os_auth_config_release(&auth);
	MHD_stop_daemon(s.d);
}

static void test_port_list_pages(void **state)
{
	port_list_pages(0, 3);
}

/* A Neutron whose pagination_max_limit (100) is below the page asked for:
 * thirteen pages, followed by their "next" links. */
static void test_port_list_capped_pages(void **state)
{
	port_list_pages(100, 13);
}

/* ---- names and ids ---- */

/* A Neutron with objects of several projects, as admin credentials see it:
 * listings filter on name, id, project_id, network_id and shared like
 * Neutron's (so a lookup that asks for project_id gets only those), GET by
 * id, POST /ports recorded, and a Keystone that scopes tokens to proj-a. */
struct world {
	struct MHD_Daemon *d;
	json_t *objs; /* collection key -> array */
	atomic_int port_posts;
	char posted[1024]; /* the last POST /ports's "port" */
	/* PUT /ports/ID: how many came, and how many more find the port
	 * changed by another writer (a pair of its own) since it was read. */
	atomic_int port_puts, races;
	/* PUTs of a port before which another node begins moving it. */
	atomic_int steals;
	/* PUT .../add_subports: how many came, and the last one's body. */
	atomic_int subport_puts;
	char subports_put[1024];
};

#define ID(n)	  "aaaaaaaa-0000-4000-8000-0000000000" #n
/* A network's name that looks like an id (and is nobody's). */
#define UUID_NAME "bbbbbbbb-0000-4000-8000-000000000099"

static const struct {
	const char *prefix, *key, *one;
} collections[] = {
	{ "/v2.0/networks", "networks", "network" },
	{ "/v2.0/subnets", "subnets", "subnet" },
	{ "/v2.0/security-groups", "security_groups", "security_group" },
	{ "/v2.0/qos/policies", "policies", "policy" },
	{ "/v2.0/trunks", "trunks", "trunk" },
	{ "/v2.0/ports", "ports", "port" },
	{ "/v2.0/routers", "routers", "router" },
	{ "/v2.0/floatingips", "floatingips", "floatingip" },
};

static json_t *obj(const char *id, const char *name, const char *project, bool shared)
{
	return json_pack("{s:s, s:s, s:s, s:b}", "id", id, "name", name, "project_id", project,
			 "shared", shared);
}

static json_t *world_objects(void)
{
	json_t *nets = json_array(), *subs = json_array(), *o, *gold;
	size_t i;

	/* Listed first where a lookup that takes the first would take it. */
	json_array_append_new(nets, obj(ID(02), "net-a", "proj-b", false));
	json_array_append_new(nets, obj(ID(01), "net-a", "proj-a", false));
	json_array_append_new(nets, obj(ID(03), "only-b", "proj-b", false));
	json_array_append_new(nets, obj(ID(05), "provider", "proj-b", false));
	json_array_append_new(nets, obj(ID(04), "provider", "admin", true));
	json_array_append_new(nets, obj(ID(06), "dup", "proj-a", false));
	json_array_append_new(nets, obj(ID(07), "dup", "proj-a", false));
	json_array_append_new(nets, obj(ID(08), UUID_NAME, "proj-a", false));
	json_array_append_new(nets, obj(ID(09), "two-pods", "proj-a", false));
	json_array_foreach(nets, i, o) {
		char sid[64], cidr[64];

		json_object_set_new(o, "mtu", json_integer(1442));
		snprintf(sid, sizeof(sid), "cccccccc-0000-4000-8000-0000000000%02u",
			 (unsigned)i % 100);
		snprintf(cidr, sizeof(cidr), "10.50.%u.0/24", (unsigned)i % 250);
		json_array_append_new(subs,
				      json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", sid, "name",
						"sub", "network_id", json_object_get_str(o, "id"),
						"cidr", cidr, "gateway_ip", "10.50.0.1"));
	}
	/* Network two-pods has two more subnets, both named "pods". */
	json_array_append_new(subs, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", ID(91), "name",
					      "pods", "network_id", ID(09), "cidr", "10.51.0.0/24",
					      "gateway_ip", "10.51.0.1"));
	json_array_append_new(subs, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", ID(92), "name",
					      "pods", "network_id", ID(09), "cidr", "10.52.0.0/24",
					      "gateway_ip", "10.52.0.1"));
	/* Policy gold limits both ways and marks, as Neutron lists rules. */
	gold = obj(ID(21), "gold", "admin", true);
	json_object_set_new(gold, "rules",
			    json_pack("[{s:s, s:s, s:i, s:i}, {s:s, s:s, s:i, s:i}, {s:s, s:i}]",
				      "type", "bandwidth_limit", "direction", "ingress", "max_kbps",
				      500, "max_burst_kbps", 0, "type", "bandwidth_limit",
				      "direction", "egress", "max_kbps", 2000, "max_burst_kbps",
				      200, "type", "dscp_marking", "dscp_mark", 26));
	return json_pack(
	    "{s:o, s:o, s:[o,o,o,o,o,o,o,o], s:[o,o,o,o], s:[o,o], s:[o,o]}", "networks", nets,
	    "subnets", subs, "security_groups", obj(ID(11), "web", "proj-b", false),
	    obj(ID(12), "web", "proj-a", false), obj(ID(13), "default", "proj-b", false),
	    obj(ID(14), "default", "proj-a", false), obj(ID(15), "open", "admin", true),
	    obj(ID(16), "dupsg", "proj-a", false), obj(ID(17), "dupsg", "proj-a", false),
	    obj(ID(18), UUID_NAME, "proj-a", false), "policies", gold,
	    obj(ID(22), "dupq", "proj-a", false), obj(ID(23), "dupq", "proj-a", false),
	    obj(ID(24), "slow", "proj-b", false), "trunks", obj(ID(31), "vmtrunk", "proj-b", false),
	    obj(ID(32), "vmtrunk", "proj-a", false), "ports", obj(ID(41), "twin", "proj-a", false),
	    obj(ID(42), "twin", "proj-b", false));
}

static bool matches(struct MHD_Connection *c, json_t *o)
{
	static const char *const filters[] = { "name", "id", "project_id", "network_id",
					       "mac_address" };
	const char *shared = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "shared");

	for (size_t i = 0; i < ELEMENTSOF(filters); i++) {
		const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, filters[i]);

		if (v && !streq_ptr(json_object_get_str(o, filters[i]), v))
			return false;
	}
	return !shared || json_is_true(json_object_get(o, "shared")) == !strcasecmp(shared, "true");
}

static enum MHD_Result world_handler(void *cls, struct MHD_Connection *c, const char *url,
				     const char *method, const char *version, const char *data,
				     size_t *data_size, void **con_cls)
{
	struct world *w = cls;
	struct upload *u = *con_cls;
	_cleanup_json_ json_t *req = NULL;

	if (!u) {
		*con_cls = calloc(1, sizeof(*u));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*data_size) {
		char *n = realloc(u->data, u->len + *data_size + 1);

		if (!n)
			return MHD_NO;
		memcpy(n + u->len, data, *data_size);
		u->data = n;
		u->len += *data_size;
		u->data[u->len] = 0;
		*data_size = 0;
		return MHD_YES;
	}
	req = u->data ? json_loads(u->data, 0, NULL) : NULL;
	free(u->data);
	free(u);
	*con_cls = NULL;

	if (streq(method, "POST") && streq(url, "/v3/auth/tokens")) {
		const char *body = "{\"token\":{\"expires_at\":\"2099-01-01T00:00:00.000000Z\","
				   "\"project\":{\"id\":\"proj-a\"},\"catalog\":[]}}";
		struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body,
									 MHD_RESPMEM_PERSISTENT);
		enum MHD_Result ret;

		MHD_add_response_header(r, "Content-Type", "application/json");
		MHD_add_response_header(r, "X-Subject-Token", "tok-1");
		ret = MHD_queue_response(c, 201, r);
		MHD_destroy_response(r);
		return ret;
	}
	if (streq(method, "POST") && streq(url, "/v2.0/ports")) {
		_cleanup_free_ char *p = json_dumps(json_object_get(req, "port"), JSON_COMPACT);

		atomic_fetch_add(&w->port_posts, 1);
		snprintf(w->posted, sizeof(w->posted), "%s", p ? p : "");
		return reply(c, 201,
			     strdup("{\"port\":{\"id\":\"" ID(
				 50) "\",\"mac_address\":\"fa:16:3e:00:00:05\","
				     "\"fixed_ips\":[{\"ip_address\":\"10.50.1.5\"}],"
				     "\"status\":\"DOWN\",\"binding:vif_type\":\"ovs\"}}"));
	}
	/* A port's update, conditional on its revision_number as Neutron's
	 * revision-if-match has it. */
	if (streq(method, "PUT") && strncmp(url, "/v2.0/ports/", 12) == 0 &&
	    !strchr(url + 12, '/')) {
		const char *m = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Match");
		json_t *o = NULL, *x;
		char want[48];
		size_t j;

		json_array_foreach(json_object_get(w->objs, "ports"), j, x)
			if (streq_ptr(json_object_get_str(x, "id"), url + 12))
				o = x;
		if (!o)
			return reply(c, 404, strdup("{\"NeutronError\":{\"message\":\"no\"}}"));
		atomic_fetch_add(&w->port_puts, 1);
		if (atomic_load(&w->races) > 0) {
			char ip[24];

			snprintf(ip, sizeof(ip), "10.50.1.%d", 90 + atomic_fetch_sub(&w->races, 1));
			json_array_append_new(json_object_get(o, "allowed_address_pairs"),
					      json_pack("{s:s, s:s}", "ip_address", ip,
							"mac_address", "fa:16:3e:00:00:99"));
			json_object_set_new(
			    o, "revision_number",
			    json_integer(json_integer_value(json_object_get(o, "revision_number")) +
					 1));
		}
		if (atomic_load(&w->steals) > 0) {
			atomic_fetch_sub(&w->steals, 1);
			json_object_set_new(o, "binding:profile",
					    json_pack("{s:s}", "migrating_to", "node-c"));
			json_object_set_new(
			    o, "revision_number",
			    json_integer(json_integer_value(json_object_get(o, "revision_number")) +
					 1));
		}
		snprintf(want, sizeof(want), "revision_number=%lld",
			 (long long)json_integer_value(json_object_get(o, "revision_number")));
		if (m && !streq(m, want))
			return reply(
			    c, 412,
			    strdup("{\"NeutronError\":{\"type\":"
				   "\"RevisionNumberConstraintFailed\",\"message\":\"moved\"}}"));
		json_object_update(o, json_object_get(req, "port"));
		json_object_set_new(
		    o, "revision_number",
		    json_integer(json_integer_value(json_object_get(o, "revision_number")) + 1));
		{
			_cleanup_json_ json_t *res = json_pack("{s:O}", "port", o);

			return reply(c, 200, json_dumps(res, JSON_COMPACT));
		}
	}
	/* Every add_subports conflicts: what with, the trunk and port tell. */
	if (streq(method, "PUT") && strstr(url, "/add_subports")) {
		_cleanup_free_ char *body = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);

		w->subport_puts++;
		snprintf(w->subports_put, sizeof(w->subports_put), "%s", body ? body : "");
		return reply(c, 409,
			     strdup("{\"NeutronError\":{\"type\":\"TrunkPortInUse\","
				    "\"message\":\"in use\"}}"));
	}
	for (size_t i = 0; streq(method, "GET") && i < ELEMENTSOF(collections); i++) {
		size_t l = strlen(collections[i].prefix);
		json_t *all = json_object_get(w->objs, collections[i].key), *o;
		size_t j;

		if (strncmp(url, collections[i].prefix, l) != 0)
			continue;
		if (url[l] == 0) {
			_cleanup_json_ json_t *res = json_pack("{s:[]}", collections[i].key);

			json_array_foreach(all, j, o) {
				if (matches(c, o))
					json_array_append(json_object_get(res, collections[i].key),
							  o);
			}
			return reply(c, 200, json_dumps(res, JSON_COMPACT));
		}
		if (url[l] != '/' || strchr(url + l + 1, '/'))
			continue;
		json_array_foreach(all, j, o) {
			if (streq_ptr(json_object_get_str(o, "id"), url + l + 1)) {
				_cleanup_json_ json_t *res =
				    json_pack("{s:O}", collections[i].one, o);

				return reply(c, 200, json_dumps(res, JSON_COMPACT));
			}
		}
	}
	return reply(c, 404, strdup("{\"NeutronError\":{\"message\":\"could not be found\"}}"));
}

/* A backend on a new world: in project proj-a by [neutron_defaults]
 * project, or (@keystone) by the project of its Keystone token. */
static struct backend *world_backend(struct world *w, struct os_auth_config *auth, bool keystone,
				     const char *pod_subnet)
{
	_cleanup_free_ char *err = NULL;
	struct backend *b = NULL;
	char url[64], ks[80];

	w->objs = world_objects();
	assert_non_null(w->objs);
	w->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
				NULL, NULL, world_handler, w, MHD_OPTION_SOCK_ADDR,
				&(struct sockaddr_in){ .sin_family = AF_INET,
						       .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
				MHD_OPTION_END);
	assert_non_null(w->d);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u",
		 MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_BIND_PORT)->port);
	snprintf(ks, sizeof(ks), "%s/v3", url);
	assert_int_equal(os_auth_config_init(auth), 0);
	assert_int_equal(os_auth_config_set(auth, "endpoint_override", url, NULL), 0);
	if (keystone) {
		static const char *const kv[] = { "auth_type",	  "password",	 "username",
						  "kuryr",	  "password",	 "secret",
						  "project_name", "proj-a-name", NULL };

		for (size_t i = 0; kv[i]; i += 2)
			assert_int_equal(os_auth_config_set(auth, kv[i], kv[i + 1], NULL), 0);
		assert_int_equal(os_auth_config_set(auth, "auth_url", ks, NULL), 0);
	}
	assert_int_equal(
	    backend_neutron_new(&(struct neutron_opts){ .auth = auth,
							.project = keystone ? NULL : "proj-a",
							.host = "node-a",
							.timeout_ms = 1500,
							.pod_subnet = pod_subnet },
				&b, &err),
	    0);
	if (keystone)
		assert_int_equal(backend_neutron_login(b, &err), 0);
	return b;
}

static void world_free(struct world *w, struct backend *b, struct os_auth_config *auth)
{
	backend_free(b);
	os_auth_config_release(auth);
	MHD_stop_daemon(w->d);
	json_decref(w->objs);
}

/* A network by its id, with its subnet. */
static void test_network_by_id(void **state)
{
	struct world w = { 0 };
	struct os_auth_config auth;
	struct backend *b = world_backend(&w, &auth, false, NULL);
	_cleanup_free_ char *err = NULL;
	struct kuryr_network n;

	assert_int_equal(b->ops->network_get(b, ID(01), &n, &err), 0);
	assert_string_equal(n.name, "net-a");
	assert_string_equal(n.id, ID(01));
	assert_string_equal(n.cidr, "10.50.1.0/24");
	world_free(&w, b, &auth);
}

/* Names that look like ids are names where no object has that id: a
 * network's, a security group's. */
static void test_name_like_uuid(void **state)
{
	struct world w = { 0 };
	struct os_auth_config auth;
	struct backend *b = world_backend(&w, &auth, false, NULL);
	_cleanup_json_ json_t *g = NULL;
	struct kuryr_network n;

	assert_int_equal(b->ops->network_get(b, UUID_NAME, &n, NULL), 0);
	assert_string_equal(n.id, ID(08));
	assert_int_equal(b->ops->sg_get(b, UUID_NAME, &g, NULL), 0);
	assert_string_equal(json_object_get_str(g, "id"), ID(18));
	world_free(&w, b, &auth);
}

/* Two networks of the project with one name: refused, naming both, like
 * the openstack CLI. */
static void test_network_ambiguous(void **state)
{
	struct world w = { 0 };
	struct os_auth_config auth;
	struct backend *b = world_backend(&w, &auth, false, NULL);
	_cleanup_free_ char *err = NULL;
	struct kuryr_network n;

	assert_int_equal(b->ops->network_get(b, "dup", &n, &err), -ENOTUNIQ);
	assert_non_null(strstr(err, "More than one network exists with the name \"dup\""));
	assert_non_null(strstr(err, ID(06)));
	assert_non_null(strstr(err, ID(07)));
	assert_non_null(strstr(err, "use an ID"));
	world_free(&w, b, &auth);
}

/* Another project's network of the same name is not taken, nor one only
 * another project has; a network another project shares is, over another
 * project's private one of that name. In project proj-a by configuration
 * or (@keystone) by the token's scope. */
static void other_projects(bool keystone)
{
	struct world w = { 0 };
	struct os_auth_config auth;
	struct backend *b = world_backend(&w, &auth, keystone, NULL);
	_cleanup_free_ char *err = NULL;
	struct kuryr_network n;

	assert_int_equal(b->ops->network_get(b, "net-a", &n, NULL), 0);
	assert_string_equal(n.id, ID(01));
	assert_int_equal(b->ops->network_get(b, "only-b", &n, &err), -ENOENT);
	assert_non_null(strstr(err, "proj-a"));
	assert_int_equal(b->ops->network_get(b, "provider", &n, NULL), 0);
	assert_string_equal(n.id, ID(04));
	/* Creating another "net-a" would make the name ambiguous. */
	assert_int_equal(
	    b->ops->network_create(
		b, &(struct network_spec){ .name = "net-a", .cidr = "10.9.0.0/24" }, &n, NULL),
	    -EEXIST);
	world_free(&w, b, &auth);
}

static void test_network_other_projects(void **state)
{
	other_projects(false);
}

static void test_network_other_projects_token_scope(void **state)
{
	other_projects(true);
}

static int create_on_net_a(struct backend *b, const char *const *sgs, const char *qos, char **err)
{
	static const struct kuryr_network net = {
		.name = "net-a", .id = ID(01), .cidr = "10.50.1.0/24", .gateway = "10.50.0.1"
	};
	struct kuryr_port p;

	return b->ops->port_create(b,
				   &(struct port_spec){ .network = "net-a",
							.net = &net,
							.owner = PORT_OWNER_CONTAINER,
							.device_id = "c1",
							.security_groups = sgs,
							.qos_policy = qos },
				   &p, err);
}

/* Security groups as a netconf names them: the project's own "web" and
 * "default" (every project has one), one another project shares by name
 * and by id; an ambiguous name is refused before any port is made. */
static void test_security_groups(void **state)
{
	struct world w = { 0 };
	struct os_auth_config auth;
	struct backend *b = world_backend(&w, &auth, false, NULL);
	_cleanup_free_ char *err = NULL;
	_cleanup_json_ json_t *port = NULL, *g = NULL;

	assert_int_equal(
	    create_on_net_a(b, (const char *const[]){ "web", "default", "open", ID(15), NULL },
			    NULL, NULL),
	    0);
	port = json_loads(w.posted, 0, NULL);
	assert_non_null(port);
	{
		_cleanup_free_ char *sgs =
		    json_dumps(json_object_get(port, "security_groups"), JSON_COMPACT);

		assert_string_equal(
		    sgs, "[\"" ID(12) "\",\"" ID(14) "\",\"" ID(15) "\",\"" ID(15) "\"]");
	}
	assert_int_equal(b->ops->sg_get(b, ID(15), &g, NULL), 0);
	assert_string_equal(json_object_get_str(g, "name"), "open");

	assert_int_equal(
	    create_on_net_a(b, (const char *const[]){ "web", "dupsg", NULL }, NULL, &err),
	    -ENOTUNIQ);
	assert_non_null(strstr(err, "More than one security group exists with the name"));
	assert_non_null(strstr(err, ID(16)));
	assert_non_null(strstr(err, ID(17)));
	assert_int_equal(atomic_load(&w.port_posts), 1);
	world_free(&w, b, &auth);
}

/* A QoS policy by id (one another project shares) and by name; another
 * project's private one is unknown; an ambiguous name is refused. */
static void test_qos_policies(void **state)
{
	struct world w = { 0 };
	struct os_auth_config auth;
	struct backend *b = world_backend(&w, &auth, false, NULL);
	_cleanup_free_ char *err = NULL, *err2 = NULL;
	_cleanup_json_ json_t *port = NULL;

	assert_int_equal(create_on_net_a(b, NULL, ID(21), NULL), 0);
	port = json_loads(w.posted, 0, NULL);
	assert_string_equal(json_object_get_str(port, "qos_policy_id"), ID(21));
	assert_int_equal(create_on_net_a(b, NULL, "gold", NULL), 0);
	assert_int_equal(create_on_net_a(b, NULL, "slow", &err2), -ESRCH);
	assert_int_equal(create_on_net_a(b, NULL, "dupq", &err), -ENOTUNIQ);
	assert_non_null(strstr(err, "More than one QoS policy exists with the name \"dupq\""));
	assert_non_null(strstr(err, ID(22)));
	assert_non_null(strstr(err, ID(23)));
	assert_int_equal(atomic_load(&w.port_posts), 2);

	/* Shown by name or id: the egress limit of the two, and the mark;
	 * one the project cannot see is no such object. */
	for (size_t i = 0; i < 2; i++) {
		_cleanup_json_ json_t *p = NULL;

		assert_int_equal(b->ops->qos_get(b, i ? ID(21) : "gold", &p, NULL), 0);
		assert_string_equal(json_object_get_str(p, "id"), ID(21));
		assert_string_equal(json_object_get_str(p, "direction"), "egress");
		assert_int_equal(json_integer_value(json_object_get(p, "max_kbps")), 2000);
		assert_int_equal(json_integer_value(json_object_get(p, "max_burst_kbps")), 200);
		assert_int_equal(json_integer_value(json_object_get(p, "dscp")), 26);
	}
	{
		_cleanup_json_ json_t *p = NULL, *all = NULL;

		assert_int_equal(b->ops->qos_get(b, "slow", &p, NULL), -ENOENT);
		assert_int_equal(b->ops->qos_get(b, "dupq", &p, NULL), -ENOTUNIQ);
		assert_int_equal(b->ops->qos_list(b, &all, NULL), 0);
		assert_int_equal(json_array_size(all), 4);
		assert_null(json_object_get(json_array_get(all, 1), "max_kbps"));
	}
	world_free(&w, b, &auth);
}

/* [neutron_defaults] pod_subnet by id; a name two of the network's
 * subnets have is refused. */
static void test_pod_subnet(void **state)
{
	struct os_auth_config auth;
	_cleanup_free_ char *err = NULL;
	struct kuryr_network n;
	struct world w = { 0 };
	struct backend *b = world_backend(&w, &auth, false, ID(92));

	assert_int_equal(b->ops->network_get(b, "two-pods", &n, NULL), 0);
	assert_string_equal(n.subnet_id, ID(92));
	assert_string_equal(n.cidr, "10.52.0.0/24");
	world_free(&w, b, &auth);

	w = (struct world){ 0 };
	b = world_backend(&w, &auth, false, "pods");
	assert_int_equal(b->ops->network_get(b, "two-pods", &n, &err), -ENOTUNIQ);
	assert_non_null(strstr(err, ID(91)));
	assert_non_null(strstr(err, ID(92)));
	world_free(&w, b, &auth);
}

/* A trunk's name resolves in the project; a port name two ports have is
 * refused. */
static void test_trunk_and_port_names(void **state)
{
	struct world w = { 0 };
	struct os_auth_config auth;
	struct backend *b = world_backend(&w, &auth, false, NULL);
	_cleanup_json_ json_t *t = NULL;
	_cleanup_free_ char *err = NULL;
	struct kuryr_port p;

	assert_int_equal(b->ops->trunk_get(b, "vmtrunk", &t, NULL), 0);
	assert_string_equal(json_object_get_str(t, "id"), ID(32));
	assert_int_equal(b->ops->port_get(b, "twin", &p, &err), -ENOTUNIQ);
	assert_non_null(strstr(err, ID(41)));
	assert_non_null(strstr(err, ID(42)));
	assert_int_equal(b->ops->port_get(b, ID(42), &p, NULL), 0);
	assert_string_equal(p.name, ID(42));
	world_free(&w, b, &auth);
}

/* A nested container's port is made without this node's binding (the
 * trunk's driver binds it, or nobody), another with it. */
static void test_subport_unbound(void **state)
{
	struct world w = { 0 };
	struct os_auth_config auth;
	struct backend *b = world_backend(&w, &auth, false, NULL);
	_cleanup_free_ char *err = NULL;
	struct kuryr_port p;

	assert_int_equal(b->ops->port_create(b,
					     &(struct port_spec){ .network = "net-a",
								  .owner = PORT_OWNER_CONTAINER,
								  .device_id = "c1",
								  .subport = true },
					     &p, &err),
			 0);
	assert_non_null(strstr(w.posted, "\"binding:host_id\":\"\""));
	assert_non_null(strstr(w.posted, "\"device_id\":\"\""));
	assert_non_null(strstr(w.posted, "\"device_owner\":\"compute:kuryr\""));
	assert_int_equal(b->ops->port_create(b,
					     &(struct port_spec){ .network = "net-a",
								  .owner = PORT_OWNER_CONTAINER,
								  .device_id = "c2" },
					     &p, &err),
			 0);
	assert_non_null(strstr(w.posted, "\"binding:host_id\":\"node-a\""));
	/* Only reserving an address (nested-macvlan): no host, its device. */
	assert_int_equal(b->ops->port_create(b,
					     &(struct port_spec){ .network = "net-a",
								  .owner = PORT_OWNER_CONTAINER,
								  .device_id = "c3",
								  .unbound = true },
					     &p, &err),
			 0);
	assert_non_null(strstr(w.posted, "\"binding:host_id\":\"\""));
	assert_non_null(strstr(w.posted, "\"device_id\":\"c3\""));
	world_free(&w, b, &auth);
}

/* A VM's port with an operator's pair, and a port that has its MAC in a
 * pair only. */
static void add_vm_ports(struct world *w)
{
	json_t *ports = json_object_get(w->objs, "ports");

	json_array_append_new(
	    ports, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:[{s:s, s:s}]}", "id", ID(60),
			     "name", "vm", "project_id", "proj-a", "network_id", ID(01),
			     "mac_address", "fa:16:3e:00:00:60", "revision_number", (json_int_t)7,
			     "port_security_enabled", true, "allowed_address_pairs", "ip_address",
			     "10.50.1.40", "mac_address", "fa:16:3e:00:00:60"));
	json_array_append_new(
	    ports, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:b, s:[{s:s, s:s}]}", "id", ID(61),
			     "name", "other", "project_id", "proj-a", "network_id", ID(01),
			     "mac_address", "fa:16:3e:00:00:61", "revision_number", (json_int_t)1,
			     "port_security_enabled", true, "allowed_address_pairs", "ip_address",
			     "10.50.1.41", "mac_address", "fa:16:3e:00:00:62"));
}

/* One pair added or removed is written only if the port is still as it
 * was read (If-Match: revision_number): when another writer got there
 * first (412) it is read and written again, keeping that writer's pairs,
 * a few times and then -EAGAIN; a change that changes nothing writes
 * nothing. */
static void test_pair_change_retried(void **state)
{
	struct world w = { 0 };
	struct os_auth_config auth;
	struct backend *b = world_backend(&w, &auth, false, NULL);
	_cleanup_free_ char *err = NULL;
	struct kuryr_addr_pair mine = { .ip = "10.50.1.45", .mac = "fa:16:3e:00:00:45" };
	struct kuryr_port p;

	add_vm_ports(&w);
	atomic_store(&w.races, 2);
	assert_int_equal(
	    b->ops->port_update(b, ID(60), &(struct port_update){ .add_pairs = &mine, .n_add = 1 },
				&p, &err),
	    0);
	assert_int_equal(atomic_load(&w.port_puts), 3);
	assert_int_equal(p.n_pairs, 4);
	assert_string_equal(p.pairs[0].ip, "10.50.1.40");
	assert_string_equal(p.pairs[1].ip, "10.50.1.92");
	assert_string_equal(p.pairs[2].ip, "10.50.1.91");
	assert_string_equal(p.pairs[3].ip, "10.50.1.45");
	assert_string_equal(p.pairs[3].mac, "fa:16:3e:00:00:45");
	/* There already: nothing written. */
	assert_int_equal(
	    b->ops->port_update(b, ID(60), &(struct port_update){ .add_pairs = &mine, .n_add = 1 },
				&p, &err),
	    0);
	assert_int_equal(atomic_load(&w.port_puts), 3);
	/* Always beaten: given up. */
	atomic_store(&w.races, 100);
	assert_int_equal(
	    b->ops->port_update(b, ID(60), &(struct port_update){ .del_pairs = &mine, .n_del = 1 },
				&p, &err),
	    -EAGAIN);
	assert_int_equal(atomic_load(&w.port_puts), 3 + 5);
	assert_non_null(strstr(err, "changed under each of 5 attempts"));
	atomic_store(&w.races, 0);
	assert_int_equal(
	    b->ops->port_update(b, ID(60), &(struct port_update){ .del_pairs = &mine, .n_del = 1 },
				&p, &err),
	    0);
	assert_int_equal(p.n_pairs, 3 + 5);
	for (unsigned i = 0; i < p.n_pairs; i++)
		assert_string_not_equal(p.pairs[i].ip, "10.50.1.45");
	world_free(&w, b, &auth);
}

/* The port with a MAC of its own, not one with it in a pair; none, or
 * two, say so. */
static void test_port_by_mac(void **state)
{
	struct world w = { 0 };
	struct os_auth_config auth;
	struct backend *b = world_backend(&w, &auth, false, NULL);
	_cleanup_free_ char *err = NULL;
	struct kuryr_port p;

	add_vm_ports(&w);
	assert_int_equal(b->ops->port_by_mac(b, "fa:16:3e:00:00:60", &p, &err), 0);
	assert_string_equal(p.name, ID(60));
	assert_string_equal(p.network, "net-a");
	assert_int_equal(b->ops->port_by_mac(b, "fa:16:3e:00:00:62", &p, &err), -ENOENT);
	json_object_set_new(json_array_get(json_object_get(w.objs, "ports"), 3), "mac_address",
			    json_string("fa:16:3e:00:00:60"));
	assert_int_equal(b->ops->port_by_mac(b, "fa:16:3e:00:00:60", &p, &err), -ENOTUNIQ);
	assert_non_null(strstr(err, ID(60)));
	assert_non_null(strstr(err, ID(61)));
	world_free(&w, b, &auth);
}

/* A VM's port is bound to this node by one PUT of its binding:host_id,
 * conditional on its revision (read and written again on 412); one bound
 * here already or moving here is left alone, one bound to another node
 * refused and left so, one ML2 binds in a way kuryrd does not plug refused
 * and unbound again. */
static void test_vm_port_bind(void **state)
{
	struct world w = { 0 };
	struct os_auth_config auth;
	struct backend *b = world_backend(&w, &auth, false, NULL);
	_cleanup_free_ char *err = NULL;
	json_t *vm, *other;

	add_vm_ports(&w);
	vm = json_array_get(json_object_get(w.objs, "ports"), 2);
	other = json_array_get(json_object_get(w.objs, "ports"), 3);
	json_object_set_new(vm, "binding:vif_type", json_string("ovs"));
	atomic_store(&w.races, 1);
	assert_int_equal(b->ops->port_bind(b, ID(60), &err), 0);
	assert_int_equal(atomic_load(&w.port_puts), 2);
	assert_string_equal(json_object_get_str(vm, "binding:host_id"), "node-a");
	/* Bound here: nothing written. */
	assert_int_equal(b->ops->port_bind(b, "vm", &err), 0);
	assert_int_equal(atomic_load(&w.port_puts), 2);
	/* Bound elsewhere: refused, nothing written. */
	json_object_set_new(vm, "binding:host_id", json_string("node-b"));
	assert_int_equal(b->ops->port_bind(b, ID(60), &err), -EBUSY);
	assert_non_null(strstr(err, "bound to host node-b"));
	assert_int_equal(atomic_load(&w.port_puts), 2);
	assert_string_equal(json_object_get_str(vm, "binding:host_id"), "node-b");
	/* Moving here (port_move): left as it is. */
	json_object_set_new(vm, "binding:profile", json_pack("{s:s}", "migrating_to", "node-a"));
	assert_int_equal(b->ops->port_bind(b, ID(60), &err), 0);
	assert_int_equal(atomic_load(&w.port_puts), 2);
	assert_string_equal(json_object_get_str(vm, "binding:host_id"), "node-b");
	/* Bound as kuryrd plugs nothing: unbound again. */
	json_object_set_new(other, "binding:vif_type", json_string("binding_failed"));
	assert_int_equal(b->ops->port_bind(b, ID(61), &err), -EPROTONOSUPPORT);
	assert_non_null(strstr(err, "binding_failed"));
	assert_int_equal(atomic_load(&w.port_puts), 4);
	assert_string_equal(json_object_get_str(other, "binding:host_id"), "");
	assert_int_equal(b->ops->port_bind(b, ID(99), &err), -ENOENT);
	world_free(&w, b, &auth);
}

/* A port moves by binding:profile migrating_to (begun, merged with the
 * profile it has; cancelled) and binding:host_id (finished: a container's
 * port, out of its pool), each PUT conditional on the revision the checks
 * were made against: one that lost only to another change of the port
 * (its pairs) is made again, one whose port began moving elsewhere
 * meanwhile is -EAGAIN and writes nothing. A port bound nowhere, a
 * subport, a move to where it is or to a second node are refused. */
static void test_port_move(void **state)
{
	struct world w = { 0 };
	struct os_auth_config auth;
	struct backend *b = world_backend(&w, &auth, false, NULL);
	_cleanup_free_ char *err = NULL;
	json_t *ports = json_object_get(w.objs, "ports"), *o;
	struct kuryr_port p;
	const char *id = ID(70);

	add_vm_ports(&w);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:{s:s}, s:[], s:s}", "id", id,
		      "name", "pooled", "project_id", "proj-a", "network_id", ID(01), "mac_address",
		      "fa:16:3e:00:00:70", "device_owner", "compute:kuryr", "description",
		      "net-a/proj-a", "binding:host_id", "node-a", "revision_number", (json_int_t)3,
		      "binding:profile", "keep", "me", "allowed_address_pairs", "device_id", "");
	json_array_append_new(ports, o);
#define MOVE(step_, to_) (&(struct port_move){ .step = (step_), .to = (to_) })
	assert_int_equal(b->ops->port_move(b, id, MOVE(PORT_MOVE_BEGIN, "node-a"), &p, &err),
			 -EALREADY);
	assert_int_equal(b->ops->port_move(b, id, MOVE(PORT_MOVE_BEGIN, ""), &p, &err), -EINVAL);
	assert_int_equal(atomic_load(&w.port_puts), 0);
	/* Begun, after losing once to a change of its pairs. */
	atomic_store(&w.races, 1);
	assert_int_equal(b->ops->port_move(b, id, MOVE(PORT_MOVE_BEGIN, "node-b"), &p, &err), 0);
	assert_int_equal(atomic_load(&w.port_puts), 2);
	assert_string_equal(p.host, "node-a");
	assert_string_equal(p.migrating_to, "node-b");
	assert_string_equal(
	    json_object_get_str(json_object_get(o, "binding:profile"), "migrating_to"), "node-b");
	assert_string_equal(json_object_get_str(json_object_get(o, "binding:profile"), "keep"),
			    "me");
	/* Read back as it is. */
	assert_int_equal(b->ops->port_get(b, "pooled", &p, &err), 0);
	assert_string_equal(p.migrating_to, "node-b");
	assert_int_equal(p.owner, PORT_OWNER_POOL);
	assert_int_equal(b->ops->port_move(b, id, MOVE(PORT_MOVE_BEGIN, "node-c"), &p, &err),
			 -EBUSY);
	assert_non_null(strstr(err, "moving to node-b"));
	assert_int_equal(b->ops->port_move(b, id, MOVE(PORT_MOVE_FINISH, "node-c"), &p, &err),
			 -EBUSY);
	/* Begun again to the same node: as it was, nothing written. */
	assert_int_equal(b->ops->port_move(b, id, MOVE(PORT_MOVE_BEGIN, "node-b"), &p, &err), 0);
	assert_int_equal(atomic_load(&w.port_puts), 2);
	assert_string_equal(p.migrating_to, "node-b");
	/* Cancelled: migrating_to gone, the rest of the profile kept. */
	assert_int_equal(b->ops->port_move(b, id, MOVE(PORT_MOVE_CANCEL, NULL), &p, &err), 0);
	assert_string_equal(p.migrating_to, "");
	assert_string_equal(p.host, "node-a");
	assert_null(json_object_get(json_object_get(o, "binding:profile"), "migrating_to"));
	assert_string_equal(json_object_get_str(json_object_get(o, "binding:profile"), "keep"),
			    "me");
	/* Nothing to cancel: nothing written. */
	assert_int_equal(b->ops->port_move(b, id, MOVE(PORT_MOVE_CANCEL, NULL), &p, &err), 0);
	assert_int_equal(atomic_load(&w.port_puts), 3);
	/* Another node begins moving it between our read and our write:
	 * nothing written, -EAGAIN. */
	atomic_store(&w.steals, 1);
	assert_int_equal(b->ops->port_move(b, id, MOVE(PORT_MOVE_BEGIN, "node-b"), &p, &err),
			 -EAGAIN);
	assert_int_equal(atomic_load(&w.port_puts), 4);
	assert_string_equal(
	    json_object_get_str(json_object_get(o, "binding:profile"), "migrating_to"), "node-c");
	assert_string_equal(json_object_get_str(o, "binding:host_id"), "node-a");
	json_object_set_new(o, "binding:profile", json_pack("{s:s}", "keep", "me"));
	/* Finished: node-b's, a container's port of c9, out of its pool. */
	assert_int_equal(b->ops->port_move(b, id, MOVE(PORT_MOVE_BEGIN, "node-b"), &p, &err), 0);
	assert_int_equal(b->ops->port_move(b, id,
					   &(struct port_move){ .step = PORT_MOVE_FINISH,
								.to = "node-b",
								.device_id = "c9",
								.ifname = "eth0" },
					   &p, &err),
			 0);
	assert_string_equal(p.host, "node-b");
	assert_string_equal(p.migrating_to, "");
	assert_int_equal(p.owner, PORT_OWNER_CONTAINER);
	assert_string_equal(p.device_id, "c9");
	assert_string_equal(p.pool_key, "");
	assert_string_equal(p.ifname, "eth0");
	assert_string_equal(json_object_get_str(o, "binding:host_id"), "node-b");
	assert_string_equal(json_object_get_str(o, "description"), "");
	assert_null(json_object_get(json_object_get(o, "binding:profile"), "migrating_to"));
	assert_int_equal(b->ops->port_move(b, id, MOVE(PORT_MOVE_FINISH, "node-b"), &p, &err),
			 -EALREADY);
	/* On no host (a VM's port not bound yet), a subport: not movable. */
	assert_int_equal(b->ops->port_move(b, ID(60), MOVE(PORT_MOVE_BEGIN, "node-b"), &p, &err),
			 -EINVAL);
	json_object_set_new(o, "device_owner", json_string("trunk:subport"));
	assert_int_equal(b->ops->port_move(b, id, MOVE(PORT_MOVE_BEGIN, "node-a"), &p, &err),
			 -EINVAL);
	assert_non_null(strstr(err, "subport"));
	assert_int_equal(b->ops->port_move(b, ID(99), MOVE(PORT_MOVE_BEGIN, "node-b"), &p, &err),
			 -ENOENT);
#undef MOVE
	world_free(&w, b, &auth);
}

/* Neutron answers 409 to an add_subports whose VLAN id is taken and to
 * one whose port is already a subport (of this trunk too): only the
 * first is -EEXIST, the one the nested driver picks another id for; the
 * same add repeated (its first answer lost) is done; a port that is
 * another trunk's, or has a device_id, is -EBUSY. */
static void test_subport_conflicts(void **state)
{
	struct world w = { 0 };
	struct os_auth_config auth;
	struct backend *b = world_backend(&w, &auth, false, NULL);
	json_t *trunk = json_array_get(json_object_get(w.objs, "trunks"), 1);
	json_t *ports = json_object_get(w.objs, "ports");
	_cleanup_free_ char *err = NULL;

	json_object_set_new(trunk, "sub_ports",
			    json_pack("[{s:s, s:s, s:i}]", "port_id", ID(41), "segmentation_type",
				      "vlan", "segmentation_id", 7));
	json_array_append_new(ports, obj(ID(43), "elsewhere", "proj-a", false));
	json_object_set_new(json_array_get(ports, 2), "device_owner", json_string("trunk:subport"));
	assert_int_equal(b->ops->trunk_subport(b, "vmtrunk", true, ID(41), 7, NULL), 0);
	assert_int_equal(b->ops->trunk_subport(b, "vmtrunk", true, ID(41), 8, &err), -EBUSY);
	assert_non_null(strstr(err, "VLAN 7"));
	assert_int_equal(b->ops->trunk_subport(b, "vmtrunk", true, ID(42), 7, NULL), -EEXIST);
	/* Taken when asked, given back since: another id will do. */
	assert_int_equal(b->ops->trunk_subport(b, "vmtrunk", true, ID(42), 9, NULL), -EEXIST);
	assert_int_equal(b->ops->trunk_subport(b, "vmtrunk", true, ID(43), 9, NULL), -EBUSY);
	/* A port in use by a device (a container's) is refused too. */
	json_object_set_new(json_array_get(ports, 1), "device_id", json_string("c1"));
	free(err);
	err = NULL;
	assert_int_equal(b->ops->trunk_subport(b, "vmtrunk", true, ID(42), 9, &err), -EBUSY);
	assert_non_null(strstr(err, "device_id c1"));
	world_free(&w, b, &auth);
}

/* A batch of subports is one add_subports with the list, no port looked
 * up (the ports are ours, by id); its 409 is told apart for the batch as
 * a whole, as Neutron adds all or none: every port there under its id is
 * a retry done, some there is -EBUSY, an id taken -EEXIST. */
static void test_subports_add_batch(void **state)
{
	struct world w = { 0 };
	struct os_auth_config auth;
	struct backend *b = world_backend(&w, &auth, false, NULL);
	json_t *trunk = json_array_get(json_object_get(w.objs, "trunks"), 1);
	const char *ids[] = { ID(41), ID(42) }, *bad[] = { ID(41), "twin" };
	const unsigned vlans[] = { 7, 8 }, same[] = { 7, 7 };
	_cleanup_free_ char *err = NULL;

	json_object_set_new(trunk, "sub_ports",
			    json_pack("[{s:s, s:s, s:i}, {s:s, s:s, s:i}]", "port_id", ID(41),
				      "segmentation_type", "vlan", "segmentation_id", 7, "port_id",
				      ID(42), "segmentation_type", "vlan", "segmentation_id", 8));
	assert_int_equal(b->ops->trunk_subports_add(b, "vmtrunk", ids, vlans, 2, NULL), 0);
	assert_int_equal(w.subport_puts, 1);
	assert_string_equal(
	    w.subports_put,
	    "{\"sub_ports\":[{\"port_id\":\"" ID(
		41) "\",\"segmentation_id\":7,"
		    "\"segmentation_type\":\"vlan\"},{\"port_id\":\"" ID(
			42) "\",\"segmentation_id\":8,\"segmentation_type\":\"vlan\"}]}");
	/* One of the two there: not a retry, a port in use. */
	json_array_remove(json_object_get(trunk, "sub_ports"), 1);
	assert_int_equal(b->ops->trunk_subports_add(b, "vmtrunk", ids, vlans, 2, &err), -EBUSY);
	assert_non_null(strstr(err, "1 of the 2 ports"));
	/* Id 8 taken by another port. */
	json_object_set_new(trunk, "sub_ports",
			    json_pack("[{s:s, s:s, s:i}]", "port_id", ID(43), "segmentation_type",
				      "vlan", "segmentation_id", 8));
	assert_int_equal(b->ops->trunk_subports_add(b, "vmtrunk", ids, vlans, 2, NULL), -EEXIST);
	/* Refused before Neutron is asked. */
	w.subport_puts = 0;
	assert_int_equal(b->ops->trunk_subports_add(b, "vmtrunk", bad, vlans, 2, NULL), -EINVAL);
	assert_int_equal(b->ops->trunk_subports_add(b, "vmtrunk", ids, same, 2, NULL), -EINVAL);
	assert_int_equal(w.subport_puts, 0);
	world_free(&w, b, &auth);
}

/* Routers resolve by name in the project; a floating IP or a gateway on a
 * network that is not external is refused here; what a request names and
 * does not exist is -ESRCH, a router or floating IP that does not -ENOENT. */
static void test_routers_and_fips(void **state)
{
	struct world w = { 0 };
	struct os_auth_config auth;
	struct backend *b = world_backend(&w, &auth, false, NULL);
	_cleanup_json_ json_t *rt = NULL, *f = NULL;
	char *err = NULL;

	json_object_set_new(w.objs, "routers",
			    json_pack("[o, o]", obj(ID(61), "edge", "proj-b", false),
				      obj(ID(62), "edge", "proj-a", false)));
	json_object_set_new(w.objs, "floatingips", json_array());
	{
		json_t *ext = obj(ID(71), "outside", "proj-a", false);

		json_object_set_new(ext, "router:external", json_true());
		json_object_set_new(ext, "provider:physical_network", json_string("physnet1"));
		json_array_append_new(json_object_get(w.objs, "networks"), ext);
	}
	assert_true(b->ops->caps & BACKEND_CAP_ROUTERS);
	assert_int_equal(b->ops->router_get(b, "edge", &rt, NULL), 0);
	assert_string_equal(json_object_get_str(rt, "id"), ID(62));
	assert_true(json_is_null(json_object_get(rt, "external_gateway")));
	{
		struct kuryr_network n;

		assert_int_equal(b->ops->network_get(b, "outside", &n, NULL), 0);
		assert_true(n.external);
		assert_string_equal(n.physical_network, "physnet1");
		assert_int_equal(b->ops->network_get(b, "net-a", &n, NULL), 0);
		assert_false(n.external);
	}

	assert_int_equal(b->ops->fip_create(b, "net-a", ID(41), NULL, &f, &err), -EINVAL);
	assert_non_null(strstr(err, "\"net-a\" is not external"));
	free(err), err = NULL;
	assert_int_equal(b->ops->router_gateway(b, "edge", "net-a", true, &err), -EINVAL);
	assert_non_null(strstr(err, "\"net-a\" is not external"));
	free(err), err = NULL;

	assert_int_equal(b->ops->fip_create(b, "no-such-net", ID(41), NULL, &f, NULL), -ESRCH);
	assert_int_equal(b->ops->fip_create(b, "outside", "no-such-port", NULL, &f, NULL), -ESRCH);
	assert_int_equal(b->ops->router_gateway(b, "edge", "no-such-net", true, NULL), -ESRCH);
	assert_int_equal(b->ops->router_interface(b, "edge", true, "no-such-net", NULL), -ESRCH);
	assert_int_equal(b->ops->router_interface(b, "no-such-router", true, "net-a", NULL),
			 -ENOENT);
	assert_int_equal(b->ops->router_delete(b, "no-such-router", NULL), -ENOENT);
	assert_int_equal(b->ops->fip_delete(b, "192.0.2.9", &err), -ENOENT);
	assert_non_null(strstr(err, "floating IP 192.0.2.9 does not exist"));
	free(err);
	world_free(&w, b, &auth);
}

/* ---- Octavia (lb.c, octavia.c) ---- */

struct octavia_server {
	struct MHD_Daemon *d;
	atomic_int lb_gets, member_posts;
	char member_body[512];
};

/* A load balancer that is locked (PENDING_UPDATE) for its first two reads,
 * and a member create that Octavia refuses once because of that lock
 * (409 "immutable"), as it does when another change came in between. */
static enum MHD_Result octavia_handler(void *cls, struct MHD_Connection *c, const char *url,
				       const char *method, const char *version, const char *data,
				       size_t *data_size, void **con_cls)
{
	struct octavia_server *s = cls;
	struct upload *u = *con_cls;

	if (!u) {
		*con_cls = calloc(1, sizeof(*u));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*data_size) {
		char *n = realloc(u->data, u->len + *data_size + 1);

		if (!n)
			return MHD_NO;
		memcpy(n + u->len, data, *data_size);
		u->data = n;
		u->len += *data_size;
		u->data[u->len] = 0;
		*data_size = 0;
		return MHD_YES;
	}
	if (u->data)
		str_copy(s->member_body, u->data, sizeof(s->member_body));
	free(u->data);
	free(u);
	*con_cls = NULL;

	if (streq(url, "/v2/lbaas/pools") &&
	    streq_ptr(MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name"), "web"))
		return reply(
		    c, 200,
		    strdup("{\"pools\":[{\"id\":\"p-1\",\"name\":\"web\",\"protocol\":"
			   "\"TCP\",\"loadbalancers\":[{\"id\":\"lb-1\"}],\"listeners\":"
			   "[{\"id\":\"l-1\"}],\"description\":\"kuryr:member_port=8080\","
			   "\"healthmonitor_id\":null,\"provisioning_status\":\"ACTIVE\"}]}"));
	if (streq(url, "/v2/lbaas/pools/p-1/members") && streq(method, "GET"))
		return reply(c, 200, strdup("{\"members\":[]}"));
	if (streq(url, "/v2/lbaas/loadbalancers/lb-1"))
		return reply(c, 200,
			     strdup_printf("{\"loadbalancer\":{\"id\":\"lb-1\",\"provisioning_"
					   "status\":\"%s\"}}",
					   atomic_fetch_add(&s->lb_gets, 1) < 2 ? "PENDING_UPDATE"
										: "ACTIVE"));
	if (streq(url, "/v2/lbaas/pools/p-1/members") && streq(method, "POST")) {
		if (atomic_fetch_add(&s->member_posts, 1) == 0)
			return reply(
			    c, 409,
			    strdup("{\"faultcode\":\"Client\",\"faultstring\":\"Load "
				   "Balancer lb-1 is immutable and cannot be updated.\"}"));
		return reply(c, 201,
			     strdup("{\"member\":{\"id\":\"m-1\",\"address\":\"10.0.0.5\","
				    "\"protocol_port\":8080,\"name\":\"node-a/c1/eth0\","
				    "\"operating_status\":\"NO_MONITOR\"}}"));
	}
	return reply(c, 404, strdup("{\"faultcode\":\"Client\",\"faultstring\":\"not found\"}"));
}

static void test_octavia_lock(void **state)
{
	struct octavia_server s = { 0 };
	_cleanup_free_ char *err = NULL;
	_cleanup_json_ json_t *m = NULL, *body = NULL;
	struct os_auth_config auth;
	struct backend *b = NULL;
	char url[64];

	s.d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
			       NULL, NULL, octavia_handler, &s, MHD_OPTION_SOCK_ADDR,
			       &(struct sockaddr_in){ .sin_family = AF_INET,
						      .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
			       MHD_OPTION_END);
	assert_non_null(s.d);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u",
		 MHD_get_daemon_info(s.d, MHD_DAEMON_INFO_BIND_PORT)->port);
	assert_int_equal(os_auth_config_init(&auth), 0);
	assert_int_equal(os_auth_config_set(&auth, "endpoint_override", "http://127.0.0.1:1", NULL),
			 0);
	assert_int_equal(backend_neutron_new(&(struct neutron_opts){ .auth = &auth,
								     .host = "node-a",
								     .timeout_ms = 3000,
								     .octavia_endpoint = url },
					     &b, &err),
			 0);
	assert_true(b->ops->caps & BACKEND_CAP_LOADBALANCERS);
	assert_false(b->ops->caps & BACKEND_CAP_LB_FAST);
	assert_int_equal(b->ops->lb_member_add(
			     b,
			     &(struct lb_member_spec){
				 .pool = "web", .address = "10.0.0.5", .owner = "node-a/c1/eth0" },
			     &m, &err),
			 0);
	/* Waited for ACTIVE, was refused while locked, asked again. */
	assert_int_equal(atomic_load(&s.member_posts), 2);
	assert_true(atomic_load(&s.lb_gets) >= 4);
	/* The pool's member_port, the owner as the member's name. */
	body = json_loads(s.member_body, 0, NULL);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(body, "member"), "protocol_port")),
	    8080);
	assert_string_equal(json_object_get_str(json_object_get(body, "member"), "name"),
			    "node-a/c1/eth0");
	assert_string_equal(json_object_get_str(m, "owner"), "node-a/c1/eth0");
	assert_string_equal(json_object_get_str(m, "health"), "");
	assert_int_equal(json_integer_value(json_object_get(m, "port")), 8080);
	backend_free(b);
	os_auth_config_release(&auth);
	MHD_stop_daemon(s.d);
}

/* Without Keystone and without [octavia] endpoint_override there is no
 * Octavia: the load balancer verbs say so, and how to fix it. */
static void test_octavia_none(void **state)
{
	_cleanup_free_ char *err = NULL;
	_cleanup_json_ json_t *l = NULL;
	struct os_auth_config auth;
	struct backend *b = NULL;

	assert_int_equal(os_auth_config_init(&auth), 0);
	assert_int_equal(os_auth_config_set(&auth, "endpoint_override", "http://127.0.0.1:1", NULL),
			 0);
	assert_int_equal(backend_neutron_new(
			     &(struct neutron_opts){ .auth = &auth, .host = "node-a" }, &b, &err),
			 0);
	assert_int_equal(b->ops->lb_list(b, &l, &err), -EOPNOTSUPP);
	assert_non_null(err);
	assert_non_null(strstr(err, "[octavia] endpoint_override"));
	backend_free(b);
	os_auth_config_release(&auth);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_list_pages),
		cmocka_unit_test(test_port_list_capped_pages),
		cmocka_unit_test(test_tags_without_extension),
		cmocka_unit_test(test_tags_with_extension),
		cmocka_unit_test(test_port_delete_unsure_is_not_gone),
		cmocka_unit_test(test_port_on_another_bridge),
		cmocka_unit_test(test_network_by_id),
		cmocka_unit_test(test_name_like_uuid),
		cmocka_unit_test(test_network_ambiguous),
		cmocka_unit_test(test_network_other_projects),
		cmocka_unit_test(test_network_other_projects_token_scope),
		cmocka_unit_test(test_security_groups),
		cmocka_unit_test(test_qos_policies),
		cmocka_unit_test(test_pod_subnet),
		cmocka_unit_test(test_trunk_and_port_names),
		cmocka_unit_test(test_subports_add_batch),
		cmocka_unit_test(test_subport_unbound),
		cmocka_unit_test(test_subport_conflicts),
		cmocka_unit_test(test_pair_change_retried),
		cmocka_unit_test(test_port_by_mac),
		cmocka_unit_test(test_vm_port_bind),
		cmocka_unit_test(test_port_move),
		cmocka_unit_test(test_routers_and_fips),
		cmocka_unit_test(test_octavia_lock),
		cmocka_unit_test(test_octavia_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
