/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for the pool manager, driven directly on an in-memory backend and
 * binding drivers (fake-backend.h, fake-binding.h) and a real attachment
 * store in a temporary directory: refills, hits and misses, entries given
 * back, released, drained and destroyed, populate and free, adoption at
 * start, and that a failure anywhere leaves no port or stub behind. No
 * root, no OVS, no namespaces of our own: a pod's netns is our own
 * (/proc/self/ns/net), which the fakes only tell apart by inode. */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "test-wait.h"

#include "fake-backend.h"
#include "fake-binding.h"
#include "json-util.h"
#include "log.h"
#include "pool/pool.h"
#include "store/store.h"
#include "time-util.h"

/* Into char array @dst, truncated; NULL as "". */
#define COPY(dst, src) copy_str((dst), sizeof(dst), (src))

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

#define HOST "node1"

/* Up to 5 s. */
#define WAIT_UNTIL(cond) WAIT_UNTIL_S(cond, 5)

struct fx {
	char dir[64];
	struct store *st;
	struct fake_backend *fb;
	struct fake_binding *ovs, *pw;
	struct pool_params pp;
	struct pool_mgr *m;
	int netns;
};

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path) < 0 ? -errno : 0;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	_cleanup_free_ char *err = NULL;

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kuryr-test-pool-XXXXXX");
	if (!mkdtemp(f->dir) || store_open(f->dir, &f->st, &err) < 0) {
		print_error("store in %s: %s\n", f->dir, err ? err : strerror(errno));
		return -1;
	}
	f->netns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (f->netns < 0)
		return -1;
	f->fb = fake_backend_new(HOST, 0);
	f->ovs = fake_binding_new_ovs();
	f->pw = fake_binding_new_prewire();
	fake_backend_add_network(f->fb, "net1", "10.0.0.0/24", NULL);
	/* Periodic refills out of the way: only takes, wants, populates and
	 * the first pass fill pools. */
	f->pp = (struct pool_params){
		.min = 2,
		.batch = 4,
		.update_ms = 60000,
		.port_up_timeout_ms = 1000,
		.host = HOST,
		.plug = fake_binding_get(f->ovs),
		.prewire = fake_binding_get(f->pw),
	};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int r;

	pool_mgr_free(f->m);
	store_free(f->st);
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
	_cleanup_free_ char *err = NULL;
	int r = pool_mgr_new(&f->pp, fake_backend_get(f->fb), f->st, &f->m, &err);

	if (r < 0)
		fail_msg("pool_mgr_new: %s", err ? err : strerror(-r));
}

struct counts {
	bool exists;
	int ready, in_use, draining, creating, hits, misses;
};

static struct counts counts(struct fx *f, const char *key)
{
	_cleanup_json_ json_t *a = pool_list_json(f->m, NULL);
	struct counts c = { 0 };
	json_t *p;
	size_t i;

	json_array_foreach(a, i, p) {
		if (!streq(json_object_get_str(p, "key"), key))
			continue;
		c.exists = true;
		c.ready = (int)json_integer_value(json_object_get(p, "ready"));
		c.in_use = (int)json_integer_value(json_object_get(p, "in_use"));
		c.draining = (int)json_integer_value(json_object_get(p, "draining"));
		c.creating = (int)json_integer_value(json_object_get(p, "creating"));
		c.hits = (int)json_integer_value(json_object_get(p, "hits"));
		c.misses = (int)json_integer_value(json_object_get(p, "misses"));
	}
	return c;
}

static int ready(struct fx *f, const char *key)
{
	return counts(f, key).ready;
}

static bool settled(struct fx *f, const char *key)
{
	struct counts c = counts(f, key);

	return c.exists && c.creating == 0;
}

/* No port or stub the pool does not account for, and no wait left open. */
static void assert_accounted(struct fx *f, const char *key)
{
	struct counts c = counts(f, key);
	size_t entries = (size_t)(c.ready + c.in_use + c.draining);

	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_POOL), entries);
	if (f->pp.prewire)
		assert_int_equal(fake_binding_n_stubs(f->pw), entries);
	assert_int_equal(fake_binding_pending_waits(f->pw), 0);
	assert_int_equal(fake_binding_pending_waits(f->ovs), 0);
}

/* What an ADD does with entry @e: plug a pod device on it in our netns
 * as @ifname, and record the attachment as done. */
static void use_entry(struct fx *f, const struct pool_entry *e, const char *cid, const char *ifname,
		      struct attachment *ret)
{
	struct binding *drv = e->prewired ? f->pp.prewire : f->pp.plug;
	struct binding_state st = e->prewired ? e->parked : (struct binding_state){ 0 };
	struct binding_req req = { .port = &e->port,
				   .net = &e->net,
				   .netns_fd = f->netns,
				   .ifname = ifname,
				   .device_id = cid };

	assert_int_equal(e->prewired ? binding_plug(drv, &req, &st, NULL)
				     : binding_attach(drv, &req, 1000, &st, NULL),
			 0);
	*ret = (struct attachment){
		.pooled = e->prewired ? ATTACH_POOL_PREWIRED : ATTACH_POOL_PORT,
		.state = ATTACH_DONE,
	};
	COPY(ret->container_id, cid);
	COPY(ret->ifname, ifname);
	COPY(ret->network, e->port.network);
	COPY(ret->port, e->port.name);
	COPY(ret->binding, binding_name(drv));
	COPY(ret->host_ifname, st.host_ifname);
	COPY(ret->binding_data, st.data);
	assert_int_equal(store_insert(f->st, ret), 0);
}

