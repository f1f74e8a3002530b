/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for kuryrd above the store, driven through kuryrd_handle() the way
 * its socket server does, on an in-memory backend and binding drivers
 * (fake-backend.h, fake-binding.h) and a real attachment store in a
 * temporary directory: ADD from a new port and from a pool, DEL, CHECK,
 * STATUS, GC, recovery at start, the janitor, a few operator verbs; and
 * for every way ADD can fail, the CNI error code it answers and that it
 * leaves nothing behind (no backend port, nothing plugged, no row). No
 * root, no OVS, no namespaces of our own: the pod's netns is our own,
 * /proc/self/ns/net, which passes kuryrd's check of the descriptor. */
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "test-wait.h"

#include "cni/cni.h"
#include "daemon/daemon.h"
#include "fake-backend.h"
#include "fake-binding.h"
#include "json-util.h"
#include "log.h"
#include "store/store.h"
#include "time-util.h"

#define HOST  "node1"
#define NETNS "/proc/self/ns/net"

/* Into char array @dst, truncated; NULL as "". */
#define COPY(dst, src) str_copy((dst), (src), sizeof(dst))

/* Up to 8 s (the janitor wakes every 2 s). */
#define WAIT_UNTIL(cond) WAIT_UNTIL_S(cond, 8)

struct fx {
	char dir[64];
	struct kuryr_config cfg;
	struct fake_backend *fb;
	struct fake_binding *ovs, *pw;
	struct kuryrd *d;
	int netns;
	struct kuryr_network net1;
};

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path) < 0 ? -errno : 0;
}

static void make_backend(struct fx *f, unsigned caps)
{
	fake_backend_free(f->fb);
	f->fb = fake_backend_new(HOST, caps);
	fake_backend_add_network(f->fb, "net1", "10.0.0.0/24", &f->net1);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kuryr-test-daemon-XXXXXX");
	if (!mkdtemp(f->dir) || config_init(&f->cfg) < 0)
		return -1;
	free(f->cfg.state_dir);
	f->cfg.state_dir = strdup(f->dir);
	f->cfg.host = strdup(HOST);
	/* Most tests: containers on ports of their own; pool tests turn
	 * pools on. */
	f->cfg.pool_enabled = false;
	f->cfg.pool_min = 1;
	f->cfg.pool_max = 1;
	f->cfg.pool_batch = 1;
	f->cfg.pool_update_ms = 60000;
	f->cfg.port_up_timeout_ms = 1000;
	f->netns = open(NETNS, O_RDONLY | O_CLOEXEC);
	if (!f->cfg.state_dir || !f->cfg.host || f->netns < 0)
		return -1;
	make_backend(f, 0);
	f->ovs = fake_binding_new_ovs();
	f->pw = fake_binding_new_prewire();
	*state = f;
	return 0;
}

static void stop(struct fx *f)
{
	kuryrd_free(f->d);
	f->d = NULL;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int r;

	stop(f);
	config_release(&f->cfg);
	fake_binding_free(f->pw);
	fake_binding_free(f->ovs);
	fake_backend_free(f->fb);
	close(f->netns);
	r = nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return r == 0 ? 0 : -1;
}

static void start(struct fx *f)
{
	struct binding *drivers[] = { fake_binding_get(f->ovs), fake_binding_get(f->pw) };
	_cleanup_free_ char *err = NULL;
	int r;

	r = kuryrd_new_with(&f->cfg, fake_backend_get(f->fb), drivers, ELEMENTSOF(drivers), &f->d,
			    &err);
	if (r < 0)
		fail_msg("kuryrd_new_with: %s", err ? err : strerror(-r));
}

/* ---- requests ---- */

/* A CNI request as kuryr-cni sends it; @extra (JSON text, may be NULL)
 * is merged into the netconf. */
static json_t *cni_request(const char *op, const char *cid, const char *ifname, const char *extra)
{
	json_t *conf = json_pack("{s:s, s:s, s:s}", "cniVersion", "1.1.0", "name", "net1", "type",
				 "kuryr-cni");

	if (extra) {
		_cleanup_json_ json_t *x = json_loads(extra, 0, NULL);

		assert_non_null(x);
		json_object_update(conf, x);
	}
	return json_pack("{s:s, s:{s:s, s:s, s:s}, s:o}", "op", op, "env", "CNI_CONTAINERID", cid,
			 "CNI_IFNAME", ifname, "CNI_NETNS", NETNS, "config", conf);
}

static json_t *cni_fd(struct fx *f, const char *op, const char *cid, const char *ifname,
		      const char *extra, int netns_fd)
{
	_cleanup_json_ json_t *req = cni_request(op, cid, ifname, extra);

	return kuryrd_handle(f->d, req, netns_fd);
}

/* With the pod's netns passed along, as kuryr-cni does. */
static json_t *cni(struct fx *f, const char *op, const char *cid, const char *ifname,
		   const char *extra)
{
	return cni_fd(f, op, cid, ifname, extra, f->netns);
}

static json_t *ctl(struct fx *f, const char *op, const char *args)
{
	_cleanup_json_ json_t *req = json_pack("{s:s}", "op", op);

	if (args)
		json_object_set_new(req, "args", json_loads(args, 0, NULL));
	return kuryrd_handle(f->d, req, -1);
}

/* The reply's error code, or 0 for a result. */
static int code_of(json_t *reply)
{
	json_t *e = json_object_get(reply, "error");

	if (e)
		return (int)json_integer_value(json_object_get(e, "code"));
	return json_object_get(reply, "result") ? 0 : -1;
}

#define assert_code(reply, want)                                                     \
	do {                                                                         \
		int _c = code_of(reply);                                             \
		if (_c != (want)) {                                                  \
			_cleanup_free_ char *_s = json_dumps((reply), JSON_COMPACT); \
			fail_msg("code %d, want %d: %s", _c, (want), _s);            \
		}                                                                    \
	} while (0)

/* Operator request @op (@args: JSON text, or NULL) answered with @code
 * (0: a result). */
#define expect_ctl(f, op, args, code)                               \
	do {                                                        \
		_cleanup_json_ json_t *_r = ctl((f), (op), (args)); \
		assert_code(_r, (code));                            \
	} while (0)

static const char *error_msg(json_t *reply)
{
	return json_object_get_str(json_object_get(reply, "error"), "msg");
}

/* The attachment rows, as kuryrctl attachment list sees them. */
static json_t *rows(struct fx *f)
{
	_cleanup_json_ json_t *r = ctl(f, "attachment.list", NULL);

	return json_incref(json_object_get(r, "result"));
}

static size_t n_rows(struct fx *f)
{
	_cleanup_json_ json_t *a = rows(f);

	return json_array_size(a);
}

static const char *row_field(json_t *rows_, const char *cid, const char *field)
{
	json_t *a;
	size_t i;

	json_array_foreach(rows_, i, a) {
		if (streq(json_object_get_str(a, "container_id"), cid))
			return json_object_get_str(a, field);
	}
	return NULL;
}

/* A failed ADD left nothing: no container port, no pod device, no wait
 * pending, no row. */
static void assert_nothing_left(struct fx *f)
{
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_CONTAINER), 0);
	assert_int_equal(fake_binding_n_plugged(f->ovs), 0);
	assert_int_equal(fake_binding_n_plugged(f->pw), 0);
	assert_int_equal(fake_binding_pending_waits(f->ovs), 0);
	assert_int_equal(fake_binding_pending_waits(f->pw), 0);
	assert_int_equal(n_rows(f), 0);
}

/* ADD with @extra fails with @code and leaves nothing behind. */
static void add_fails(struct fx *f, const char *extra, int code)
{
	_cleanup_json_ json_t *r = cni(f, "add", "c1", "eth0", extra);

	assert_code(r, code);
	assert_nothing_left(f);
}

static void add_ok(struct fx *f, const char *cid, const char *ifname, const char *extra)
{
	_cleanup_json_ json_t *r = cni(f, "add", cid, ifname, extra);

	assert_code(r, 0);
}

/* ---- ADD, DEL, CHECK ---- */

/* ADD on a miss: one backend port for the container on this node, a veth
 * plugged into the pod's netns and waited for, the row done, and the CNI
 * result with the port's address and MAC, the gateway and both ends. */
