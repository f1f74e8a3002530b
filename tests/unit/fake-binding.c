/* SPDX-License-Identifier: Apache-2.0 */
/* The unit tests' binding drivers: see fake-binding.h. One lock guards
 * every fake's pod devices and stubs (a pod's device names are one
 * namespace, whichever driver made them); every op counts itself, then
 * takes the fault ordered for it, then does its work. */
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>

#include "fake-binding.h"
#include "macro.h"
#include "time-util.h"

/* Into char array @dst, truncated; NULL as "". */
#define COPY(dst, src) copy_str((dst), sizeof(dst), (src))

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

struct fake_binding {
	struct binding base;
	char token; /* binding_state.watch of a pending wait points here */

	/* Guarded by fakes_lock. */
	struct fake_binding *next;
	struct fake_plug *plugs;
	size_t n_plugs;
	struct fake_stub *stubs;
	size_t n_stubs;
	unsigned calls[FAKE_BINDING_N_OPS];
	unsigned fail_n[FAKE_BINDING_N_OPS];
	int fail_next_err[FAKE_BINDING_N_OPS];
	int fail_always_err[FAKE_BINDING_N_OPS];
	unsigned pending;
	unsigned mac_seq;
	bool not_ready, disconnected;
	void (*hook[FAKE_BINDING_N_OPS])(void *);
	void *hook_arg[FAKE_BINDING_N_OPS];
};

static pthread_mutex_t fakes_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fake_binding *fakes; /* every live fake */

static struct fake_binding *to_fake(struct binding *b)
{
	return (struct fake_binding *)b;
}

static struct bridge_watch *token(struct fake_binding *fb)
{
	return (struct bridge_watch *)(void *)&fb->token;
}

/* With the lock held: count the call, return the fault ordered for it. */
static int fault(struct fake_binding *fb, enum fake_binding_op op, char **reterr_msg)
{
	int r = 0;

	fb->calls[op]++;
	if (fb->fail_always_err[op])
		r = fb->fail_always_err[op];
	else if (fb->fail_n[op]) {
		fb->fail_n[op]--;
		r = fb->fail_next_err[op];
	}
	if (r < 0)
		set_errmsg(reterr_msg, "fake %s: %s", fb->base.ops->name, strerror(-r));
	return r;
}

static ino_t netns_ino(int fd)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 ? st.st_ino : 0;
}

static struct fake_plug *find_plug(struct fake_binding *fb, const char *port)
{
	for (size_t i = 0; i < fb->n_plugs; i++)
		if (streq(fb->plugs[i].port, port))
			return &fb->plugs[i];
	return NULL;
}

static struct fake_plug *find_plug_by_host(struct fake_binding *fb, const char *host_ifname)
{
	for (size_t i = 0; i < fb->n_plugs; i++)
		if (streq(fb->plugs[i].host_ifname, host_ifname))
			return &fb->plugs[i];
	return NULL;
}

/* With fakes_lock held: whether a device of any fake has that name in
 * that netns. */
static bool name_taken(ino_t netns, const char *ifname)
{
	for (struct fake_binding *fb = fakes; fb; fb = fb->next)
		for (size_t i = 0; i < fb->n_plugs; i++)
			if (fb->plugs[i].netns == netns && streq(fb->plugs[i].ifname, ifname))
				return true;
	return false;
}

static void drop_plug(struct fake_binding *fb, struct fake_plug *p)
{
	*p = fb->plugs[--fb->n_plugs];
}

static struct fake_stub *find_stub(struct fake_binding *fb, const char *port)
{
	for (size_t i = 0; i < fb->n_stubs; i++)
		if (streq(fb->stubs[i].port, port))
			return &fb->stubs[i];
	return NULL;
}

static struct fake_stub *find_stub_by_name(struct fake_binding *fb, const char *name)
{
	for (size_t i = 0; i < fb->n_stubs; i++)
		if (streq(fb->stubs[i].name, name))
			return &fb->stubs[i];
	return NULL;
}