/* A pool port as an earlier run of node @host left it in the backend. */
static struct kuryr_port pool_port(const char *name, const char *host, const char *network,
				   unsigned ip)
{
	struct kuryr_port p = { .owner = PORT_OWNER_POOL, .prefixlen = 24, .up = true };

	COPY(p.name, name);
	COPY(p.network, network);
	COPY(p.host, host);
	COPY(p.device_id, host);
	COPY(p.pool_key, network);
	snprintf(p.mac, sizeof(p.mac), "fa:16:3e:aa:00:%02x", ip);
	snprintf(p.ip, sizeof(p.ip), "10.0.0.%u", ip);
	return p;
}

/* Port names whose first 12 hex digits differ, as stub names need. */
#define P1 "10000001-0000-4000-8000-000000000001"
#define P2 "20000002-0000-4000-8000-000000000002"
#define P3 "30000003-0000-4000-8000-000000000003"
#define P4 "40000004-0000-4000-8000-000000000004"
#define P5 "50000005-0000-4000-8000-000000000005"
#define P6 "60000006-0000-4000-8000-000000000006"
#define P7 "70000007-0000-4000-8000-000000000007"
#define P8 "80000008-0000-4000-8000-000000000008"
#define P9 "90000009-0000-4000-8000-000000000009"
#define PA "a000000a-0000-4000-8000-00000000000a"

/* ---- keys ---- */

/* A key is the network alone by default, else network|project|groups|qos
 * with the groups sorted and once each; separators in names are refused. */
static void test_pool_key(void **state)
{
	char k[POOL_KEY_MAX];
	char big[POOL_KEY_MAX + 8];

	assert_int_equal(pool_key(k, "net1", NULL, NULL, NULL), 0);
	assert_string_equal(k, "net1");
	assert_int_equal(
	    pool_key(k, "net1", "p", (const char *const[]){ "web", "db", "web", NULL }, "slow"), 0);
	assert_string_equal(k, "net1|p|db,web|slow");
	assert_int_equal(pool_key(k, "net1", "p", NULL, NULL), 0);
	assert_string_equal(k, "net1|p|-|");
	assert_int_equal(pool_key(k, "net1", NULL, (const char *const[]){ NULL }, NULL), 0);
	assert_string_equal(k, "net1|||");
	assert_int_equal(pool_key(k, "a|b", NULL, NULL, NULL), -EINVAL);
	assert_int_equal(pool_key(k, "net1", NULL, (const char *const[]){ "a,b", NULL }, NULL),
			 -EINVAL);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(pool_key(k, big, NULL, NULL, NULL), -E2BIG);
}

/* ---- refill, take, give back ---- */

/* A pool short of ports_pool_min is filled in one bulk request of
 * ports_pool_batch ports, every one pre-wired (parked, its wait done),
 * marked as this node's pool port of this pool. */
static void test_refill_one_bulk(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ struct kuryr_port *ports = NULL;
	size_t n = 0;

	start(f);
	pool_want(f->m, "net1", false);
	WAIT_UNTIL(ready(f, "net1") == 4);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE_BULK), 1);
	assert_int_equal(fake_backend_last_bulk(f->fb), 4);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE), 0);
	assert_int_equal(fake_binding_calls(f->pw, FAKE_PARK), 4);
	assert_int_equal(fake_backend_get(f->fb)->ops->port_list(fake_backend_get(f->fb), NULL,
								 &ports, &n, NULL),
			 0);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		struct fake_stub s;

		assert_int_equal(ports[i].owner, PORT_OWNER_POOL);
		assert_string_equal(ports[i].device_id, HOST);
		assert_string_equal(ports[i].pool_key, "net1");
		assert_int_equal(fake_binding_stub(f->pw, ports[i].name, &s), 0);
		assert_false(s.held);
	}
	assert_accounted(f, "net1");
	/* Full: nothing more is made. */
	msleep(50);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE_BULK), 1);
}

/* A take hands out a ready pre-wired entry with what ADD needs and no
 * backend call, counts a hit, and starts a refill of what it took. */
static void test_take_hit_then_refill(void **state)
{
	struct fx *f = *state;
	struct pool_entry e;
	struct fake_stub s;

	f->pp.min = 1;
	f->pp.batch = 1;
	start(f);
	assert_int_equal(pool_populate(f->m, "net1", NULL), 0);
	assert_int_equal(ready(f, "net1"), 1);
	assert_int_equal(pool_take(f->m, "net1", &e), 0);
	assert_true(e.prewired);
	assert_string_equal(e.key, "net1");
	assert_string_equal(e.net.gateway, "10.0.0.1");
	assert_string_equal(e.net.cidr, "10.0.0.0/24");
	assert_string_equal(e.port.ip, "10.0.0.2");
	assert_int_equal(e.port.prefixlen, 24);
	assert_int_equal(fake_binding_stub(f->pw, e.port.name, &s), 0);
	assert_string_equal(e.parked.data, s.name);
	assert_string_equal(e.parked.host_ifname, s.host_ifname);
	assert_string_equal(e.parked.driver, "prewire");
	assert_true(*e.parked.host_mac);
	assert_null(e.parked.watch);
	assert_int_equal(counts(f, "net1").hits, 1);
	assert_int_equal(counts(f, "net1").in_use, 1);
	/* The refill it started replaces the entry. */
	WAIT_UNTIL(ready(f, "net1") == 1);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE_BULK), 2);
	/* A take of a pool that does not exist misses without making one. */
	assert_int_equal(pool_take(f->m, "net2", &e), -ENOENT);
	assert_false(counts(f, "net2").exists);
}

/* A miss on an empty pool is counted and wakes the refill at once (the
 * periodic refill is a minute away). */