static void test_add_miss(void **state)
{
	struct fx *f = *state;
	_cleanup_json_ json_t *r = NULL, *a = NULL;
	json_t *res, *ifs, *ip;
	struct kuryr_port p;
	struct fake_plug pl;
	struct stat st;

	start(f);
	r = cni(f, "add", "c1", "eth0", NULL);
	assert_code(r, 0);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_CONTAINER, "c1", &p), 0);
	assert_string_equal(p.ifname, "eth0");
	assert_string_equal(p.host, HOST);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE), 1);
	assert_int_equal(fake_binding_plugged(f->ovs, p.name, &pl), 0);
	assert_string_equal(pl.ifname, "eth0");
	assert_string_equal(pl.device_id, "c1");
	assert_int_equal(fstat(f->netns, &st), 0);
	assert_int_equal(pl.netns, st.st_ino);
	assert_int_equal(fake_binding_calls(f->ovs, FAKE_WAIT_READY), 1);
	assert_int_equal(fake_binding_pending_waits(f->ovs), 0);

	res = json_object_get(r, "result");
	assert_string_equal(json_object_get_str(res, "cniVersion"), "1.1.0");
	ip = json_array_get(json_object_get(res, "ips"), 0);
	assert_string_equal(json_object_get_str(ip, "address"), "10.0.0.2/24");
	assert_string_equal(json_object_get_str(ip, "gateway"), "10.0.0.1");
	ifs = json_object_get(res, "interfaces");
	assert_int_equal(json_array_size(ifs), 2);
	assert_string_equal(json_object_get_str(json_array_get(ifs, 0), "name"), pl.host_ifname);
	assert_non_null(json_object_get_str(json_array_get(ifs, 0), "mac"));
	assert_string_equal(json_object_get_str(json_array_get(ifs, 1), "name"), "eth0");
	assert_string_equal(json_object_get_str(json_array_get(ifs, 1), "mac"), p.mac);
	assert_string_equal(json_object_get_str(json_array_get(ifs, 1), "sandbox"), NETNS);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ifs, 1), "mtu")), 1442);
	assert_string_equal(
	    json_object_get_str(json_array_get(json_object_get(res, "routes"), 0), "gw"),
	    "10.0.0.1");

	a = rows(f);
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(row_field(a, "c1", "state"), "done");
	assert_string_equal(row_field(a, "c1", "port"), p.name);
	assert_string_equal(row_field(a, "c1", "binding"), "ovs");
	assert_string_equal(row_field(a, "c1", "host_ifname"), pl.host_ifname);
	assert_string_equal(row_field(a, "c1", "address"), "10.0.0.2/24");
}

/* A fixed MAC and address (runtimeConfig) reach the port and the result;
 * such a port never comes from a pool. */
static void test_add_requested_addresses(void **state)
{
	struct fx *f = *state;
	_cleanup_json_ json_t *r = NULL;
	json_t *res;
	struct kuryr_port p;

	start(f);
	r = cni(
	    f, "add", "c1", "eth0",
	    "{\"runtimeConfig\": {\"ips\": [\"10.0.0.50/24\"], \"mac\": \"0a:00:00:00:00:01\"}}");
	assert_code(r, 0);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_CONTAINER, "c1", &p), 0);
	assert_string_equal(p.ip, "10.0.0.50");
	assert_string_equal(p.mac, "0a:00:00:00:00:01");
	res = json_object_get(r, "result");
	assert_string_equal(
	    json_object_get_str(json_array_get(json_object_get(res, "ips"), 0), "address"),
	    "10.0.0.50/24");
	assert_string_equal(
	    json_object_get_str(json_array_get(json_object_get(res, "interfaces"), 1), "mac"),
	    "0a:00:00:00:00:01");
}

/* DEL removes the port, unplugs the pod and drops the row; DEL again and
 * DEL of a container never attached succeed (CNI: idempotent), with or
 * without the pod's netns. */
static void test_del(void **state)
{
	struct fx *f = *state;
	json_t *r;

	start(f);
	add_ok(f, "c1", "eth0", NULL);
	add_ok(f, "c2", "eth1", NULL);
	r = cni(f, "del", "c1", "eth0", NULL);
	assert_code(r, 0);
	json_decref(r);
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_CONTAINER), 1);
	assert_int_equal(fake_binding_n_plugged(f->ovs), 1);
	assert_int_equal(n_rows(f), 1);
	r = cni(f, "del", "c1", "eth0", NULL);
	assert_code(r, 0);
	json_decref(r);
	r = cni(f, "del", "never", "eth0", NULL);
	assert_code(r, 0);
	json_decref(r);
	/* The container is gone: no netns comes with its DEL. */
	r = cni_fd(f, "del", "c2", "eth1", NULL, -1);
	assert_code(r, 0);
	json_decref(r);
	assert_nothing_left(f);
	assert_int_equal(fake_binding_calls(f->ovs, FAKE_UNPLUG), 2);
}

/* CHECK: 0 while the attachment is as plugged (and prevResult agrees);
 * the driver saying the device is gone or changed is 103, the backend
 * port gone 102, an unknown container 3, no netns descriptor 4. */
static void test_check(void **state)
{
	struct fx *f = *state;
	struct kuryr_port p;
	json_t *r;

	start(f);
	add_ok(f, "c1", "eth0", NULL);
	r = cni(f, "check", "c1", "eth0", NULL);
	assert_code(r, 0);
	json_decref(r);
	r = cni(f, "check", "c1", "eth0",
		"{\"prevResult\": {\"ips\": [{\"address\": \"10.0.0.2/24\"}]}}");
	assert_code(r, 0);
	json_decref(r);
	r = cni(f, "check", "c1", "eth0",
		"{\"prevResult\": {\"ips\": [{\"address\": \"10.0.0.9/24\"}]}}");
	assert_code(r, KURYR_ERR_DATAPATH);
	json_decref(r);
	fake_binding_fail_next(f->ovs, FAKE_CHECK, -ENODEV);
	r = cni(f, "check", "c1", "eth0", NULL);
	assert_code(r, KURYR_ERR_DATAPATH);
	assert_string_equal(error_msg(r), "interface missing in the container");
	json_decref(r);
	fake_binding_fail_next(f->ovs, FAKE_CHECK, -EUCLEAN);
	r = cni(f, "check", "c1", "eth0", NULL);
	assert_code(r, KURYR_ERR_DATAPATH);
	assert_string_equal(error_msg(r), "interface changed in the container");
	json_decref(r);
	fake_binding_fail_next(f->ovs, FAKE_CHECK, -EIO);
	r = cni(f, "check", "c1", "eth0", NULL);
	assert_code(r, KURYR_ERR_DATAPATH);
	assert_string_equal(error_msg(r), "cannot check the attachment");
	json_decref(r);
	r = cni(f, "check", "c9", "eth0", NULL);
	assert_code(r, CNI_ERR_UNKNOWN_CONTAINER);
	json_decref(r);
	r = cni_fd(f, "check", "c1", "eth0", NULL, -1);
	assert_code(r, CNI_ERR_INVALID_ENV);
	json_decref(r);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_CONTAINER, "c1", &p), 0);
	assert_int_equal(
	    fake_backend_get(f->fb)->ops->port_delete(fake_backend_get(f->fb), p.name, NULL), 0);
	r = cni(f, "check", "c1", "eth0", NULL);
	assert_code(r, KURYR_ERR_BACKEND);
	json_decref(r);
}

/* ADD without the netns as a descriptor (or with a descriptor that is no
 * netns, without CNI_NETNS or with one too long to record) is error 4,
 * before anything is made. */
