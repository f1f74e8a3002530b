/* SPDX-License-Identifier: Apache-2.0 */
/* The Neutron backend's listings against a small in-process server that
 * pages like Neutron (limit + marker, sorted by id): more ports than fit a
 * page are all read, each once, with their networks' names from one
 * network listing, and only the fields kuryrd uses are asked for. The real
 * neutron-server is exercised by the e2e suites. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "backend/backend.h"
#include "json-util.h"
#include "macro.h"
#include "openstack/auth.h"

#define N_PORTS 1203

struct server {
	struct MHD_Daemon *d;
	atomic_int port_pages, network_pages, unfielded;
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
	const char *key;

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
	} else {
		json_decref(items);
		return reply(c, 404, strdup("{\"NeutronError\":{\"message\":\"no\"}}"));
	}
	{
		_cleanup_json_ json_t *page = json_pack("{s:o}", key, items);

		return reply(c, 200, json_dumps(page, JSON_COMPACT));
	}
}

static void test_port_list_pages(void **state)
{
	struct server s = { 0 };
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
	/* 500 + 500 + 203: three pages of ports, one of networks. */
	assert_int_equal(atomic_load(&s.port_pages), 3);
	assert_int_equal(atomic_load(&s.network_pages), 1);
	assert_int_equal(atomic_load(&s.unfielded), 0);

	backend_free(b);
	os_auth_config_release(&auth);
	MHD_stop_daemon(s.d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_port_list_pages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