static void test_miss_schedules_refill(void **state)
{
	struct fx *f = *state;
	struct pool_entry e;

	f->pp.min = 1;
	f->pp.batch = 1;
	fake_backend_fail_always(f->fb, FAKE_PORT_CREATE_BULK, -ENOTCONN);
	start(f);
	pool_want(f->m, "net1", false);
	WAIT_UNTIL(fake_backend_calls(f->fb, FAKE_PORT_CREATE_BULK) >= 1 && settled(f, "net1"));
	fake_backend_fail_always(f->fb, FAKE_PORT_CREATE_BULK, 0);
	assert_int_equal(pool_take(f->m, "net1", &e), -ENOENT);
	assert_int_equal(counts(f, "net1").misses, 1);
	WAIT_UNTIL(ready(f, "net1") == 1);
	assert_accounted(f, "net1");
}

/* A refill that fails is not retried in a loop: the backend is asked
 * again at the next wake-up or update period, not hundreds of times a
 * second. */
static void test_refill_failure_backs_off(void **state)
{
	struct fx *f = *state;

	fake_backend_fail_always(f->fb, FAKE_PORT_CREATE_BULK, -ENOTCONN);
	start(f);
	pool_want(f->m, "net1", false);
	WAIT_UNTIL(fake_backend_calls(f->fb, FAKE_PORT_CREATE_BULK) >= 1);
	msleep(300);
	assert_in_range(fake_backend_calls(f->fb, FAKE_PORT_CREATE_BULK), 1, 2);
	assert_int_equal(fake_backend_n_ports(f->fb), 0);
}

/* A pool whose refill keeps failing (its network is gone) does not keep
 * the other pools from filling. */
static void test_failing_pool_does_not_starve_others(void **state)
{
	struct fx *f = *state;

	start(f);
	pool_want(f->m, "net1", false);
	pool_want(f->m, "gone", false);
	WAIT_UNTIL(ready(f, "net1") == 4);
	assert_int_equal(ready(f, "gone"), 0);
	assert_accounted(f, "net1");
}

/* An entry given back untouched (an ADD failed before using it) is ready
 * again, its stub still parked and free, without a backend call. */
static void test_give_back(void **state)
{
	struct fx *f = *state;
	struct pool_entry e;
	struct fake_stub s;
	unsigned calls;

	start(f);
	assert_int_equal(pool_populate(f->m, "net1", NULL), 0);
	assert_int_equal(pool_take(f->m, "net1", &e), 0);
	assert_int_equal(counts(f, "net1").in_use, 1);
	calls = fake_backend_calls_but(f->fb, 0);
	pool_give_back(f->m, &e);
	assert_int_equal(counts(f, "net1").in_use, 0);
	assert_int_equal(ready(f, "net1"), 4);
	assert_int_equal(fake_backend_calls_but(f->fb, 0), calls);
	assert_int_equal(fake_binding_stub(f->pw, e.port.name, &s), 0);
	assert_false(s.held);
	assert_accounted(f, "net1");
}

/* ---- release ---- */

/* DEL of a done pre-wired attachment: the pod's device is detached at
 * once (its name free for the next ADD in that netns), unplugged in the
 * background, and the entry is ready again with its stub free; the
 * backend is told the port has no user. */
static void test_release_prewired(void **state)
{
	struct fx *f = *state;
	struct attachment a;
	struct pool_entry e;
	struct fake_plug p;
	struct kuryr_port kp;
	struct fake_stub s;

	start(f);
	assert_int_equal(pool_populate(f->m, "net1", NULL), 0);
	assert_int_equal(pool_take(f->m, "net1", &e), 0);
	use_entry(f, &e, "c1", "eth0", &a);
	assert_int_equal(fake_binding_plugged(f->pw, e.port.name, &p), 0);
	assert_string_equal(p.ifname, "eth0");

	assert_int_equal(pool_release(f->m, &a, f->netns, NULL), 0);
	assert_int_equal(fake_binding_calls(f->pw, FAKE_DETACH), 1);
	/* Detached: renamed out of the way, or already unplugged. */
	if (fake_binding_plugged(f->pw, e.port.name, &p) == 0) {
		assert_true(p.detached);
		assert_string_not_equal(p.ifname, "eth0");
	}
	WAIT_UNTIL(ready(f, "net1") == 4);
	assert_int_equal(fake_binding_plugged(f->pw, e.port.name, NULL), -ENOENT);
	assert_int_equal(fake_binding_calls(f->pw, FAKE_UNPLUG), 1);
	assert_int_equal(fake_binding_stub(f->pw, e.port.name, &s), 0);
	assert_false(s.held);
	WAIT_UNTIL(fake_backend_calls(f->fb, FAKE_PORT_SET_DEVICE) >= 1);
	assert_int_equal(fake_backend_port(f->fb, e.port.name, &kp), 0);
	assert_string_equal(kp.device_id, "");
	assert_accounted(f, "net1");
}

/* A pod device that will not go in the background (passthru: the stub
 * stays taken) makes the entry go for good. */
static void test_release_drain_failure_destroys(void **state)
{
	struct fx *f = *state;
	struct attachment a;
	struct pool_entry e;

	f->pp.min = 1;
	f->pp.batch = 1;
	start(f);
	assert_int_equal(pool_populate(f->m, "net1", NULL), 0);
	assert_int_equal(pool_take(f->m, "net1", &e), 0);
	use_entry(f, &e, "c1", "eth0", &a);
	fake_binding_fail_next(f->pw, FAKE_UNPLUG, -EBUSY);
	assert_int_equal(pool_release(f->m, &a, f->netns, NULL), 0);
	WAIT_UNTIL(fake_backend_port(f->fb, e.port.name, &(struct kuryr_port){ 0 }) == -ENOENT);
	assert_int_equal(fake_binding_stub(f->pw, e.port.name, NULL), -ENOENT);
	WAIT_UNTIL(ready(f, "net1") == 1 && settled(f, "net1"));
	assert_accounted(f, "net1");
}