static void test_add_needs_netns(void **state)
{
	struct fx *f = *state;
	_cleanup_close_ int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	_cleanup_json_ json_t *req = cni_request("add", "c1", "eth0", NULL);
	unsigned calls;
	json_t *r;

	start(f);
	calls = fake_backend_calls_but(f->fb, 1u << FAKE_PORT_LIST);
	r = cni_fd(f, "add", "c1", "eth0", NULL, -1);
	assert_code(r, CNI_ERR_INVALID_ENV);
	json_decref(r);
	r = cni_fd(f, "add", "c1", "eth0", NULL, devnull);
	assert_code(r, CNI_ERR_INVALID_ENV);
	json_decref(r);
	json_object_set_new(
	    json_object_get(req, "env"), "CNI_NETNS",
	    json_pack("s", "/run/netns/"
			   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
			   "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
	r = kuryrd_handle(f->d, req, f->netns);
	assert_code(r, CNI_ERR_INVALID_ENV);
	json_decref(r);
	json_object_del(json_object_get(req, "env"), "CNI_NETNS");
	r = kuryrd_handle(f->d, req, f->netns);
	assert_code(r, CNI_ERR_INVALID_ENV);
	json_decref(r);
	assert_int_equal(fake_backend_calls_but(f->fb, 1u << FAKE_PORT_LIST), calls);
	assert_nothing_left(f);
}

/* Requests kuryr-cni would not send are refused with the CNI codes for
 * them: no op or no netconf 6, an unknown version 1, bad ids 4, no
 * network 7, bad runtimeConfig 7, port policies on a backend without
 * them 2. */
static void test_bad_requests(void **state)
{
	struct fx *f = *state;
	json_t *r, *req;

	start(f);
	req = json_object();
	r = kuryrd_handle(f->d, req, -1);
	assert_code(r, CNI_ERR_DECODE);
	json_decref(r);
	json_decref(req);
	req = json_pack("{s:s}", "op", "add");
	r = kuryrd_handle(f->d, req, f->netns);
	assert_code(r, CNI_ERR_DECODE);
	json_decref(r);
	json_decref(req);
	r = cni(f, "add", "c1", "eth0", "{\"cniVersion\": \"9.9.9\"}");
	assert_code(r, CNI_ERR_INCOMPATIBLE_VERSION);
	json_decref(r);
	r = cni(f, "add", "c/1", "eth0", NULL);
	assert_code(r, CNI_ERR_INVALID_ENV);
	json_decref(r);
	r = cni(f, "add", "c1", "eth0/", NULL);
	assert_code(r, CNI_ERR_INVALID_ENV);
	json_decref(r);
	req = cni_request("add", "c1", "eth0", NULL);
	json_object_del(json_object_get(req, "config"), "name");
	r = kuryrd_handle(f->d, req, f->netns);
	assert_code(r, CNI_ERR_INVALID_CONFIG);
	json_decref(r);
	json_decref(req);
	r = cni(f, "add", "c1", "eth0", "{\"runtimeConfig\": {\"ips\": \"10.0.0.5\"}}");
	assert_code(r, CNI_ERR_INVALID_CONFIG);
	json_decref(r);
	r = cni(f, "add", "c1", "eth0", "{\"runtimeConfig\": {\"ips\": [5]}}");
	assert_code(r, CNI_ERR_INVALID_CONFIG);
	json_decref(r);
	r = cni(f, "add", "c1", "eth0", "{\"runtimeConfig\": {\"mac\": \"0a:00\"}}");
	assert_code(r, CNI_ERR_INVALID_CONFIG);
	json_decref(r);
	/* Port policies need a backend that has them. */
	r = cni(f, "add", "c1", "eth0", "{\"security_groups\": [\"web\"]}");
	assert_code(r, CNI_ERR_UNSUPPORTED_FIELD);
	json_decref(r);
	assert_nothing_left(f);
}

/* A subnet's name servers and host routes reach the result; a netconf's
 * own "dns" wins over the subnet's. */
static void test_add_subnet_info_and_dns(void **state)
{
	struct fx *f = *state;
	struct kuryr_subnet_info info = { .n_dns = 1, .n_routes = 1 };
	json_t *r, *res, *routes;

	COPY(info.dns[0], "10.0.0.53");
	COPY(info.routes[0].dst, "192.168.0.0/16");
	COPY(info.routes[0].gw, "10.0.0.254");
	fake_backend_set_subnet_info(f->fb, "net1", &info);
	start(f);
	r = cni(f, "add", "c1", "eth0", NULL);
	assert_code(r, 0);
	res = json_object_get(r, "result");
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(json_object_get(res, "dns"), "nameservers"), 0)),
			    "10.0.0.53");
	routes = json_object_get(res, "routes");
	assert_int_equal(json_array_size(routes), 2);
	assert_string_equal(json_object_get_str(json_array_get(routes, 1), "dst"),
			    "192.168.0.0/16");
	assert_string_equal(json_object_get_str(json_array_get(routes, 1), "gw"), "10.0.0.254");
	json_decref(r);
	r = cni(f, "add", "c2", "eth1", "{\"dns\": {\"nameservers\": [\"1.1.1.1\"]}}");
	assert_code(r, 0);
	res = json_object_get(r, "result");
	assert_string_equal(json_string_value(json_array_get(
				json_object_get(json_object_get(res, "dns"), "nameservers"), 0)),
			    "1.1.1.1");
	json_decref(r);
}

/* A row whose driver this node does not have (tap here) can be neither
 * checked (103) nor torn down (DEL 11, the row kept). */
static void test_row_of_unknown_driver(void **state)
{
	struct fx *f = *state;
	struct attachment row = { .state = ATTACH_DONE, .mtu = 1442 };
	_cleanup_free_ char *err = NULL;
	struct store *s;
	json_t *r;

	start(f);
	COPY(row.container_id, "c1");
	COPY(row.ifname, "eth0");
	COPY(row.network, "net1");
	COPY(row.port, "p-of-a-vm");
	COPY(row.binding, "tap");
	COPY(row.host_ifname, "tap0");
	assert_int_equal(store_open(f->dir, &s, &err), 0);
	assert_int_equal(store_insert(s, &row), 0);
	store_free(s);
	r = cni(f, "check", "c1", "eth0", NULL);
	assert_code(r, KURYR_ERR_DATAPATH);
	assert_string_equal(error_msg(r), "cannot check the attachment");
	json_decref(r);
	r = cni(f, "del", "c1", "eth0", NULL);
	assert_code(r, CNI_ERR_TRY_AGAIN);
	json_decref(r);
	assert_int_equal(n_rows(f), 1);
}

/* A backend with per-port policies: security groups, QoS policy and
 * project from the netconf (checked) choose the port's pool, whose key
 * sorts the groups; the second ADD with the same choices hits it. */
static void test_port_policies(void **state)
{
	struct fx *f = *state;
	_cleanup_json_ json_t *pools = NULL;
	const char *choice = "{\"security_groups\": [\"web\", \"db\"], \"qos_policy\": \"slow\", "
			     "\"project\": \"p1\"}";
	const char *key = "net1|p1|db,web|slow";
	struct kuryr_port p;
	unsigned creates;
	json_t *e;
	size_t i;

	make_backend(f, BACKEND_CAP_PORT_POLICIES);
	f->cfg.pool_enabled = true;
	start(f);
	add_fails(f, "{\"security_groups\": \"web\"}", CNI_ERR_INVALID_CONFIG);
	add_fails(f, "{\"security_groups\": [\"\"]}", CNI_ERR_INVALID_CONFIG);
	add_fails(f, "{\"qos_policy\": 5}", CNI_ERR_INVALID_CONFIG);
	add_fails(f, "{\"project\": \"\"}", CNI_ERR_INVALID_CONFIG);
	add_ok(f, "c1", "eth0", choice);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE), 1);
	/* The miss started that pool. */
	WAIT_UNTIL(fake_backend_port_of(f->fb, PORT_OWNER_POOL, HOST, &p) == 0);
	assert_string_equal(p.pool_key, key);
	creates = fake_backend_calls(f->fb, FAKE_PORT_CREATE);
	add_ok(f, "c2", "eth1",
	       "{\"security_groups\": [\"db\", \"web\"], \"qos_policy\": \"slow\", "
	       "\"project\": \"p1\"}");
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE), creates);
	pools = ctl(f, "pool.list", "{\"network\": \"net1\"}");
	json_array_foreach(json_object_get(pools, "result"), i, e) {
		assert_string_equal(json_object_get_str(e, "key"), key);
		assert_int_equal(json_integer_value(json_object_get(e, "hits")), 1);
		assert_int_equal(json_integer_value(json_object_get(e, "misses")), 1);
	}
	assert_int_equal(json_array_size(json_object_get(pools, "result")), 1);
}

/* ---- ADD failures: the code, and nothing left behind ---- */

/* An unknown network is 7; a name two networks have is 7 too, naming
 * the ambiguity. */
static void test_add_unknown_or_ambiguous_network(void **state)
{
	struct fx *f = *state;
	_cleanup_json_ json_t *r = NULL;

	fake_backend_add_network(f->fb, "dup", "10.1.0.0/24", NULL);
	fake_backend_add_network(f->fb, "dup", "10.2.0.0/24", NULL);
	start(f);
	add_fails(f, "{\"network\": \"nope\"}", CNI_ERR_INVALID_CONFIG);
	r = cni(f, "add", "c1", "eth0", "{\"network\": \"dup\"}");
	assert_code(r, CNI_ERR_INVALID_CONFIG);
	assert_string_equal(error_msg(r), "ambiguous network name");
	assert_nothing_left(f);
}

/* The backend unreachable when the network is looked up: 11. */
static void test_add_backend_unreachable(void **state)
{
	struct fx *f = *state;

	start(f);
	fake_backend_set_reachable(f->fb, false);
	add_fails(f, NULL, CNI_ERR_TRY_AGAIN);
	fake_backend_set_reachable(f->fb, true);
	/* Other failures of the lookup by the one table: too slow is 11,
	 * refused 102. */
	fake_backend_fail_next(f->fb, FAKE_NETWORK_GET, -ETIMEDOUT);
	add_fails(f, NULL, CNI_ERR_TRY_AGAIN);
	fake_backend_fail_next(f->fb, FAKE_NETWORK_GET, -EACCES);
	add_fails(f, NULL, KURYR_ERR_BACKEND);
	add_ok(f, "c1", "eth0", NULL);
}

/* The backend lost while the port is created (refused, or the answer
 * lost after the port was made): 11, and no port left. */
static void test_add_port_create_unreachable(void **state)
{
	struct fx *f = *state;

	start(f);
	fake_backend_fail_next(f->fb, FAKE_PORT_CREATE, -ENOTCONN);
	add_fails(f, NULL, CNI_ERR_TRY_AGAIN);
	fake_backend_lose_next(f->fb, FAKE_PORT_CREATE);
	add_fails(f, NULL, CNI_ERR_TRY_AGAIN);
}

/* A rollback the backend cannot do (unreachable) keeps the row, and the
 * janitor finishes it once the backend is back: then nothing is left. */