/* With the lock held: the stub goes, and with it whatever sits on it. */
static void drop_stub(struct fake_binding *fb, struct fake_stub *s)
{
	struct fake_plug *p = find_plug(fb, s->port);

	if (p)
		drop_plug(fb, p);
	*s = fb->stubs[--fb->n_stubs];
}

static struct fake_stub *push_stub(struct fake_binding *fb, const char *port)
{
	struct fake_stub *ns = realloc(fb->stubs, (fb->n_stubs + 1) * sizeof(*ns));
	struct fake_stub *s;

	if (!ns)
		abort();
	fb->stubs = ns;
	s = &fb->stubs[fb->n_stubs++];
	*s = (struct fake_stub){ 0 };
	COPY(s->port, port);
	binding_ifname(BINDING_PREFIX_STUB, port, s->name);
	binding_ifname(BINDING_PREFIX_HOST, port, s->host_ifname);
	return s;
}

static struct fake_plug *push_plug(struct fake_binding *fb, const struct binding_req *req,
				   const char *host_ifname)
{
	struct fake_plug *np = realloc(fb->plugs, (fb->n_plugs + 1) * sizeof(*np));
	struct fake_plug *p;

	if (!np)
		abort();
	fb->plugs = np;
	p = &fb->plugs[fb->n_plugs++];
	*p = (struct fake_plug){ .netns = netns_ino(req->netns_fd) };
	COPY(p->port, req->port->name);
	COPY(p->ifname, req->ifname);
	COPY(p->host_ifname, host_ifname);
	COPY(p->device_id, req->device_id);
	return p;
}

static void host_mac(struct fake_binding *fb, char mac[18])
{
	snprintf(mac, 18, "0a:58:00:00:%02x:%02x", (fb->mac_seq >> 8) & 0xff, fb->mac_seq & 0xff);
	fb->mac_seq++;
}

/* Outside the lock: the hook a test set for this call of @op. */
static void run_hook(struct fake_binding *fb, enum fake_binding_op op)
{
	void (*fn)(void *);
	void *arg;

	pthread_mutex_lock(&fakes_lock);
	fn = fb->hook[op];
	arg = fb->hook_arg[op];
	fb->hook[op] = NULL;
	pthread_mutex_unlock(&fakes_lock);
	if (fn)
		fn(arg);
}

/* With the lock held: the pod device of @req's port in @req's netns,
 * named as asked or as a detach renamed it (what prewire looks for). */
static struct fake_plug *find_pod_device(struct fake_binding *fb, const struct binding_req *req)
{
	char drain[IF_NAMESIZE];
	ino_t netns = netns_ino(req->netns_fd);

	binding_ifname(BINDING_PREFIX_DRAIN, req->port->name, drain);
	for (size_t i = 0; i < fb->n_plugs; i++) {
		struct fake_plug *p = &fb->plugs[i];

		if (streq(p->port, req->port->name) && p->netns == netns &&
		    (streq(p->ifname, req->ifname) || streq(p->ifname, drain)))
			return p;
	}
	return NULL;
}

/* ---- shared ops ---- */

static int fake_new(const struct binding_env *env, struct binding **ret, char **reterr_msg)
{
	set_errmsg(reterr_msg, "fake drivers are made with fake_binding_new_*()");
	return -EOPNOTSUPP;
}

static void fake_free(struct binding *b)
{
	struct fake_binding *fb = to_fake(b);

	pthread_mutex_lock(&fakes_lock);
	fb->calls[FAKE_BINDING_FREE]++;
	pthread_mutex_unlock(&fakes_lock);
}