/* A detach that fails for another reason than the device being gone
 * (netlink refused) still gets the pod's device removed in the
 * background: the entry is not handed out again with its stub taken. */
static void test_release_detach_failure(void **state)
{
	struct fx *f = *state;
	struct attachment a;
	struct pool_entry e;
	struct fake_stub s;

	start(f);
	assert_int_equal(pool_populate(f->m, "net1", NULL), 0);
	assert_int_equal(pool_take(f->m, "net1", &e), 0);
	use_entry(f, &e, "c1", "eth0", &a);
	fake_binding_fail_next(f->pw, FAKE_DETACH, -ENOBUFS);
	assert_int_equal(pool_release(f->m, &a, f->netns, NULL), 0);
	WAIT_UNTIL(ready(f, "net1") == 4);
	assert_int_equal(fake_binding_plugged(f->pw, e.port.name, NULL), -ENOENT);
	assert_int_equal(fake_binding_stub(f->pw, e.port.name, &s), 0);
	assert_false(s.held);
	assert_accounted(f, "net1");
}

/* A pod device already gone at DEL (detach: -ENODEV) leaves nothing to
 * unplug: the entry is ready again at once. */
static void test_release_device_gone(void **state)
{
	struct fx *f = *state;
	struct attachment a;
	struct pool_entry e;
	struct fake_stub s;

	start(f);
	assert_int_equal(pool_populate(f->m, "net1", NULL), 0);
	assert_int_equal(pool_take(f->m, "net1", &e), 0);
	use_entry(f, &e, "c1", "eth0", &a);
	fake_binding_pod_gone(f->pw, e.port.name);
	assert_int_equal(pool_release(f->m, &a, f->netns, NULL), 0);
	WAIT_UNTIL(ready(f, "net1") == 4);
	assert_int_equal(fake_binding_calls(f->pw, FAKE_UNPLUG), 0);
	assert_int_equal(fake_binding_stub(f->pw, e.port.name, &s), 0);
	assert_false(s.held);
	assert_accounted(f, "net1");
}

/* Port-only pools: DEL unplugs the container's veth now and the port is
 * ready again at once, without a backend call but the note. */
static void test_release_port_only(void **state)
{
	struct fx *f = *state;
	struct attachment a;
	struct pool_entry e;

	f->pp.prewire = NULL;
	start(f);
	assert_int_equal(pool_populate(f->m, "net1", NULL), 0);
	assert_int_equal(fake_binding_calls(f->pw, FAKE_PARK), 0);
	assert_int_equal(pool_take(f->m, "net1", &e), 0);
	assert_false(e.prewired);
	use_entry(f, &e, "c1", "eth0", &a);
	assert_int_equal(fake_binding_n_plugged(f->ovs), 1);

	assert_int_equal(pool_release(f->m, &a, f->netns, NULL), 0);
	assert_int_equal(fake_binding_n_plugged(f->ovs), 0);
	assert_int_equal(ready(f, "net1"), 4);
	assert_int_equal(fake_backend_port(f->fb, e.port.name, &(struct kuryr_port){ 0 }), 0);
	assert_accounted(f, "net1");
}

/* A pre-wired entry released without the pod's netns (the container is
 * gone) is destroyed: its stub, the pod's device with it, and its port. */
static void test_release_without_netns_destroys(void **state)
{
	struct fx *f = *state;
	struct attachment a;
	struct pool_entry e;

	f->pp.min = 1;
	f->pp.batch = 1;
	start(f);
	assert_int_equal(pool_populate(f->m, "net1", NULL), 0);
	assert_int_equal(pool_take(f->m, "net1", &e), 0);
	use_entry(f, &e, "c1", "eth0", &a);
	assert_int_equal(pool_release(f->m, &a, -1, NULL), 0);
	assert_int_equal(fake_backend_port(f->fb, e.port.name, &(struct kuryr_port){ 0 }), -ENOENT);
	assert_int_equal(fake_binding_stub(f->pw, e.port.name, NULL), -ENOENT);
	assert_int_equal(fake_binding_plugged(f->pw, e.port.name, NULL), -ENOENT);
	assert_int_equal(fake_binding_calls(f->pw, FAKE_DETACH), 0);
	/* The pool refills what went. */
	WAIT_UNTIL(ready(f, "net1") == 1 && settled(f, "net1"));
	assert_accounted(f, "net1");
}

/* An attachment that never finished gives its entry up even with the
 * pod's netns: nobody knows what state it is in. */
static void test_release_unfinished_destroys(void **state)
{
	struct fx *f = *state;
	struct attachment a;
	struct pool_entry e;

	f->pp.min = 1;
	f->pp.batch = 1;
	start(f);
	assert_int_equal(pool_populate(f->m, "net1", NULL), 0);
	assert_int_equal(pool_take(f->m, "net1", &e), 0);
	use_entry(f, &e, "c1", "eth0", &a);
	a.state = ATTACH_PORT;
	assert_int_equal(pool_release(f->m, &a, f->netns, NULL), 0);
	assert_int_equal(fake_backend_port(f->fb, e.port.name, &(struct kuryr_port){ 0 }), -ENOENT);
	assert_int_equal(fake_binding_stub(f->pw, e.port.name, NULL), -ENOENT);
	assert_int_equal(fake_binding_plugged(f->pw, e.port.name, NULL), -ENOENT);
	WAIT_UNTIL(ready(f, "net1") == 1 && settled(f, "net1"));
	assert_accounted(f, "net1");
}