static void test_rollback_retried_by_janitor(void **state)
{
	struct fx *f = *state;
	_cleanup_json_ json_t *r = NULL, *a = NULL;
	unsigned deletes;

	start(f);
	fake_binding_fail_next(f->ovs, FAKE_PLUG, -EIO);
	fake_backend_fail_always(f->fb, FAKE_PORT_DELETE, -ENOTCONN);
	r = cni(f, "add", "c1", "eth0", NULL);
	assert_code(r, KURYR_ERR_DATAPATH);
	a = rows(f);
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(row_field(a, "c1", "state"), "port");
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_CONTAINER), 1);
	/* While the backend stays away the janitor keeps trying. */
	deletes = fake_backend_calls(f->fb, FAKE_PORT_DELETE);
	WAIT_UNTIL(fake_backend_calls(f->fb, FAKE_PORT_DELETE) > deletes);
	assert_int_equal(n_rows(f), 1);
	fake_backend_fail_always(f->fb, FAKE_PORT_DELETE, 0);
	WAIT_UNTIL(n_rows(f) == 0);
	assert_nothing_left(f);
}

/* An ADD after one whose rollback failed finishes that rollback first,
 * or answers 11 if it still cannot. */
static void test_add_finishes_earlier_rollback(void **state)
{
	struct fx *f = *state;
	_cleanup_json_ json_t *r = NULL;
	struct kuryr_port first, second;

	start(f);
	fake_binding_fail_next(f->ovs, FAKE_PLUG, -EIO);
	fake_backend_fail_next(f->fb, FAKE_PORT_DELETE, -ENOTCONN);
	r = cni(f, "add", "c1", "eth0", NULL);
	assert_code(r, KURYR_ERR_DATAPATH);
	json_decref(r);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_CONTAINER, "c1", &first), 0);
	fake_backend_fail_next(f->fb, FAKE_PORT_DELETE, -ENOTCONN);
	r = cni(f, "add", "c1", "eth0", NULL);
	assert_code(r, CNI_ERR_TRY_AGAIN);
	json_decref(r);
	r = cni(f, "add", "c1", "eth0", NULL);
	assert_code(r, 0);
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_CONTAINER), 1);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_CONTAINER, "c1", &second), 0);
	assert_string_not_equal(first.name, second.name);
	assert_int_equal(fake_backend_port(f->fb, first.name, &first), -ENOENT);
}

/* Over quota: 102, "quota exceeded". */
static void test_add_quota(void **state)
{
	struct fx *f = *state;
	_cleanup_json_ json_t *r = NULL;

	start(f);
	fake_backend_fail_next(f->fb, FAKE_PORT_CREATE, -EDQUOT);
	r = cni(f, "add", "c1", "eth0", NULL);
	assert_code(r, KURYR_ERR_BACKEND);
	assert_string_equal(error_msg(r), "quota exceeded");
	assert_nothing_left(f);
}

/* A requested address in use (-EEXIST) or not on the subnet (-EINVAL):
 * 104, and the other container keeps its attachment. */
static void test_add_requested_ip_refused(void **state)
{
	struct fx *f = *state;
	json_t *r;

	start(f);
	add_ok(f, "c1", "eth0", NULL);
	r = cni(f, "add", "c2", "eth1", "{\"runtimeConfig\": {\"ips\": [\"10.0.0.2/24\"]}}");
	assert_code(r, KURYR_ERR_ADDRESS);
	json_decref(r);
	r = cni(f, "add", "c2", "eth1", "{\"runtimeConfig\": {\"ips\": [\"10.9.9.9/24\"]}}");
	assert_code(r, KURYR_ERR_ADDRESS);
	json_decref(r);
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_CONTAINER), 1);
	assert_int_equal(fake_binding_n_plugged(f->ovs), 1);
	assert_int_equal(n_rows(f), 1);
	r = cni(f, "del", "c1", "eth0", NULL);
	json_decref(r);
	assert_nothing_left(f);
}

/* A device named CNI_IFNAME already in the pod: 101, and the container
 * that has it keeps it. */
static void test_add_ifname_taken(void **state)
{
	struct fx *f = *state;
	json_t *r;

	start(f);
	add_ok(f, "c1", "eth0", NULL);
	r = cni(f, "add", "c2", "eth0", NULL);
	assert_code(r, KURYR_ERR_IFNAME_EXISTS);
	json_decref(r);
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_CONTAINER), 1);
	assert_int_equal(fake_binding_n_plugged(f->ovs), 1);
	assert_int_equal(n_rows(f), 1);
	r = cni(f, "del", "c1", "eth0", NULL);
	json_decref(r);
	assert_nothing_left(f);
}

/* Any other plug failure is 103; the switch's database unreachable 11. */
static void test_add_plug_fails(void **state)
{
	struct fx *f = *state;

	start(f);
	fake_binding_fail_next(f->ovs, FAKE_PLUG, -EIO);
	add_fails(f, NULL, KURYR_ERR_DATAPATH);
	fake_binding_fail_next(f->ovs, FAKE_PLUG, -ENOTCONN);
	add_fails(f, NULL, CNI_ERR_TRY_AGAIN);
}

/* The datapath not ready within port_up_timeout: 11, the wait cancelled. */
static void test_add_not_ready(void **state)
{
	struct fx *f = *state;

	f->cfg.port_up_timeout_ms = 100;
	start(f);
	fake_binding_set_ready(f->ovs, false);
	add_fails(f, NULL, CNI_ERR_TRY_AGAIN);
	assert_int_equal(fake_binding_calls(f->ovs, FAKE_UNPLUG), 1);
}

/* On a backend that reports ports up after the plug (Neutron: ACTIVE),
 * ADD waits for it too: a port never up is 11. */
static void test_add_backend_never_active(void **state)
{
	struct fx *f = *state;

	make_backend(f, BACKEND_CAP_ACTIVE_AFTER_PLUG);
	start(f);
	add_ok(f, "c1", "eth0", NULL);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_WAIT_UP), 1);
	json_decref(cni(f, "del", "c1", "eth0", NULL));
	fake_backend_set_ports_up(f->fb, false);
	add_fails(f, NULL, CNI_ERR_TRY_AGAIN);
}

/* The store failing (from another connection, its table renamed away:
 * every statement fails at once), and working again. */
static void store_set_broken(struct fx *f, bool broken)
{
	_cleanup_free_ char *path = strdup_printf("%s/kuryr.db", f->dir);
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db,
				      broken ? "ALTER TABLE attachments RENAME TO broken"
					     : "ALTER TABLE broken RENAME TO attachments",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
}

static void break_store(void *arg)
{
	store_set_broken(arg, true);
}

/* The store failing mid-ADD: 5; what was made is undone at once, and the
 * row goes too once the store works again (the janitor). */
static void test_add_store_failure(void **state)
{
	struct fx *f = *state;
	_cleanup_json_ json_t *r = NULL;

	start(f);
	fake_binding_on(f->ovs, FAKE_PLUG, break_store, f);
	r = cni(f, "add", "c1", "eth0", NULL);
	assert_code(r, CNI_ERR_IO);
	assert_int_equal(fake_binding_n_plugged(f->ovs), 0);
	assert_int_equal(fake_binding_pending_waits(f->ovs), 0);
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_CONTAINER), 0);
	store_set_broken(f, false);
	WAIT_UNTIL(n_rows(f) == 0);
	assert_nothing_left(f);
}

/* A store that fails before anything is made: ADD, DEL and GC answer 5
 * and touch nothing. */
static void test_store_broken(void **state)
{
	struct fx *f = *state;
	json_t *r;

	start(f);
	add_ok(f, "c1", "eth0", NULL);
	store_set_broken(f, true);
	r = cni(f, "add", "c2", "eth1", NULL);
	assert_code(r, CNI_ERR_IO);
	json_decref(r);
	r = cni(f, "del", "c1", "eth0", NULL);
	assert_code(r, CNI_ERR_IO);
	json_decref(r);
	r = cni(f, "gc", "", "", NULL);
	assert_code(r, CNI_ERR_IO);
	json_decref(r);
	store_set_broken(f, false);
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_CONTAINER), 1);
	assert_int_equal(fake_binding_n_plugged(f->ovs), 1);
	assert_int_equal(n_rows(f), 1);
}

/* The same container and ifname attached twice: 100, the first kept. */
static void test_add_already_attached(void **state)
{
	struct fx *f = *state;
	json_t *r;

	start(f);
	add_ok(f, "c1", "eth0", NULL);
	r = cni(f, "add", "c1", "eth0", NULL);
	assert_code(r, KURYR_ERR_ALREADY_ATTACHED);
	json_decref(r);
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_CONTAINER), 1);
	assert_int_equal(fake_binding_n_plugged(f->ovs), 1);
	assert_int_equal(n_rows(f), 1);
}

/* ---- pools ---- */

static void start_with_pool(struct fx *f)
{

	f->cfg.pool_enabled = true;
	f->cfg.pool_prewire = true;
	start(f);
	expect_ctl(f, "pool.populate", "{\"network\": \"net1\"}", 0);
}