static int fake_wait_ready(struct binding *b, struct binding_state *st, int timeout_ms,
			   char **reterr_msg)
{
	struct fake_binding *fb = to_fake(b);
	int r = 0;

	pthread_mutex_lock(&fakes_lock);
	if (st->watch != token(fb))
		; /* nothing to wait for */
	else if (timeout_ms < 0) {
		st->watch = NULL;
		fb->pending--;
	} else if ((r = fault(fb, FAKE_WAIT_READY, reterr_msg)) < 0)
		;
	else if (fb->not_ready) {
		/* Not ready: the wait takes its time, as a real one does
		 * (callers count time in slices of it). */
		pthread_mutex_unlock(&fakes_lock);
		msleep(timeout_ms);
		pthread_mutex_lock(&fakes_lock);
		if (fb->not_ready) {
			set_errmsg(reterr_msg, "fake: %s not ready within %d ms", st->host_ifname,
				   timeout_ms);
			r = -ETIMEDOUT;
		}
	}
	if (r == 0 && st->watch == token(fb)) {
		st->watch = NULL;
		fb->pending--;
	}
	pthread_mutex_unlock(&fakes_lock);
	return r;
}

static bool fake_connected(struct binding *b)
{
	struct fake_binding *fb = to_fake(b);
	bool up;

	pthread_mutex_lock(&fakes_lock);
	up = !fb->disconnected;
	pthread_mutex_unlock(&fakes_lock);
	return up;
}

/* ---- "ovs" ---- */

static int ovs_plug(struct binding *b, const struct binding_req *req, struct binding_state *st,
		    char **reterr_msg)
{
	struct fake_binding *fb = to_fake(b);
	char host_ifname[IF_NAMESIZE];
	int r;

	run_hook(fb, FAKE_PLUG);
	binding_ifname(BINDING_PREFIX_HOST, req->port->name, host_ifname);
	pthread_mutex_lock(&fakes_lock);
	r = fault(fb, FAKE_PLUG, reterr_msg);
	if (r == 0 && req->netns_fd < 0) {
		set_errmsg(reterr_msg, "fake ovs: no netns");
		r = -EBADF;
	}
	if (r == 0 && name_taken(netns_ino(req->netns_fd), req->ifname)) {
		set_errmsg(reterr_msg, "a device named %s exists in the container netns",
			   req->ifname);
		r = -EADDRINUSE;
	}
	if (r == 0 && find_plug_by_host(fb, host_ifname)) {
		set_errmsg(reterr_msg, "%s exists", host_ifname);
		r = -EEXIST;
	}
	if (r == 0) {
		push_plug(fb, req, host_ifname);
		COPY(st->host_ifname, host_ifname);
		host_mac(fb, st->host_mac);
		st->watch = token(fb);
		fb->pending++;
	}
	pthread_mutex_unlock(&fakes_lock);
	return r;
}

static int ovs_unplug(struct binding *b, const struct binding_req *req,
		      const struct binding_state *st, char **reterr_msg)
{
	struct fake_binding *fb = to_fake(b);
	char name[IF_NAMESIZE];
	struct fake_plug *p;
	int r;

	/* As the real one: the name derives from the port when the state
	 * was never recorded. */
	if (*st->host_ifname)
		COPY(name, st->host_ifname);
	else
		binding_ifname(BINDING_PREFIX_HOST, req->port->name, name);
	run_hook(fb, FAKE_UNPLUG);
	pthread_mutex_lock(&fakes_lock);
	r = fault(fb, FAKE_UNPLUG, reterr_msg);
	if (r == 0 && (p = find_plug_by_host(fb, name)))
		drop_plug(fb, p);
	pthread_mutex_unlock(&fakes_lock);
	return r;
}

static int ovs_check(struct binding *b, const struct binding_req *req,
		     const struct binding_state *st, char **reterr_msg)
{
	struct fake_binding *fb = to_fake(b);
	struct fake_plug *p;
	int r;

	pthread_mutex_lock(&fakes_lock);
	r = fault(fb, FAKE_CHECK, reterr_msg);
	p = r == 0 ? find_plug_by_host(fb, st->host_ifname) : NULL;
	if (r == 0 && (!p || (req->netns_fd >= 0 && (p->netns != netns_ino(req->netns_fd) ||
						     !streq(p->ifname, req->ifname))))) {
		set_errmsg(reterr_msg, "fake ovs: %s is gone", st->host_ifname);
		r = -ENODEV;
	}
	pthread_mutex_unlock(&fakes_lock);
	return r;
}