/* An entry coming back to a pool above ports_pool_max (adopted from a run
 * with a higher limit) is destroyed instead of kept. */
static void test_over_max_destroyed_on_return(void **state)
{
	struct fx *f = *state;
	const char *names[] = { P1, P2, P3 };
	struct attachment a;
	struct pool_entry e;

	for (unsigned i = 0; i < ELEMENTSOF(names); i++) {
		struct kuryr_port p = pool_port(names[i], HOST, "net1", 10 + i);

		fake_backend_add_port(f->fb, &p);
		fake_binding_add_stub(f->pw, names[i], false);
	}
	f->pp.min = 0;
	f->pp.max = 2;
	start(f);
	assert_int_equal(ready(f, "net1"), 3);
	assert_int_equal(pool_take(f->m, "net1", &e), 0);
	use_entry(f, &e, "c1", "eth0", &a);
	assert_int_equal(pool_release(f->m, &a, f->netns, NULL), 0);
	WAIT_UNTIL(fake_backend_port(f->fb, e.port.name, &(struct kuryr_port){ 0 }) == -ENOENT);
	assert_int_equal(fake_binding_stub(f->pw, e.port.name, NULL), -ENOENT);
	assert_int_equal(ready(f, "net1"), 2);
	assert_accounted(f, "net1");
}

/* ---- populate, free ---- */

/* populate returns once the pool holds ready entries, waiting for a
 * refill already in flight rather than making a second one. */
static void test_populate_waits_for_refill_in_flight(void **state)
{
	struct fx *f = *state;
	struct counts c;

	fake_backend_set_delay(f->fb, FAKE_PORT_CREATE_BULK, 300);
	start(f);
	pool_want(f->m, "net1", false);
	WAIT_UNTIL(counts(f, "net1").creating == 4);
	assert_int_equal(pool_populate(f->m, "net1", NULL), 0);
	c = counts(f, "net1");
	assert_int_equal(c.ready, 4);
	assert_int_equal(c.creating, 0);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE_BULK), 1);
	assert_accounted(f, "net1");
}

/* populate refuses a network that does not exist, and makes no pool. */
static void test_populate_unknown_network(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *err = NULL;

	start(f);
	assert_int_equal(pool_populate(f->m, "nope", &err), -ENOENT);
	assert_non_null(err);
	assert_false(counts(f, "nope").exists);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_CREATE_BULK), 0);
}

/* free destroys every ready entry (ports and stubs) and stops refills;
 * an entry in use stays until its container goes, and is then destroyed
 * rather than kept. */
static void test_free_ready(void **state)
{
	struct fx *f = *state;
	struct attachment a;
	struct pool_entry e;
	struct counts c;

	f->pp.min = 3;
	f->pp.batch = 3;
	start(f);
	assert_int_equal(pool_populate(f->m, "net1", NULL), 0);
	assert_int_equal(pool_take(f->m, "net1", &e), 0);
	use_entry(f, &e, "c1", "eth0", &a);
	/* The take started a refill; free waits for it and destroys its
	 * entries too. */
	assert_int_equal(pool_free_ready(f->m, "net1", NULL), 0);
	c = counts(f, "net1");
	assert_int_equal(c.ready, 0);
	assert_int_equal(c.in_use, 1);
	assert_int_equal(c.creating, 0);
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_POOL), 1);
	assert_int_equal(fake_binding_n_stubs(f->pw), 1);
	msleep(50);
	assert_int_equal(ready(f, "net1"), 0);

	assert_int_equal(pool_release(f->m, &a, f->netns, NULL), 0);
	WAIT_UNTIL(fake_backend_n_ports_of(f->fb, PORT_OWNER_POOL) == 0);
	assert_int_equal(fake_binding_n_stubs(f->pw), 0);
	assert_int_equal(fake_binding_n_plugged(f->pw), 0);
	/* A pool with nothing left goes at the next free. */
	assert_int_equal(pool_free_ready(f->m, NULL, NULL), 0);
	assert_false(counts(f, "net1").exists);
}

/* free waits for a refill in flight and destroys what it brings; pools
 * of other networks keep their entries. */
static void test_free_during_refill(void **state)
{
	struct fx *f = *state;
	struct counts c;

	fake_backend_add_network(f->fb, "net2", "10.2.0.0/24", NULL);
	start(f);
	assert_int_equal(pool_populate(f->m, "net2", NULL), 0);
	fake_backend_set_delay(f->fb, FAKE_PORT_CREATE_BULK, 200);
	pool_want(f->m, "net1", false);
	WAIT_UNTIL(counts(f, "net1").creating == 4);
	assert_int_equal(pool_free_ready(f->m, "net1", NULL), 0);
	c = counts(f, "net1");
	assert_false(c.exists);
	assert_int_equal(ready(f, "net2"), 4);
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_POOL), 4);
	assert_int_equal(fake_binding_n_stubs(f->pw), 4);
	assert_accounted(f, "net2");
}

/* A stop while entries wait to be installed leaves them (ports, stubs)
 * for the next start, which adopts those intact. */
static void test_stop_during_park(void **state)
{
	struct fx *f = *state;

	f->pp.port_up_timeout_ms = 60000;
	fake_binding_set_ready(f->pw, false);
	start(f);
	pool_want(f->m, "net1", false);
	WAIT_UNTIL(fake_binding_calls(f->pw, FAKE_WAIT_READY) >= 1);
	pool_mgr_free(f->m);
	f->m = NULL;
	assert_int_equal(fake_backend_n_ports_of(f->fb, PORT_OWNER_POOL), 4);
	assert_int_equal(fake_binding_n_stubs(f->pw), 4);
	assert_int_equal(fake_binding_pending_waits(f->pw), 0);
	f->pp.min = 0;
	start(f);
	assert_int_equal(ready(f, "net1"), 4);
	assert_accounted(f, "net1");
}