/* Ready entries in net1's pool. */
static int pool_ready(struct fx *f)
{
	_cleanup_json_ json_t *r = ctl(f, "pool.show", "{\"network\": \"net1\"}");

	return (int)json_integer_value(json_object_get(json_object_get(r, "result"), "ready"));
}

/* Backend calls an ADD may not make: all but those background threads
 * make (the janitor's sweep lists ports, the note thread records users). */
#define BACKGROUND ((1u << FAKE_PORT_LIST) | (1u << FAKE_PORT_SET_DEVICE))

/* ADD from a ready pre-wired entry makes no backend call: the pod's
 * device goes on the parked stub; the backend learns the user later. DEL
 * gives the entry back (detached now, unplugged in the background). */
static void test_add_prewired_hit(void **state)
{
	struct fx *f = *state;
	_cleanup_json_ json_t *r = NULL, *a = NULL;
	struct kuryr_port p;
	struct fake_stub s;
	struct fake_plug pl;
	unsigned calls;

	start_with_pool(f);
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_POOL), 1);
	calls = fake_backend_calls_but(f->fb, BACKGROUND);
	r = cni(f, "add", "c1", "eth0", NULL);
	assert_code(r, 0);
	assert_int_equal(fake_backend_calls_but(f->fb, BACKGROUND), calls);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE), 0);
	assert_int_equal(fake_binding_calls(f->ovs, FAKE_PLUG), 0);
	a = rows(f);
	assert_string_equal(row_field(a, "c1", "binding"), "prewire");
	assert_string_equal(row_field(a, "c1", "state"), "done");
	assert_int_equal(fake_backend_port(f->fb, row_field(a, "c1", "port"), &p), 0);
	assert_int_equal(p.owner, PORT_OWNER_POOL);
	assert_int_equal(fake_binding_plugged(f->pw, p.name, &pl), 0);
	assert_string_equal(pl.ifname, "eth0");
	assert_int_equal(fake_binding_stub(f->pw, p.name, &s), 0);
	assert_true(s.held);
	assert_string_equal(row_field(a, "c1", "host_ifname"), s.host_ifname);
	WAIT_UNTIL(fake_backend_port(f->fb, p.name, &p) == 0 && streq(p.device_id, "c1"));

	json_decref(r);
	r = cni(f, "del", "c1", "eth0", NULL);
	assert_code(r, 0);
	assert_int_equal(n_rows(f), 0);
	WAIT_UNTIL(fake_binding_n_plugged(f->pw) == 0);
	assert_int_equal(fake_binding_calls(f->pw, FAKE_DETACH), 1);
	assert_int_equal(fake_backend_port(f->fb, p.name, &p), 0);
	WAIT_UNTIL(fake_backend_port(f->fb, p.name, &p) == 0 && streq(p.device_id, ""));
	assert_int_equal(fake_binding_stub(f->pw, p.name, &s), 0);
	assert_false(s.held);
	/* Ready again: the next ADD hits it. */
	WAIT_UNTIL(pool_ready(f) == 1);
	json_decref(r);
	r = cni(f, "add", "c2", "eth0", NULL);
	assert_code(r, 0);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE), 0);
}

/* A network named by its id takes from the pool of its name. */
static void test_add_prewired_hit_by_id(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *extra = NULL;

	start_with_pool(f);
	extra = strdup_printf("{\"network\": \"%s\"}", f->net1.id);
	add_ok(f, "c1", "eth0", extra);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE), 0);
	assert_int_equal(fake_binding_n_plugged(f->pw), 1);
}

/* A pre-wired entry DEL'ed without the pod's netns (the container is
 * gone) is destroyed: its port and stub go. */
static void test_del_prewired_without_netns(void **state)
{
	struct fx *f = *state;
	struct kuryr_port p;
	json_t *r;

	start_with_pool(f);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_POOL, HOST, &p), 0);
	add_ok(f, "c1", "eth0", NULL);
	assert_int_equal(fake_binding_plugged(f->pw, p.name, NULL), 0);
	r = cni_fd(f, "del", "c1", "eth0", NULL, -1);
	assert_code(r, 0);
	json_decref(r);
	assert_int_equal(fake_backend_port(f->fb, p.name, &p), -ENOENT);
	assert_int_equal(fake_binding_stub(f->pw, p.name, NULL), -ENOENT);
	assert_int_equal(n_rows(f), 0);
}

/* A pool entry whose stub is gone is destroyed and the ADD goes on with
 * a port of its own. */
static void test_add_unusable_entry_falls_back(void **state)
{
	struct fx *f = *state;
	struct kuryr_port p, mine;

	start_with_pool(f);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_POOL, HOST, &p), 0);
	fake_binding_break_stub(f->pw, p.name);
	add_ok(f, "c1", "eth0", NULL);
	assert_int_equal(fake_backend_port(f->fb, p.name, &p), -ENOENT);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_CONTAINER, "c1", &mine), 0);
	assert_int_equal(fake_binding_plugged(f->ovs, mine.name, NULL), 0);
}

/* A pre-wired ADD whose name is taken in the pod is 101; the entry goes
 * back to its pool untouched. */
static void test_add_prewired_ifname_taken(void **state)
{
	struct fx *f = *state;
	_cleanup_json_ json_t *r = NULL;
	struct kuryr_port p;

	start_with_pool(f);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_POOL, HOST, &p), 0);
	fake_binding_fail_next(f->pw, FAKE_PLUG, -EADDRINUSE);
	r = cni(f, "add", "c1", "eth0", NULL);
	assert_code(r, KURYR_ERR_IFNAME_EXISTS);
	assert_nothing_left(f);
	assert_int_equal(fake_backend_port(f->fb, p.name, &p), 0);
	assert_int_equal(pool_ready(f), 1);
}

/* The store failing to record a pre-wired ADD: 5, the pod's device
 * unplugged and the entry destroyed (its port and stub). */
static void test_add_prewired_store_failure(void **state)
{
	struct fx *f = *state;
	_cleanup_json_ json_t *r = NULL;
	struct kuryr_port p;

	start_with_pool(f);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_POOL, HOST, &p), 0);
	fake_binding_on(f->pw, FAKE_PLUG, break_store, f);
	r = cni(f, "add", "c1", "eth0", NULL);
	assert_code(r, CNI_ERR_IO);
	store_set_broken(f, false);
	assert_nothing_left(f);
	assert_int_equal(fake_backend_port(f->fb, p.name, &p), -ENOENT);
	assert_int_equal(fake_binding_stub(f->pw, p.name, NULL), -ENOENT);
}

/* A DEL the store could not finish is retried by the runtime; by then the
 * entry may serve another container, and the retry must not give it out
 * a second time (two pods on one port) or take it from that container. */
static void test_del_retried_after_store_failure(void **state)
{
	struct fx *f = *state;
	_cleanup_json_ json_t *a = NULL;
	struct fake_plug pl;
	char port[64];
	json_t *r;

	start_with_pool(f);
	add_ok(f, "c1", "eth0", NULL);
	a = rows(f);
	COPY(port, row_field(a, "c1", "port"));
	fake_binding_on(f->pw, FAKE_DETACH, break_store, f);
	r = cni(f, "del", "c1", "eth0", NULL);
	json_decref(r); /* 11 if the row could not go, 0 if it went first */
	store_set_broken(f, false);
	WAIT_UNTIL(pool_ready(f) == 1);
	add_ok(f, "c2", "eth1", NULL);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE), 0);
	assert_int_equal(fake_binding_plugged(f->pw, port, &pl), 0);
	assert_string_equal(pl.ifname, "eth1");

	r = cni(f, "del", "c1", "eth0", NULL);
	assert_code(r, 0);
	json_decref(r);
	msleep(100);
	assert_int_equal(pool_ready(f), 0);
	assert_int_equal(fake_binding_plugged(f->pw, port, &pl), 0);
	assert_string_equal(pl.ifname, "eth1");
	/* The next container gets a port of its own, and c2 keeps its. */
	add_ok(f, "c3", "eth2", NULL);
	assert_int_equal(fake_binding_plugged(f->pw, port, &pl), 0);
	assert_string_equal(pl.ifname, "eth1");
	assert_int_equal(fake_backend_port(f->fb, port, &(struct kuryr_port){ 0 }), 0);
}

/* Pools and a container attached already: the plug finds CNI_IFNAME
 * taken, and the answer is 100 (not 101); the entry goes back. */
static void test_add_prewired_already_attached(void **state)
{
	struct fx *f = *state;
	_cleanup_json_ json_t *r = NULL;

	f->cfg.pool_min = 2;
	f->cfg.pool_max = 2;
	f->cfg.pool_batch = 2;
	start_with_pool(f);
	add_ok(f, "c1", "eth0", NULL);
	r = cni(f, "add", "c1", "eth0", NULL);
	assert_code(r, KURYR_ERR_ALREADY_ATTACHED);
	assert_int_equal(fake_binding_n_plugged(f->pw), 1);
	assert_int_equal(n_rows(f), 1);
	assert_int_equal(pool_ready(f), 1);
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_POOL), 2);
}