static const struct binding_ops fake_ovs_ops = {
	.name = "ovs",
	.new = fake_new,
	.free = fake_free,
	.plug = ovs_plug,
	.wait_ready = fake_wait_ready,
	.unplug = ovs_unplug,
	.check = ovs_check,
	.connected = fake_connected,
};

/* ---- "prewire" ---- */

static int pw_plug(struct binding *b, const struct binding_req *req, struct binding_state *st,
		   char **reterr_msg)
{
	struct fake_binding *fb = to_fake(b);
	struct fake_stub *s;
	int r;

	run_hook(fb, FAKE_PLUG);
	pthread_mutex_lock(&fakes_lock);
	r = fault(fb, FAKE_PLUG, reterr_msg);
	s = r == 0 ? find_stub(fb, req->port->name) : NULL;
	if (r == 0 && req->netns_fd < 0) {
		set_errmsg(reterr_msg, "fake prewire: no netns");
		r = -EBADF;
	} else if (r == 0 && (!s || s->broken)) {
		set_errmsg(reterr_msg, "fake prewire: no stub for %s", req->port->name);
		r = -ENODEV;
	} else if (r == 0 && s->held) {
		set_errmsg(reterr_msg, "fake prewire: stub %s is taken", s->name);
		r = -EBUSY;
	} else if (r == 0 && name_taken(netns_ino(req->netns_fd), req->ifname)) {
		set_errmsg(reterr_msg, "a device named %s exists in the container netns",
			   req->ifname);
		r = -EADDRINUSE;
	}
	if (r == 0) {
		s->held = true;
		push_plug(fb, req, s->host_ifname);
		if (!*st->host_ifname)
			COPY(st->host_ifname, s->host_ifname);
		if (!*st->data)
			COPY(st->data, s->name);
	}
	pthread_mutex_unlock(&fakes_lock);
	return r;
}

static int pw_detach(struct binding *b, const struct binding_req *req,
		     const struct binding_state *st, char **reterr_msg)
{
	struct fake_binding *fb = to_fake(b);
	struct fake_plug *p;
	int r;

	run_hook(fb, FAKE_DETACH);
	pthread_mutex_lock(&fakes_lock);
	r = fault(fb, FAKE_DETACH, reterr_msg);
	p = r == 0 ? find_pod_device(fb, req) : NULL;
	if (r == 0 && req->netns_fd < 0)
		r = -EBADF;
	else if (r == 0 && !p)
		r = -ENODEV;
	if (r == 0) {
		binding_ifname(BINDING_PREFIX_DRAIN, req->port->name, p->ifname);
		p->detached = true;
	}
	pthread_mutex_unlock(&fakes_lock);
	return r;
}

static int pw_unplug(struct binding *b, const struct binding_req *req,
		     const struct binding_state *st, char **reterr_msg)
{
	struct fake_binding *fb = to_fake(b);
	struct fake_plug *p;
	struct fake_stub *s;
	int r;

	run_hook(fb, FAKE_UNPLUG);
	pthread_mutex_lock(&fakes_lock);
	r = fault(fb, FAKE_UNPLUG, reterr_msg);
	s = find_stub(fb, req->port->name);
	if (r == 0 && req->netns_fd < 0) {
		/* Without the pod: the stub goes, the pod's device with it. */
		if (s)
			drop_stub(fb, s);
	} else if (r == 0 && (p = find_pod_device(fb, req))) {
		/* Only the device this entry made in that pod. */
		drop_plug(fb, p);
		if (s)
			s->held = false;
	}
	pthread_mutex_unlock(&fakes_lock);
	return r;
}