/* ---- recovery ---- */

/* At start, this node's pool ports are adopted, into the pool they were
 * made for: ready when their stub is parked and free, in use when an
 * attachment row holds them; destroyed when broken (stub broken, missing
 * or held by nobody; network gone).
 * Other nodes' ports and container ports are not touched; stubs whose
 * port is gone are dropped; a port whose container went is told so. */
static void test_recover_prewired(void **state)
{
	struct fx *f = *state;
	struct kuryr_port p, c7;
	struct attachment row = { .pooled = ATTACH_POOL_PREWIRED, .state = ATTACH_DONE };
	struct pool_entry e;
	struct counts c;
	struct fake_stub s;

	p = pool_port(P1, HOST, "net1", 11);
	COPY(p.device_id, "gone-container");
	fake_backend_add_port(f->fb, &p);
	fake_binding_add_stub(f->pw, P1, false);
	p = pool_port(P2, HOST, "net1", 12);
	fake_backend_add_port(f->fb, &p);
	fake_binding_add_stub(f->pw, P2, true);
	COPY(row.container_id, "c2");
	COPY(row.ifname, "eth0");
	COPY(row.port, P2);
	COPY(row.network, "net1");
	COPY(row.binding, "prewire");
	assert_int_equal(store_insert(f->st, &row), 0);
	p = pool_port(P3, HOST, "net1", 13);
	fake_backend_add_port(f->fb, &p);
	fake_binding_add_stub(f->pw, P3, false);
	fake_binding_break_stub(f->pw, P3);
	p = pool_port(P4, HOST, "net1", 14);
	fake_backend_add_port(f->fb, &p);
	p = pool_port(P5, "node2", "net1", 15);
	fake_backend_add_port(f->fb, &p);
	p = pool_port(P6, HOST, "net1", 16);
	fake_backend_add_port(f->fb, &p);
	fake_binding_add_stub(f->pw, P6, true);
	c7 = pool_port(P7, HOST, "net1", 17);
	c7.owner = PORT_OWNER_CONTAINER;
	COPY(c7.device_id, "c7");
	fake_backend_add_port(f->fb, &c7);
	fake_binding_add_stub(f->pw, P8, false);
	p = pool_port(P9, HOST, "gone", 19);
	fake_backend_add_port(f->fb, &p);
	fake_binding_add_stub(f->pw, P9, false);
	p = pool_port(PA, HOST, "net1", 20);
	COPY(p.pool_key, "net1|p1|-|");
	fake_backend_add_port(f->fb, &p);
	fake_binding_add_stub(f->pw, PA, false);

	f->pp.min = 0;
	start(f);
	c = counts(f, "net1");
	assert_int_equal(c.ready, 1);
	assert_int_equal(c.in_use, 1);
	assert_false(counts(f, "gone").exists);
	/* A port made for a pool with choices goes back to that pool. */
	assert_int_equal(ready(f, "net1|p1|-|"), 1);
	assert_int_equal(fake_backend_port(f->fb, P1, &p), 0);
	assert_int_equal(fake_backend_port(f->fb, P2, &p), 0);
	assert_int_equal(fake_backend_port(f->fb, P3, &p), -ENOENT);
	assert_int_equal(fake_backend_port(f->fb, P4, &p), -ENOENT);
	assert_int_equal(fake_backend_port(f->fb, P5, &p), 0);
	assert_int_equal(fake_backend_port(f->fb, P6, &p), -ENOENT);
	assert_int_equal(fake_backend_port(f->fb, P7, &p), 0);
	assert_int_equal(fake_backend_port(f->fb, P9, &p), -ENOENT);
	assert_int_equal(fake_binding_stub(f->pw, P1, &s), 0);
	assert_false(s.held);
	assert_int_equal(fake_binding_stub(f->pw, P2, &s), 0);
	assert_true(s.held);
	assert_int_equal(fake_binding_n_stubs(f->pw), 3); /* P3, P6, P8, P9 gone */
	WAIT_UNTIL(fake_backend_port(f->fb, P1, &p) == 0 && streq(p.device_id, ""));
	/* The adopted entry is handed out as it was parked. */
	assert_int_equal(pool_take(f->m, "net1", &e), 0);
	assert_string_equal(e.port.name, P1);
	assert_true(e.prewired);
	assert_string_equal(e.net.gateway, "10.0.0.1");
	assert_int_equal(e.port.prefixlen, 24);
}

/* Port-only pools adopt this node's pool ports and unplug whatever an
 * earlier run left plugged on those nobody uses. */
static void test_recover_port_only(void **state)
{
	struct fx *f = *state;
	struct kuryr_port p1 = pool_port(P1, HOST, "net1", 11);
	struct kuryr_port p2 = pool_port(P2, HOST, "net1", 12);
	struct kuryr_network net = { .mtu = 1442 };
	struct binding_state st = { 0 };
	struct attachment row = { .pooled = ATTACH_POOL_PORT, .state = ATTACH_DONE };
	struct counts c;

	fake_backend_add_port(f->fb, &p1);
	fake_backend_add_port(f->fb, &p2);
	/* An earlier run's veths for both. */
	assert_int_equal(
	    binding_attach(f->pp.plug,
			   &(struct binding_req){
			       .port = &p1, .net = &net, .netns_fd = f->netns, .ifname = "eth1" },
			   1000, &st, NULL),
	    0);
	st = (struct binding_state){ 0 };
	assert_int_equal(
	    binding_attach(f->pp.plug,
			   &(struct binding_req){
			       .port = &p2, .net = &net, .netns_fd = f->netns, .ifname = "eth2" },
			   1000, &st, NULL),
	    0);
	COPY(row.container_id, "c2");
	COPY(row.ifname, "eth2");
	COPY(row.port, P2);
	COPY(row.binding, "ovs");
	COPY(row.host_ifname, st.host_ifname);
	assert_int_equal(store_insert(f->st, &row), 0);

	f->pp.min = 0;
	f->pp.prewire = NULL;
	start(f);
	c = counts(f, "net1");
	assert_int_equal(c.ready, 1);
	assert_int_equal(c.in_use, 1);
	assert_int_equal(fake_binding_plugged(f->ovs, P1, NULL), -ENOENT);
	assert_int_equal(fake_binding_plugged(f->ovs, P2, NULL), 0);
	assert_int_equal(fake_binding_calls(f->pw, FAKE_STUBS), 0);
}