/* Port-only pools: ADD plugs a veth for a ready pool port without a
 * backend call; DEL unplugs it and the port is ready again. */
static void test_add_port_only_hit(void **state)
{
	struct fx *f = *state;
	_cleanup_json_ json_t *a = NULL;
	struct kuryr_port p;
	unsigned calls;
	json_t *r;

	f->cfg.pool_enabled = true;
	f->cfg.pool_prewire = false;
	start(f);
	expect_ctl(f, "pool.populate", "{\"network\": \"net1\"}", 0);
	assert_int_equal(fake_binding_calls(f->pw, FAKE_PARK), 0);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_POOL, HOST, &p), 0);
	calls = fake_backend_calls_but(f->fb, BACKGROUND);
	add_ok(f, "c1", "eth0", NULL);
	assert_int_equal(fake_backend_calls_but(f->fb, BACKGROUND), calls);
	a = rows(f);
	assert_string_equal(row_field(a, "c1", "port"), p.name);
	assert_string_equal(row_field(a, "c1", "binding"), "ovs");
	assert_int_equal(fake_binding_plugged(f->ovs, p.name, NULL), 0);
	r = cni(f, "del", "c1", "eth0", NULL);
	assert_code(r, 0);
	json_decref(r);
	assert_int_equal(fake_binding_n_plugged(f->ovs), 0);
	assert_int_equal(fake_backend_port(f->fb, p.name, &p), 0);
	assert_int_equal(pool_ready(f), 1);
	assert_int_equal(n_rows(f), 0);
}

/* At a start with pools, pre-wired attachments a crashed ADD left, or
 * whose pod went, are destroyed (port and stub); a live one stays in use
 * and goes back to its pool at DEL. */
static void test_recovery_with_pools(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *err = NULL;
	_cleanup_json_ json_t *a = NULL;
	char p1[64], p2[64], p3[64];
	struct attachment row;
	struct store *s;
	json_t *r;

	f->cfg.pool_min = 3;
	f->cfg.pool_max = 3;
	f->cfg.pool_batch = 3;
	start_with_pool(f);
	add_ok(f, "c1", "eth0", NULL);
	add_ok(f, "c2", "eth1", NULL);
	add_ok(f, "c3", "eth2", NULL);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE), 0);
	a = rows(f);
	COPY(p1, row_field(a, "c1", "port"));
	COPY(p2, row_field(a, "c2", "port"));
	COPY(p3, row_field(a, "c3", "port"));
	json_decref(TAKE_PTR(a));
	stop(f);

	assert_int_equal(store_open(f->dir, &s, &err), 0);
	assert_int_equal(store_get(s, "c1", "eth0", &row), 0);
	row.state = ATTACH_PORT;
	assert_int_equal(store_update(s, &row), 0);
	store_free(s);
	fake_binding_pod_gone(f->pw, p2);

	start(f);
	a = rows(f);
	assert_int_equal(json_array_size(a), 1);
	assert_non_null(row_field(a, "c3", "port"));
	assert_int_equal(fake_backend_port(f->fb, p1, &(struct kuryr_port){ 0 }), -ENOENT);
	assert_int_equal(fake_backend_port(f->fb, p2, &(struct kuryr_port){ 0 }), -ENOENT);
	assert_int_equal(fake_binding_stub(f->pw, p1, NULL), -ENOENT);
	assert_int_equal(fake_binding_stub(f->pw, p2, NULL), -ENOENT);
	assert_int_equal(fake_binding_plugged(f->pw, p3, NULL), 0);
	r = ctl(f, "pool.show", "{\"network\": \"net1\"}");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(r, "result"), "in_use")), 1);
	json_decref(r);
	r = cni(f, "del", "c3", "eth2", NULL);
	assert_code(r, 0);
	json_decref(r);
	WAIT_UNTIL(fake_binding_n_plugged(f->pw) == 0 && pool_ready(f) == 3);
	assert_int_equal(fake_backend_port(f->fb, p3, &(struct kuryr_port){ 0 }), 0);
}

/* The first ADD on a network makes its pool (a miss) and is served by a
 * port of its own; the pool fills in the background and the next ADD
 * hits it. */
static void test_add_miss_starts_pool(void **state)
{
	struct fx *f = *state;
	_cleanup_json_ json_t *r = NULL;

	f->cfg.pool_enabled = true;
	start(f);
	add_ok(f, "c1", "eth0", NULL);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE), 1);
	r = ctl(f, "pool.show", "{\"network\": \"net1\"}");
	assert_code(r, 0);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(r, "result"), "misses")), 1);
	WAIT_UNTIL(pool_ready(f) == 1);
	add_ok(f, "c2", "eth1", NULL);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE), 1);
}

/* A network named by its id whose name another network also has takes
 * no pool (neither that name's nor a pool of its own). */
static void test_add_by_id_of_ambiguous_name(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *extra = NULL;
	_cleanup_json_ json_t *r = NULL;
	struct kuryr_network dup;

	fake_backend_add_network(f->fb, "dup", "10.1.0.0/24", &dup);
	fake_backend_add_network(f->fb, "dup", "10.2.0.0/24", NULL);
	f->cfg.pool_enabled = true;
	start(f);
	extra = strdup_printf("{\"network\": \"%s\"}", dup.id);
	add_ok(f, "c1", "eth0", extra);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE), 1);
	msleep(50);
	r = ctl(f, "pool.list", NULL);
	assert_int_equal(json_array_size(json_object_get(r, "result")), 0);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE_BULK), 0);
}

static void start_port_only_pool(struct fx *f)
{

	f->cfg.pool_enabled = true;
	f->cfg.pool_prewire = false;
	start(f);
	expect_ctl(f, "pool.populate", "{\"network\": \"net1\"}", 0);
}

/* Port-only pools and a failing store: before the veth, 5 and the entry
 * back in its pool; after it, 5, the veth gone and the entry destroyed
 * (its row, left by the store, goes with the runtime's DEL). */
static void test_add_port_only_store_failure(void **state)
{
	struct fx *f = *state;
	struct kuryr_port p;
	json_t *r;

	start_port_only_pool(f);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_POOL, HOST, &p), 0);
	store_set_broken(f, true);
	r = cni(f, "add", "c1", "eth0", NULL);
	assert_code(r, CNI_ERR_IO);
	json_decref(r);
	store_set_broken(f, false);
	assert_int_equal(pool_ready(f), 1);
	assert_nothing_left(f);

	fake_binding_on(f->ovs, FAKE_PLUG, break_store, f);
	r = cni(f, "add", "c1", "eth0", NULL);
	assert_code(r, CNI_ERR_IO);
	json_decref(r);
	store_set_broken(f, false);
	assert_int_equal(fake_binding_n_plugged(f->ovs), 0);
	assert_int_equal(fake_backend_port(f->fb, p.name, &p), -ENOENT);
	r = cni_fd(f, "del", "c1", "eth0", NULL, -1);
	assert_code(r, 0);
	json_decref(r);
	assert_nothing_left(f);
}

/* Port-only pools: a DEL whose unplug fails is 11 and keeps the row and
 * the entry in use; the runtime's retry finishes it. */
static void test_del_port_only_unplug_fails(void **state)
{
	struct fx *f = *state;
	json_t *r;

	start_port_only_pool(f);
	add_ok(f, "c1", "eth0", NULL);
	fake_binding_fail_next(f->ovs, FAKE_UNPLUG, -EIO);
	r = cni(f, "del", "c1", "eth0", NULL);
	assert_code(r, CNI_ERR_TRY_AGAIN);
	json_decref(r);
	assert_int_equal(n_rows(f), 1);
	assert_int_equal(fake_binding_n_plugged(f->ovs), 1);
	assert_int_equal(pool_ready(f), 0);
	r = cni(f, "del", "c1", "eth0", NULL);
	assert_code(r, 0);
	json_decref(r);
	assert_int_equal(pool_ready(f), 1);
	assert_nothing_left(f);
}

/* Port-only pools: the datapath not ready in time is 11; the entry goes
 * back to its pool and nothing is left plugged. */
static void test_add_port_only_not_ready(void **state)
{
	struct fx *f = *state;

	f->cfg.pool_enabled = true;
	f->cfg.pool_prewire = false;
	f->cfg.port_up_timeout_ms = 100;
	start(f);
	expect_ctl(f, "pool.populate", "{\"network\": \"net1\"}", 0);
	fake_binding_set_ready(f->ovs, false);
	add_fails(f, NULL, CNI_ERR_TRY_AGAIN);
	assert_int_equal(pool_ready(f), 1);
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_POOL), 1);
}

/* The operator's view with pools: a pool port in use shows its container;
 * pool free destroys the ready entries; a network still holding a
 * container's port cannot be deleted (409), and can once it is gone. */