static int pw_check(struct binding *b, const struct binding_req *req,
		    const struct binding_state *st, char **reterr_msg)
{
	struct fake_binding *fb = to_fake(b);
	struct fake_stub *s;
	struct fake_plug *p;
	int r;

	pthread_mutex_lock(&fakes_lock);
	r = fault(fb, FAKE_CHECK, reterr_msg);
	s = find_stub(fb, req->port->name);
	p = find_plug(fb, req->port->name);
	if (r == 0 &&
	    (!s || !s->held || (req->netns_fd >= 0 && (!p || !streq(p->ifname, req->ifname))))) {
		set_errmsg(reterr_msg, "fake prewire: stub of %s carries no pod device",
			   req->port->name);
		r = -ENODEV;
	}
	pthread_mutex_unlock(&fakes_lock);
	return r;
}

static int pw_park(struct binding *b, const struct kuryr_port *port,
		   const struct kuryr_network *net, struct binding_state *ret, char **reterr_msg)
{
	struct fake_binding *fb = to_fake(b);
	struct fake_stub *s;
	int r;

	pthread_mutex_lock(&fakes_lock);
	r = fault(fb, FAKE_PARK, reterr_msg);
	if (r == 0 && find_stub(fb, port->name)) {
		set_errmsg(reterr_msg, "fake prewire: %s is parked already", port->name);
		r = -EEXIST;
	}
	if (r == 0) {
		s = push_stub(fb, port->name);
		*ret = (struct binding_state){ .watch = token(fb) };
		COPY(ret->host_ifname, s->host_ifname);
		COPY(ret->data, s->name);
		host_mac(fb, ret->host_mac);
		fb->pending++;
	}
	pthread_mutex_unlock(&fakes_lock);
	return r;
}

static void pw_unpark(struct binding *b, const char *port)
{
	struct fake_binding *fb = to_fake(b);
	struct fake_stub *s;

	pthread_mutex_lock(&fakes_lock);
	fb->calls[FAKE_UNPARK]++;
	s = find_stub(fb, port);
	if (s)
		drop_stub(fb, s);
	pthread_mutex_unlock(&fakes_lock);
}

/* With the lock held. */
static int parked_locked(struct fake_binding *fb, const char *port, struct binding_state *ret)
{
	struct fake_stub *s = find_stub(fb, port);

	if (!s || s->broken)
		return 0;
	*ret = (struct binding_state){ 0 };
	COPY(ret->driver, fb->base.ops->name);
	COPY(ret->host_ifname, s->host_ifname);
	COPY(ret->data, s->name);
	host_mac(fb, ret->host_mac);
	return s->held ? PARKED_HELD : PARKED_FREE;
}

static int pw_parked(struct binding *b, const char *port, struct binding_state *ret)
{
	struct fake_binding *fb = to_fake(b);
	int r = 0;

	pthread_mutex_lock(&fakes_lock);
	if (fault(fb, FAKE_PARKED, NULL) == 0)
		r = parked_locked(fb, port, ret);
	pthread_mutex_unlock(&fakes_lock);
	return r;
}

static void pw_parked_many(struct binding *b, const char *const *ports, size_t n, int *ret_states,
			   struct binding_state *ret)
{
	struct fake_binding *fb = to_fake(b);
	bool ok;

	pthread_mutex_lock(&fakes_lock);
	ok = fault(fb, FAKE_PARKED_MANY, NULL) == 0;
	for (size_t i = 0; i < n; i++)
		ret_states[i] = ok ? parked_locked(fb, ports[i], &ret[i]) : 0;
	pthread_mutex_unlock(&fakes_lock);
}

/* All or none, in one call. */
static int pw_park_many(struct binding *b, const struct kuryr_port *ports, size_t n,
			const struct kuryr_network *net, struct binding_state *ret,
			char **reterr_msg)
{
	struct fake_binding *fb = to_fake(b);
	int r;

	pthread_mutex_lock(&fakes_lock);
	r = fault(fb, FAKE_PARK_MANY, reterr_msg);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (find_stub(fb, ports[i].name)) {
			set_errmsg(reterr_msg, "fake prewire: %s is parked already", ports[i].name);
			r = -EEXIST;
		}
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct fake_stub *s = push_stub(fb, ports[i].name);

		ret[i] = (struct binding_state){ .watch = token(fb) };
		COPY(ret[i].host_ifname, s->host_ifname);
		COPY(ret[i].data, s->name);
		host_mac(fb, ret[i].host_mac);
		fb->pending++;
	}
	pthread_mutex_unlock(&fakes_lock);
	return r;
}