/* A start that cannot see the backend's ports or the parked stubs fails,
 * saying why, and touches nothing. */
static void test_recover_failures_stop_the_start(void **state)
{
	struct fx *f = *state;
	struct kuryr_port p = pool_port(P1, HOST, "net1", 11);
	_cleanup_free_ char *err = NULL;

	fake_backend_add_port(f->fb, &p);
	fake_backend_fail_next(f->fb, FAKE_PORT_LIST, -ENOTCONN);
	assert_int_equal(pool_mgr_new(&f->pp, fake_backend_get(f->fb), f->st, &f->m, &err),
			 -ENOTCONN);
	assert_null(f->m);
	free(err);
	err = NULL;
	fake_binding_fail_next(f->pw, FAKE_STUBS, -EIO);
	assert_int_equal(pool_mgr_new(&f->pp, fake_backend_get(f->fb), f->st, &f->m, &err), -EIO);
	assert_null(f->m);
	assert_non_null(strstr(err, "holding netns"));
	assert_int_equal(fake_backend_n_ports(f->fb), 1);
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_DELETE), 0);
}

/* ---- failures while filling leave nothing behind ---- */

/* A port of the batch that cannot be parked is deleted; the others are
 * ready. */
static void test_park_failure_leaves_nothing(void **state)
{
	struct fx *f = *state;

	fake_binding_fail_next(f->pw, FAKE_PARK, -EIO);
	start(f);
	pool_want(f->m, "net1", false);
	WAIT_UNTIL(fake_backend_calls(f->fb, FAKE_PORT_DELETE) == 1 && settled(f, "net1"));
	assert_int_equal(ready(f, "net1"), 3);
	assert_accounted(f, "net1");
}

/* A driver that parks a batch at once (nested-vlan) is asked once per
 * refill, for the whole batch; if it fails, the whole batch goes. */
static void use_batch_prewire(struct fx *f)
{
	fake_binding_free(f->pw);
	f->pw = fake_binding_new_prewire_batch();
	f->pp.prewire = fake_binding_get(f->pw);
}

static void test_refill_parks_batch(void **state)
{
	struct fx *f = *state;

	use_batch_prewire(f);
	start(f);
	pool_want(f->m, "net1", false);
	WAIT_UNTIL(ready(f, "net1") == 4);
	assert_int_equal(fake_binding_calls(f->pw, FAKE_PARK_MANY), 1);
	assert_int_equal(fake_binding_calls(f->pw, FAKE_PARK), 0);
	assert_int_equal(fake_binding_n_stubs(f->pw), 4);
	assert_int_equal(fake_binding_pending_waits(f->pw), 0);
	assert_accounted(f, "net1");
}

static void test_park_batch_failure_leaves_nothing(void **state)
{
	struct fx *f = *state;

	use_batch_prewire(f);
	fake_binding_fail_next(f->pw, FAKE_PARK_MANY, -EAGAIN);
	start(f);
	pool_want(f->m, "net1", false);
	WAIT_UNTIL(fake_backend_calls(f->fb, FAKE_PORT_DELETE) == 4 && settled(f, "net1"));
	assert_int_equal(ready(f, "net1"), 0);
	assert_int_equal(fake_binding_n_stubs(f->pw), 0);
	assert_int_equal(fake_backend_n_ports(f->fb), 0);
	assert_accounted(f, "net1");
}

/* Adoption asks such a driver once about all of this node's pool ports. */
static void test_recover_asks_batch_once(void **state)
{
	struct fx *f = *state;
	struct kuryr_port p;

	use_batch_prewire(f);
	p = pool_port(P1, HOST, "net1", 11);
	fake_backend_add_port(f->fb, &p);
	fake_binding_add_stub(f->pw, P1, false);
	p = pool_port(P2, HOST, "net1", 12);
	fake_backend_add_port(f->fb, &p);
	fake_binding_add_stub(f->pw, P2, false);
	p = pool_port(P3, HOST, "net1", 13);
	fake_backend_add_port(f->fb, &p);
	p = pool_port(P5, "node2", "net1", 15);
	fake_backend_add_port(f->fb, &p);
	f->pp.min = 0;
	start(f);
	assert_int_equal(fake_binding_calls(f->pw, FAKE_PARKED_MANY), 1);
	assert_int_equal(fake_binding_calls(f->pw, FAKE_PARKED), 0);
	assert_int_equal(ready(f, "net1"), 2);
	/* P3 had no stub: gone; P5 is another node's. */
	assert_int_equal(fake_backend_port(f->fb, P3, &p), -ENOENT);
	assert_int_equal(fake_backend_port(f->fb, P5, &p), 0);
}

/* Entries OVN never installs within port_up_timeout are torn down, their
 * waits cancelled: no port, no stub. */