static void test_operator_verbs_with_pools(void **state)
{
	struct fx *f = *state;
	struct kuryr_port p;
	json_t *r, *e;
	size_t i;
	bool seen = false;

	f->cfg.pool_max = 2;
	f->cfg.pool_min = 2;
	f->cfg.pool_batch = 2;
	start_with_pool(f);
	add_ok(f, "c1", "eth0", NULL);
	r = ctl(f, "port.list", "{\"network\": \"net1\"}");
	assert_code(r, 0);
	json_array_foreach(json_object_get(r, "result"), i, e) {
		if (!streq(json_object_get_str(e, "device_id"), "c1"))
			continue;
		seen = true;
		assert_string_equal(json_object_get_str(e, "owner"), "container");
		assert_string_equal(json_object_get_str(e, "ifname"), "eth0");
	}
	assert_true(seen);
	json_decref(r);
	expect_ctl(f, "pool.free", "{\"network\": \"net1\"}", 0);
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_POOL), 1);
	expect_ctl(f, "network.delete", "{\"name\": \"net1\"}", 409);
	r = cni(f, "del", "c1", "eth0", NULL);
	assert_code(r, 0);
	json_decref(r);
	/* Back from its container into a pool being freed: destroyed. */
	WAIT_UNTIL(fake_backend_n_ports_of(f->fb, PORT_OWNER_POOL) == 0);
	expect_ctl(f, "network.delete", "{\"name\": \"net1\"}", 0);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_POOL, HOST, &p), -ENOENT);
	assert_int_equal(fake_binding_n_stubs(f->pw), 0);
}

/* ---- GC, STATUS, recovery, the janitor ---- */

/* GC removes this network's attachments missing from
 * cni.dev/valid-attachments, and keeps the others; one it cannot remove
 * yet is 11 and left for the next GC. */
static void test_gc(void **state)
{
	struct fx *f = *state;
	_cleanup_json_ json_t *a = NULL;
	json_t *r;

	fake_backend_add_network(f->fb, "net2", "10.2.0.0/24", NULL);
	start(f);
	add_ok(f, "c1", "eth0", NULL);
	add_ok(f, "c2", "eth1", NULL);
	add_ok(f, "c3", "eth2", "{\"network\": \"net2\"}");
	add_ok(f, "c4", "eth3", "{\"network\": \"net2\"}");
	r = cni(f, "gc", "", "",
		"{\"cni.dev/valid-attachments\": [{\"containerID\": \"c1\", \"ifname\": "
		"\"eth0\"}]}");
	assert_code(r, 0);
	json_decref(r);
	a = rows(f);
	assert_int_equal(json_array_size(a), 3);
	assert_non_null(row_field(a, "c1", "port"));
	assert_null(row_field(a, "c2", "port"));
	assert_non_null(row_field(a, "c3", "port"));
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_CONTAINER), 3);
	assert_int_equal(fake_binding_n_plugged(f->ovs), 3);
	r = cni(f, "gc", "", "", "{\"cni.dev/valid-attachments\": {}}");
	assert_code(r, CNI_ERR_INVALID_CONFIG);
	json_decref(r);
	/* What cannot be removed now is reported (11) and kept, for the
	 * next GC. */
	fake_backend_fail_always(f->fb, FAKE_PORT_DELETE, -ENOTCONN);
	r = cni(f, "gc", "", "", "{\"network\": \"net2\"}");
	assert_code(r, CNI_ERR_TRY_AGAIN);
	json_decref(r);
	assert_int_equal(n_rows(f), 3);
	fake_backend_fail_always(f->fb, FAKE_PORT_DELETE, 0);
	r = cni(f, "gc", "", "", "{\"network\": \"net2\"}");
	assert_code(r, 0);
	json_decref(r);
	r = cni(f, "gc", "", "", NULL);
	assert_code(r, 0);
	json_decref(r);
	assert_nothing_left(f);
}

/* STATUS: 50 while the backend or the node's datapath is unreachable. */
static void test_status(void **state)
{
	struct fx *f = *state;
	json_t *r;

	start(f);
	r = cni(f, "status", "", "", NULL);
	assert_code(r, 0);
	json_decref(r);
	fake_backend_set_reachable(f->fb, false);
	r = cni(f, "status", "", "", NULL);
	assert_code(r, CNI_ERR_NOT_AVAILABLE);
	json_decref(r);
	fake_backend_set_reachable(f->fb, true);
	fake_binding_set_connected(f->ovs, false);
	r = cni(f, "status", "", "", NULL);
	assert_code(r, CNI_ERR_NOT_AVAILABLE);
	json_decref(r);
}

/* At start, rows a crashed ADD left (not done) are rolled back; done
 * rows whose driver says the container is alive are kept, those it says
 * are gone (-ENODEV) are torn down. kuryrd lets go of what it was given
 * when it stops. */
static void test_recovery_at_start(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *err = NULL;
	_cleanup_json_ json_t *a = NULL;
	struct kuryr_port p1, p2, p3;
	struct attachment row;
	struct store *s;

	start(f);
	add_ok(f, "c1", "eth0", NULL);
	add_ok(f, "c2", "eth1", NULL);
	add_ok(f, "c3", "eth2", NULL);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_CONTAINER, "c1", &p1), 0);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_CONTAINER, "c2", &p2), 0);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_CONTAINER, "c3", &p3), 0);
	stop(f);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_FREE), 1);
	assert_int_equal(fake_binding_calls(f->ovs, FAKE_BINDING_FREE), 1);
	assert_int_equal(fake_binding_calls(f->pw, FAKE_BINDING_FREE), 1);

	/* c1's ADD never answered; c2's pod went while kuryrd was away. */
	assert_int_equal(store_open(f->dir, &s, &err), 0);
	assert_int_equal(store_get(s, "c1", "eth0", &row), 0);
	row.state = ATTACH_PLUGGED;
	assert_int_equal(store_update(s, &row), 0);
	store_free(s);
	fake_binding_pod_gone(f->ovs, p2.name);

	start(f);
	a = rows(f);
	assert_int_equal(json_array_size(a), 1);
	assert_non_null(row_field(a, "c3", "port"));
	assert_int_equal(fake_backend_port(f->fb, p1.name, &p1), -ENOENT);
	assert_int_equal(fake_backend_port(f->fb, p2.name, &p2), -ENOENT);
	assert_int_equal(fake_backend_port(f->fb, p3.name, &p3), 0);
	assert_int_equal(fake_binding_plugged(f->ovs, p1.name, NULL), -ENOENT);
	assert_int_equal(fake_binding_plugged(f->ovs, p3.name, NULL), 0);
}

/* A rollback at start the backend cannot do yet does not stop kuryrd:
 * the row stays and the janitor finishes it once the backend is back. */
static void test_recovery_backend_away(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *err = NULL;
	struct attachment row;
	struct store *s;

	start(f);
	add_ok(f, "c1", "eth0", NULL);
	stop(f);
	assert_int_equal(store_open(f->dir, &s, &err), 0);
	assert_int_equal(store_get(s, "c1", "eth0", &row), 0);
	row.state = ATTACH_PLUGGED;
	assert_int_equal(store_update(s, &row), 0);
	store_free(s);
	fake_backend_fail_always(f->fb, FAKE_PORT_DELETE, -ENOTCONN);
	start(f);
	assert_int_equal(n_rows(f), 1);
	fake_backend_fail_always(f->fb, FAKE_PORT_DELETE, 0);
	WAIT_UNTIL(n_rows(f) == 0);
	assert_nothing_left(f);
}

/* kuryrd needs the driver [binding] driver names ("ovs") for its
 * containers; without it it does not start, says which, and lets go of
 * what it was given. */
static void test_new_with_needs_ovs(void **state)
{
	struct fx *f = *state;
	struct binding *drivers[] = { fake_binding_get(f->pw) };
	_cleanup_free_ char *err = NULL;

	assert_int_equal(kuryrd_new_with(&f->cfg, fake_backend_get(f->fb), drivers, 1, &f->d, &err),
			 -EINVAL);
	assert_null(f->d);
	assert_non_null(strstr(err, "binding driver ovs is not on this node"));
	assert_int_equal(fake_backend_calls(f->fb, FAKE_FREE), 1);
	assert_int_equal(fake_binding_calls(f->pw, FAKE_BINDING_FREE), 1);
}

/* The janitor's first sweep deletes container ports of this node no row
 * knows and, with pools off, this node's idle pool ports with their
 * stubs; other nodes' ports and VM ports stay. */