static int pw_stubs(struct binding *b, char (**ret)[IF_NAMESIZE], size_t *ret_n)
{
	struct fake_binding *fb = to_fake(b);
	char(*names)[IF_NAMESIZE];
	int r;

	pthread_mutex_lock(&fakes_lock);
	r = fault(fb, FAKE_STUBS, NULL);
	if (r == 0) {
		names = calloc(fb->n_stubs + 1, sizeof(*names));
		if (!names)
			abort();
		for (size_t i = 0; i < fb->n_stubs; i++)
			COPY(names[i], fb->stubs[i].name);
		*ret = names;
		*ret_n = fb->n_stubs;
	}
	pthread_mutex_unlock(&fakes_lock);
	return r;
}

static void pw_drop_stub(struct binding *b, const char *stub)
{
	struct fake_binding *fb = to_fake(b);
	struct fake_stub *s;

	pthread_mutex_lock(&fakes_lock);
	fb->calls[FAKE_DROP_STUB]++;
	s = find_stub_by_name(fb, stub);
	if (s)
		drop_stub(fb, s);
	pthread_mutex_unlock(&fakes_lock);
}

static const struct binding_park_ops fake_park_ops = {
	.park = pw_park,
	.unpark = pw_unpark,
	.parked = pw_parked,
	.stubs = pw_stubs,
	.drop_stub = pw_drop_stub,
};

static const struct binding_ops fake_prewire_ops = {
	.name = "prewire",
	.new = fake_new,
	.free = fake_free,
	.plug = pw_plug,
	.wait_ready = fake_wait_ready,
	.detach = pw_detach,
	.unplug = pw_unplug,
	.check = pw_check,
	.connected = fake_connected,
	.park = &fake_park_ops,
	.lower = "ovs",
};

static const struct binding_park_ops fake_park_batch_ops = {
	.park = pw_park,
	.park_many = pw_park_many,
	.unpark = pw_unpark,
	.parked = pw_parked,
	.parked_many = pw_parked_many,
	.stubs = pw_stubs,
	.drop_stub = pw_drop_stub,
};

static const struct binding_ops fake_prewire_batch_ops = {
	.name = "prewire",
	.new = fake_new,
	.free = fake_free,
	.plug = pw_plug,
	.wait_ready = fake_wait_ready,
	.detach = pw_detach,
	.unplug = pw_unplug,
	.check = pw_check,
	.connected = fake_connected,
	.park = &fake_park_batch_ops,
	.lower = "ovs",
};

/* ---- for the tests ---- */

static struct fake_binding *fake_binding_new(const struct binding_ops *ops)
{
	struct fake_binding *fb = calloc(1, sizeof(*fb));

	if (!fb)
		abort();
	fb->base.ops = ops;
	pthread_mutex_lock(&fakes_lock);
	fb->next = fakes;
	fakes = fb;
	pthread_mutex_unlock(&fakes_lock);
	return fb;
}

struct fake_binding *fake_binding_new_ovs(void)
{
	return fake_binding_new(&fake_ovs_ops);
}

struct fake_binding *fake_binding_new_prewire(void)
{
	return fake_binding_new(&fake_prewire_ops);
}

struct fake_binding *fake_binding_new_prewire_batch(void)
{
	return fake_binding_new(&fake_prewire_batch_ops);
}

void fake_binding_free(struct fake_binding *fb)
{
	if (!fb)
		return;
	pthread_mutex_lock(&fakes_lock);
	for (struct fake_binding **pp = &fakes; *pp; pp = &(*pp)->next)
		if (*pp == fb) {
			*pp = fb->next;
			break;
		}
	pthread_mutex_unlock(&fakes_lock);
	free(fb->plugs);
	free(fb->stubs);
	free(fb);
}

struct binding *fake_binding_get(struct fake_binding *fb)
{
	return &fb->base;
}