static void test_park_never_ready_leaves_nothing(void **state)
{
	struct fx *f = *state;

	f->pp.port_up_timeout_ms = 200;
	fake_binding_set_ready(f->pw, false);
	start(f);
	pool_want(f->m, "net1", false);
	WAIT_UNTIL(fake_backend_calls(f->fb, FAKE_PORT_DELETE) == 4 && settled(f, "net1"));
	assert_int_equal(ready(f, "net1"), 0);
	assert_int_equal(fake_backend_n_ports(f->fb), 0);
	assert_accounted(f, "net1");
}

/* A bulk create the backend refuses leaves no port and parks nothing. */
static void test_bulk_failure_leaves_nothing(void **state)
{
	struct fx *f = *state;

	fake_backend_fail_next(f->fb, FAKE_PORT_CREATE_BULK, -EDQUOT);
	start(f);
	pool_want(f->m, "net1", false);
	WAIT_UNTIL(fake_backend_calls(f->fb, FAKE_PORT_CREATE_BULK) >= 1 && settled(f, "net1"));
	assert_accounted(f, "net1");
}

/* On a backend that reports ports up after they are plugged (Neutron:
 * ACTIVE), an entry is ready only once it says so, asked port by port;
 * one it never reports up is torn down. */
static void test_wait_backend_up(void **state)
{
	struct fx *f = *state;

	f->pp.wait_backend_up = true;
	fake_backend_fail_next(f->fb, FAKE_PORT_WAIT_UP, -ETIMEDOUT);
	start(f);
	pool_want(f->m, "net1", false);
	WAIT_UNTIL(fake_backend_calls(f->fb, FAKE_PORT_DELETE) == 1 && settled(f, "net1"));
	assert_int_equal(fake_backend_calls(f->fb, FAKE_PORT_WAIT_UP), 4);
	assert_int_equal(ready(f, "net1"), 3);
	assert_accounted(f, "net1");
}

/* The same asked for the whole batch at once where the backend can: none
 * up, nothing kept. */
static void test_wait_backend_up_bulk(void **state)
{
	struct fx *f = *state;

	f->pp.wait_backend_up = true;
	fake_backend_set_bulk_wait(f->fb, true);
	fake_backend_set_ports_up(f->fb, false);
	start(f);
	pool_want(f->m, "net1", false);
	WAIT_UNTIL(fake_backend_calls(f->fb, FAKE_PORT_DELETE) == 4 && settled(f, "net1"));
	assert_int_equal(ready(f, "net1"), 0);
	assert_int_equal(fake_backend_n_ports(f->fb), 0);
	assert_accounted(f, "net1");
}

/* /metrics and pool list report the pool's entries, hits and misses. */
static void test_metrics(void **state)
{
	struct fx *f = *state;
	_cleanup_free_ char *text = NULL;
	_cleanup_json_ json_t *a = NULL;
	struct pool_entry e;
	size_t len = 0;
	FILE *out;

	f->pp.min = 1;
	f->pp.batch = 1;
	f->pp.max = 1;
	start(f);
	assert_int_equal(pool_populate(f->m, "net1", NULL), 0);
	assert_int_equal(pool_take(f->m, "net1", &e), 0);
	assert_int_equal(pool_take(f->m, "net1", &e), -ENOENT);
	out = open_memstream(&text, &len);
	assert_non_null(out);
	pool_write_metrics(f->m, out);
	fclose(out);
	assert_non_null(strstr(text, "kuryr_pool_ports{network=\"net1\",state=\"in_use\"} 1\n"));
	assert_non_null(strstr(text, "kuryr_pool_ports{network=\"net1\",state=\"ready\"} 0\n"));
	assert_non_null(strstr(text, "kuryr_pool_hits_total{network=\"net1\"} 1\n"));
	assert_non_null(strstr(text, "kuryr_pool_misses_total{network=\"net1\"} 1\n"));
	assert_non_null(strstr(text, "kuryr_pool_refill_seconds_count{network=\"net1\"} 1\n"));
	a = pool_list_json(f->m, "net2");
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	a = pool_list_json(f->m, "net1");
	assert_int_equal(json_array_size(a), 1);
	assert_true(json_is_true(json_object_get(json_array_get(a, 0), "prewire")));
	assert_string_equal(json_object_get_str(json_array_get(a, 0), "network"), "net1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_key),
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		T(test_refill_one_bulk),
		T(test_take_hit_then_refill),
		T(test_miss_schedules_refill),
		T(test_refill_failure_backs_off),
		T(test_failing_pool_does_not_starve_others),
		T(test_give_back),
		T(test_release_prewired),
		T(test_release_drain_failure_destroys),
		T(test_release_detach_failure),
		T(test_release_device_gone),
		T(test_release_port_only),
		T(test_release_without_netns_destroys),
		T(test_release_unfinished_destroys),
		T(test_over_max_destroyed_on_return),
		T(test_populate_waits_for_refill_in_flight),
		T(test_populate_unknown_network),
		T(test_free_ready),
		T(test_free_during_refill),
		T(test_stop_during_park),
		T(test_recover_prewired),
		T(test_recover_port_only),
		T(test_recover_failures_stop_the_start),
		T(test_park_failure_leaves_nothing),
		T(test_park_never_ready_leaves_nothing),
		T(test_refill_parks_batch),
		T(test_park_batch_failure_leaves_nothing),
		T(test_recover_asks_batch_once),
		T(test_bulk_failure_leaves_nothing),
		T(test_wait_backend_up),
		T(test_wait_backend_up_bulk),
		T(test_metrics),
#undef T
	};

	/* Injected faults make the code under test warn; KURYR_TEST_LOG=1
	 * shows it. */
	if (!getenv("KURYR_TEST_LOG"))
		log_set_level(LOG_LVL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