static void test_janitor_sweeps_leftovers(void **state)
{
	struct fx *f = *state;
	struct kuryr_port ghost = { .owner = PORT_OWNER_CONTAINER, .prefixlen = 24 };
	struct kuryr_port other, vm, idle, p;

	COPY(ghost.name, "10000001-0000-4000-8000-000000000001");
	COPY(ghost.network, "net1");
	COPY(ghost.device_id, "ghost");
	COPY(ghost.host, HOST);
	other = ghost;
	COPY(other.name, "20000002-0000-4000-8000-000000000002");
	COPY(other.host, "node2");
	vm = ghost;
	COPY(vm.name, "30000003-0000-4000-8000-000000000003");
	vm.owner = PORT_OWNER_VM;
	idle = ghost;
	COPY(idle.name, "40000004-0000-4000-8000-000000000004");
	idle.owner = PORT_OWNER_POOL;
	COPY(idle.device_id, HOST);
	fake_backend_add_port(f->fb, &ghost);
	fake_backend_add_port(f->fb, &other);
	fake_backend_add_port(f->fb, &vm);
	fake_backend_add_port(f->fb, &idle);
	fake_binding_add_stub(f->pw, idle.name, false);
	start(f);
	add_ok(f, "c1", "eth0", NULL);
	WAIT_UNTIL(fake_backend_port(f->fb, ghost.name, &p) == -ENOENT);
	WAIT_UNTIL(fake_backend_port(f->fb, idle.name, &p) == -ENOENT);
	assert_int_equal(fake_binding_stub(f->pw, idle.name, NULL), -ENOENT);
	assert_int_equal(fake_backend_port(f->fb, other.name, &p), 0);
	assert_int_equal(fake_backend_port(f->fb, vm.name, &p), 0);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_CONTAINER, "c1", &p), 0);
}

/* ---- operator verbs ---- */

/* A few of kuryrctl's verbs: networks made and listed, a container's port
 * not deletable by hand (409) while a VM's is, unknown verbs 400, verbs a
 * backend has no capability for 501, pool verbs with pools off 409. */
static void test_operator_verbs(void **state)
{
	struct fx *f = *state;
	struct kuryr_port p;
	json_t *r;

	start(f);
	r = ctl(f, "network.create", "{\"name\": \"net2\", \"subnet\": \"10.2.0.0/24\"}");
	assert_code(r, 0);
	assert_string_equal(json_object_get_str(json_object_get(r, "result"), "gateway"),
			    "10.2.0.1");
	json_decref(r);
	expect_ctl(f, "network.create", "{\"name\": \"net2\", \"subnet\": \"10.3.0.0/24\"}", 409);
	r = ctl(f, "network.list", NULL);
	assert_code(r, 0);
	assert_int_equal(json_array_size(json_object_get(r, "result")), 2);
	json_decref(r);
	expect_ctl(f, "network.show", "{\"name\": \"nope\"}", 404);
	/* A subnet per family, as kuryrctl sends them: a list; two of one
	 * family, none, or a list too long are refused before the backend
	 * sees them. */
	r = ctl(f, "network.create",
		"{\"name\": \"ds\", \"subnet\": [\"10.4.0.0/24\", \"fd00:4::/64\"]}");
	assert_code(r, 0);
	assert_string_equal(json_object_get_str(json_object_get(r, "result"), "subnet"),
			    "10.4.0.0/24");
	assert_string_equal(json_object_get_str(json_object_get(r, "result"), "subnet6"),
			    "fd00:4::/64");
	json_decref(r);
	expect_ctl(f, "network.create",
		   "{\"name\": \"x\", \"subnet\": [\"10.5.0.0/24\", \"10.6.0.0/24\"]}", 400);
	expect_ctl(f, "network.create",
		   "{\"name\": \"x\", \"subnet\": [\"fd00:5::/64\", \"fd00:6::/64\"]}", 400);
	expect_ctl(f, "network.create", "{\"name\": \"x\", \"subnet\": []}", 400);
	expect_ctl(f, "network.create",
		   "{\"name\": \"x\", \"subnet\": [\"10.5.0.0/24\", \"fd00:5::/64\", "
		   "\"10.7.0.0/24\"]}",
		   400);
	expect_ctl(f, "network.create", "{\"name\": \"x\", \"subnet\": [5]}", 400);
	expect_ctl(f, "network.create", "{\"name\": \"x\"}", 400);
	r = ctl(f, "network.create", "{\"name\": \"only6\", \"subnet\": [\"fd00:7::/64\"]}");
	assert_code(r, 0);
	assert_string_equal(json_object_get_str(json_object_get(r, "result"), "subnet"), "");
	json_decref(r);
	expect_ctl(f, "network.show", "{\"name\": \"x\"}", 404);

	add_ok(f, "c1", "eth0", NULL);
	assert_int_equal(fake_backend_port_of(f->fb, PORT_OWNER_CONTAINER, "c1", &p), 0);
	expect_ctl(f, "port.delete", "{\"name\": \"x\"}", 404);
	{
		_cleanup_free_ char *args = strdup_printf("{\"name\": \"%s\"}", p.name);

		r = ctl(f, "port.delete", args);
		assert_code(r, 409);
		json_decref(r);
	}
	assert_int_equal(fake_backend_port(f->fb, p.name, &p), 0);
	expect_ctl(f, "port.create", "{\"network\": \"net2\", \"name\": \"vm1\"}", 0);
	expect_ctl(f, "port.delete", "{\"name\": \"vm1\"}", 0);
	expect_ctl(f, "network.delete", "{\"name\": \"net2\"}", 0);

	expect_ctl(f, "no.such-verb", NULL, 400);
	expect_ctl(f, "security-group.create", "{\"name\": \"web\"}", 501);
	expect_ctl(f, "qos.create", "{\"name\": \"slow\", \"max_kbps\": \"100\"}", 501);
	expect_ctl(f, "trunk.create", "{\"port\": \"vm1\"}", 501);
	expect_ctl(f, "vm.plug", "{\"tap\": \"tap0\", \"port\": \"vm1\"}", 501);
	expect_ctl(f, "pool.list", NULL, 409);
	r = ctl(f, "daemon.status", NULL);
	assert_code(r, 0);
	assert_string_equal(json_object_get_str(json_object_get(r, "result"), "backend"), "fake");
	assert_string_equal(json_object_get_str(json_object_get(r, "result"), "backend_at"),
			    "fake=" HOST);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(r, "result"), "attachments")), 1);
	json_decref(r);
}

/* ---- concurrency ---- */

struct worker {
	struct fx *f;
	int id;
	int failures;
};

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	char cid[32], ifname[16];

	snprintf(ifname, sizeof(ifname), "eth%d", w->id);
	for (int i = 0; i < 5; i++) {
		json_t *r;

		snprintf(cid, sizeof(cid), "w%d-%d", w->id, i);
		r = cni(w->f, "add", cid, ifname, NULL);
		w->failures += code_of(r) != 0;
		json_decref(r);
		r = cni(w->f, "del", cid, ifname, NULL);
		w->failures += code_of(r) != 0;
		json_decref(r);
	}
	return NULL;
}

/* ADDs and DELs from many threads at once, with pools on: every one
 * succeeds and nothing is left of the containers. */
static void test_concurrent_add_del(void **state)
{
	struct fx *f = *state;
	struct worker w[6];
	pthread_t t[ELEMENTSOF(w)];

	f->cfg.pool_max = 3;
	f->cfg.pool_batch = 2;
	start_with_pool(f);
	for (size_t i = 0; i < ELEMENTSOF(w); i++) {
		w[i] = (struct worker){ .f = f, .id = (int)i };
		assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (size_t i = 0; i < ELEMENTSOF(w); i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
	assert_int_equal(n_rows(f), 0);
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_CONTAINER), 0);
	assert_int_equal(fake_binding_n_plugged(f->ovs), 0);
	WAIT_UNTIL(fake_binding_n_plugged(f->pw) == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_add_miss),
		T(test_add_requested_addresses),
		T(test_add_subnet_info_and_dns),
		T(test_del),
		T(test_check),
		T(test_add_needs_netns),
		T(test_bad_requests),
		T(test_row_of_unknown_driver),
		T(test_port_policies),
		T(test_add_unknown_or_ambiguous_network),
		T(test_add_backend_unreachable),
		T(test_add_port_create_unreachable),
		T(test_rollback_retried_by_janitor),
		T(test_add_finishes_earlier_rollback),
		T(test_add_quota),
		T(test_add_requested_ip_refused),
		T(test_add_ifname_taken),
		T(test_add_plug_fails),
		T(test_add_not_ready),
		T(test_add_backend_never_active),
		T(test_add_store_failure),
		T(test_store_broken),
		T(test_add_already_attached),
		T(test_add_prewired_hit),
		T(test_add_prewired_hit_by_id),
		T(test_del_prewired_without_netns),
		T(test_add_unusable_entry_falls_back),
		T(test_add_prewired_ifname_taken),
		T(test_add_prewired_store_failure),
		T(test_add_prewired_already_attached),
		T(test_del_retried_after_store_failure),
		T(test_add_port_only_hit),
		T(test_recovery_with_pools),
		T(test_add_miss_starts_pool),
		T(test_add_by_id_of_ambiguous_name),
		T(test_add_port_only_not_ready),
		T(test_add_port_only_store_failure),
		T(test_del_port_only_unplug_fails),
		T(test_operator_verbs_with_pools),
		T(test_gc),
		T(test_status),
		T(test_recovery_at_start),
		T(test_recovery_backend_away),
		T(test_new_with_needs_ovs),
		T(test_janitor_sweeps_leftovers),
		T(test_operator_verbs),
		T(test_concurrent_add_del),
#undef T
	};

	/* Injected faults make kuryrd warn; KURYR_TEST_LOG=1 shows it. */
	if (!getenv("KURYR_TEST_LOG"))
		log_set_level(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