void fake_binding_fail_next(struct fake_binding *fb, enum fake_binding_op op, int err)
{
	pthread_mutex_lock(&fakes_lock);
	fb->fail_n[op]++;
	fb->fail_next_err[op] = err;
	pthread_mutex_unlock(&fakes_lock);
}

void fake_binding_fail_always(struct fake_binding *fb, enum fake_binding_op op, int err)
{
	pthread_mutex_lock(&fakes_lock);
	fb->fail_always_err[op] = err;
	pthread_mutex_unlock(&fakes_lock);
}

void fake_binding_set_ready(struct fake_binding *fb, bool ready)
{
	pthread_mutex_lock(&fakes_lock);
	fb->not_ready = !ready;
	pthread_mutex_unlock(&fakes_lock);
}

void fake_binding_set_connected(struct fake_binding *fb, bool connected)
{
	pthread_mutex_lock(&fakes_lock);
	fb->disconnected = !connected;
	pthread_mutex_unlock(&fakes_lock);
}

void fake_binding_on(struct fake_binding *fb, enum fake_binding_op op, void (*fn)(void *),
		     void *arg)
{
	pthread_mutex_lock(&fakes_lock);
	fb->hook[op] = fn;
	fb->hook_arg[op] = arg;
	pthread_mutex_unlock(&fakes_lock);
}

unsigned fake_binding_calls(struct fake_binding *fb, enum fake_binding_op op)
{
	unsigned n;

	pthread_mutex_lock(&fakes_lock);
	n = fb->calls[op];
	pthread_mutex_unlock(&fakes_lock);
	return n;
}

unsigned fake_binding_pending_waits(struct fake_binding *fb)
{
	unsigned n;

	pthread_mutex_lock(&fakes_lock);
	n = fb->pending;
	pthread_mutex_unlock(&fakes_lock);
	return n;
}

size_t fake_binding_n_plugged(struct fake_binding *fb)
{
	size_t n;

	pthread_mutex_lock(&fakes_lock);
	n = fb->n_plugs;
	pthread_mutex_unlock(&fakes_lock);
	return n;
}

int fake_binding_plugged(struct fake_binding *fb, const char *port, struct fake_plug *ret)
{
	struct fake_plug *p;

	pthread_mutex_lock(&fakes_lock);
	p = find_plug(fb, port);
	if (p && ret)
		*ret = *p;
	pthread_mutex_unlock(&fakes_lock);
	return p ? 0 : -ENOENT;
}

void fake_binding_pod_gone(struct fake_binding *fb, const char *port)
{
	struct fake_plug *p;
	struct fake_stub *s;

	pthread_mutex_lock(&fakes_lock);
	p = find_plug(fb, port);
	if (p)
		drop_plug(fb, p);
	s = find_stub(fb, port);
	if (s)
		s->held = false;
	pthread_mutex_unlock(&fakes_lock);
}

size_t fake_binding_n_stubs(struct fake_binding *fb)
{
	size_t n;

	pthread_mutex_lock(&fakes_lock);
	n = fb->n_stubs;
	pthread_mutex_unlock(&fakes_lock);
	return n;
}

int fake_binding_stub(struct fake_binding *fb, const char *port, struct fake_stub *ret)
{
	struct fake_stub *s;

	pthread_mutex_lock(&fakes_lock);
	s = find_stub(fb, port);
	if (s && ret)
		*ret = *s;
	pthread_mutex_unlock(&fakes_lock);
	return s ? 0 : -ENOENT;
}

void fake_binding_add_stub(struct fake_binding *fb, const char *port, bool held)
{
	pthread_mutex_lock(&fakes_lock);
	push_stub(fb, port)->held = held;
	pthread_mutex_unlock(&fakes_lock);
}

void fake_binding_break_stub(struct fake_binding *fb, const char *port)
{
	struct fake_stub *s;

	pthread_mutex_lock(&fakes_lock);
	s = find_stub(fb, port);
	if (s)
		s->broken = true;
	pthread_mutex_unlock(&fakes_lock);
}
