/* SPDX-License-Identifier: Apache-2.0 */
/* The unit tests' backend: see fake-backend.h. One lock guards the model;
 * every op counts itself, then takes the fault ordered for it, then does
 * its work on the arrays below. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>

#include "fake-backend.h"
#include "macro.h"
#include "net-util.h"
#include "time-util.h"

/* Into char array @dst, truncated; NULL as "". */
#define COPY(dst, src) copy_str((dst), sizeof(dst), (src))

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

struct fake_backend {
	struct backend base;
	struct backend_ops ops; /* per instance: caps and ports_wait_up vary */
	char host[64];
	char where[80];

	pthread_mutex_t lock; /* guards everything below */
	struct kuryr_network *nets;
	size_t n_nets;
	struct kuryr_port *ports;
	size_t n_ports;
	unsigned mac_seq;
	unsigned calls[FAKE_BACKEND_N_OPS];
	unsigned fail_n[FAKE_BACKEND_N_OPS];
	int fail_next_err[FAKE_BACKEND_N_OPS];
	int fail_always_err[FAKE_BACKEND_N_OPS];
	bool lose[FAKE_BACKEND_N_OPS];
	int delay_ms[FAKE_BACKEND_N_OPS];
	bool unreachable;
	bool ports_down;
	unsigned last_bulk;
};

static struct fake_backend *to_fake(struct backend *b)
{
	return (struct fake_backend *)b;
}

/* Before an op takes the lock: the slowness ordered for it. */
static void delay(struct fake_backend *fb, enum fake_backend_op op)
{
	int ms;

	pthread_mutex_lock(&fb->lock);
	ms = fb->delay_ms[op];
	pthread_mutex_unlock(&fb->lock);
	if (ms > 0)
		msleep(ms);
}

/* With the lock held: count the call and return the fault ordered for it
 * (0: none); *lose tells a call to do its work and answer -ETIMEDOUT. */
static int fault(struct fake_backend *fb, enum fake_backend_op op, bool *lose, char **reterr_msg)
{
	int r = 0;

	fb->calls[op]++;
	if (fb->unreachable)
		r = -ENOTCONN;
	else if (fb->fail_always_err[op])
		r = fb->fail_always_err[op];
	else if (fb->fail_n[op]) {
		fb->fail_n[op]--;
		r = fb->fail_next_err[op];
	} else if (lose) {
		*lose = fb->lose[op];
		fb->lose[op] = false;
	}
	if (r < 0)
		set_errmsg(reterr_msg, "fake backend: %s", strerror(-r));
	return r;
}

static unsigned count_ports(struct fake_backend *fb, const char *network)
{
	unsigned n = 0;

	for (size_t i = 0; i < fb->n_ports; i++)
		n += streq(fb->ports[i].network, network);
	return n;
}

/* With the lock held: network @ref by id, else by name; -ENOENT,
 * -ENOTUNIQ. */
static int find_net(struct fake_backend *fb, const char *ref, struct kuryr_network **ret,
		    char **reterr_msg)
{
	struct kuryr_network *found = NULL;
	unsigned n = 0;

	for (size_t i = 0; i < fb->n_nets; i++)
		if (streq(fb->nets[i].id, ref)) {
			*ret = &fb->nets[i];
			return 0;
		}
	for (size_t i = 0; i < fb->n_nets; i++)
		if (streq(fb->nets[i].name, ref)) {
			found = &fb->nets[i];
			n++;
		}
	if (n == 0) {
		set_errmsg(reterr_msg, "network \"%s\" does not exist", ref);
		return -ENOENT;
	}
	if (n > 1) {
		set_errmsg(reterr_msg, "%u networks are named \"%s\"", n, ref);
		return -ENOTUNIQ;
	}
	*ret = found;
	return 0;
}

static struct kuryr_port *find_port(struct fake_backend *fb, const char *name)
{
	for (size_t i = 0; i < fb->n_ports; i++)
		if (streq(fb->ports[i].name, name))
			return &fb->ports[i];
	return NULL;
}

static bool ip_taken(struct fake_backend *fb, const char *network, const char *ip)
{
	for (size_t i = 0; i < fb->n_ports; i++)
		if (streq(fb->ports[i].network, network) && streq(fb->ports[i].ip, ip))
			return true;
	return false;
}

/* With the lock held: the lowest free host address of @net. */
static int ipam_next(struct fake_backend *fb, const struct kuryr_network *net, char ip[48])
{
	uint32_t subnet;
	uint8_t len;

	if (cidr4_parse(net->cidr, &subnet, &len) < 0)
		return -EINVAL;
	for (uint32_t a = subnet + 1; ip4_in_subnet(a, subnet, len); a++) {
		struct in_addr in = { htonl(a) };

		inet_ntop(AF_INET, &in, ip, 48);
		if (!streq(ip, net->gateway) && !ip_taken(fb, net->name, ip))
			return 0;
	}
	return -ENOSPC;
}

static void push_port(struct fake_backend *fb, const struct kuryr_port *p)
{
	struct kuryr_port *np = realloc(fb->ports, (fb->n_ports + 1) * sizeof(*np));

	if (!np)
		abort();
	fb->ports = np;
	fb->ports[fb->n_ports++] = *p;
}

static void push_net(struct fake_backend *fb, const struct kuryr_network *n)
{
	struct kuryr_network *nn = realloc(fb->nets, (fb->n_nets + 1) * sizeof(*nn));

	if (!nn)
		abort();
	fb->nets = nn;
	fb->nets[fb->n_nets++] = *n;
}

/* With the lock held: a port as @spec asks, named @name (NULL: generate);
 * with @ip (NULL: allocate). Not added yet. */
static int make_port(struct fake_backend *fb, const struct port_spec *spec, const char *name,
		     const char *ip, struct kuryr_port *ret, char **reterr_msg)
{
	struct kuryr_port p = { .owner = spec->owner, .up = !fb->ports_down };
	struct kuryr_network *net;
	uint32_t subnet;
	uint8_t len, m[6];
	int r;

	/* As the real backends: the network the caller read, by its id. */
	r = find_net(fb, spec->net ? spec->net->id : spec->network, &net, reterr_msg);
	if (r < 0)
		return r;
	if (name && find_port(fb, name)) {
		set_errmsg(reterr_msg, "port \"%s\" exists", name);
		return -EEXIST;
	}
	if (name)
		COPY(p.name, name);
	else
		uuid_random(p.name);
	COPY(p.network, net->name);
	if (spec->mac && mac_parse(spec->mac, m) < 0) {
		set_errmsg(reterr_msg, "bad MAC \"%s\"", spec->mac);
		return -EINVAL;
	}
	if (spec->mac)
		mac_format(m, p.mac);
	else
		snprintf(p.mac, sizeof(p.mac), "fa:16:3e:00:%02x:%02x", (fb->mac_seq >> 8) & 0xff,
			 fb->mac_seq & 0xff);
	fb->mac_seq++;
	cidr4_parse(net->cidr, &subnet, &len);
	if (ip) {
		struct in_addr in;

		if (inet_pton(AF_INET, ip, &in) != 1 ||
		    !ip4_in_subnet(ntohl(in.s_addr), subnet, len) || streq(ip, net->gateway)) {
			set_errmsg(reterr_msg, "IP %s is not a host address of %s", ip, net->cidr);
			return -EINVAL;
		}
		if (ip_taken(fb, net->name, ip)) {
			set_errmsg(reterr_msg, "IP %s is in use", ip);
			return -EEXIST;
		}
		COPY(p.ip, ip);
	} else if ((r = ipam_next(fb, net, p.ip)) < 0) {
		set_errmsg(reterr_msg, "no free address on %s", net->cidr);
		return r;
	}
	p.prefixlen = len;
	COPY(p.device_id, spec->device_id);
	COPY(p.ifname, spec->ifname);
	COPY(p.pool_key, spec->pool_key);
	COPY(p.host, fb->host);
	*ret = p;
	return 0;
}

/* ---- the vtable ---- */

static int fb_network_create(struct backend *b, const struct network_spec *spec,
			     struct kuryr_network *ret, char **reterr_msg)
{
	struct fake_backend *fb = to_fake(b);
	struct kuryr_network n = { .mtu = spec->mtu ? spec->mtu : KURYR_DEFAULT_MTU };
	struct kuryr_network *old;
	uint32_t subnet;
	uint8_t len;
	int r;

	delay(fb, FAKE_NETWORK_CREATE);
	pthread_mutex_lock(&fb->lock);
	r = fault(fb, FAKE_NETWORK_CREATE, NULL, reterr_msg);
	if (r == 0 && find_net(fb, spec->name, &old, NULL) != -ENOENT) {
		set_errmsg(reterr_msg, "network \"%s\" exists", spec->name);
		r = -EEXIST;
	}
	if (r == 0 && (spec->cidr ? cidr4_parse(spec->cidr, &subnet, &len) < 0 : !spec->cidr6)) {
		set_errmsg(reterr_msg, "bad subnet \"%s\"", spec->cidr ? spec->cidr : "");
		r = -EINVAL;
	}
	if (r == 0) {
		COPY(n.name, spec->name);
		uuid_random(n.id);
		if (spec->cidr6)
			COPY(n.cidr6, spec->cidr6);
		if (spec->cidr) {
			COPY(n.cidr, spec->cidr);
			if (spec->gateway)
				COPY(n.gateway, spec->gateway);
			else {
				struct in_addr in = { htonl(subnet + 1) };

				inet_ntop(AF_INET, &in, n.gateway, sizeof(n.gateway));
			}
		}
		push_net(fb, &n);
		*ret = n;
	}
	pthread_mutex_unlock(&fb->lock);
	return r;
}

static int fb_network_get(struct backend *b, const char *name, struct kuryr_network *ret,
			  char **reterr_msg)
{
	struct fake_backend *fb = to_fake(b);
	struct kuryr_network *n;
	int r;

	delay(fb, FAKE_NETWORK_GET);
	pthread_mutex_lock(&fb->lock);
	r = fault(fb, FAKE_NETWORK_GET, NULL, reterr_msg);
	if (r == 0)
		r = find_net(fb, name, &n, reterr_msg);
	if (r == 0) {
		*ret = *n;
		ret->nports = count_ports(fb, n->name);
	}
	pthread_mutex_unlock(&fb->lock);
	return r;
}

static int fb_network_list(struct backend *b, struct kuryr_network **ret, size_t *ret_n,
			   char **reterr_msg)
{
	struct fake_backend *fb = to_fake(b);
	struct kuryr_network *a;
	int r;

	delay(fb, FAKE_NETWORK_LIST);
	pthread_mutex_lock(&fb->lock);
	r = fault(fb, FAKE_NETWORK_LIST, NULL, reterr_msg);
	if (r == 0) {
		a = calloc(fb->n_nets + 1, sizeof(*a));
		if (!a)
			abort();
		for (size_t i = 0; i < fb->n_nets; i++) {
			a[i] = fb->nets[i];
			a[i].nports = count_ports(fb, a[i].name);
		}
		*ret = a;
		*ret_n = fb->n_nets;
	}
	pthread_mutex_unlock(&fb->lock);
	return r;
}

static int fb_network_delete(struct backend *b, const char *name, char **reterr_msg)
{
	struct fake_backend *fb = to_fake(b);
	struct kuryr_network *n;
	int r;

	delay(fb, FAKE_NETWORK_DELETE);
	pthread_mutex_lock(&fb->lock);
	r = fault(fb, FAKE_NETWORK_DELETE, NULL, reterr_msg);
	if (r == 0)
		r = find_net(fb, name, &n, reterr_msg);
	if (r == 0 && count_ports(fb, n->name)) {
		set_errmsg(reterr_msg, "network \"%s\" still has ports", name);
		r = -EBUSY;
	}
	if (r == 0)
		*n = fb->nets[--fb->n_nets];
	pthread_mutex_unlock(&fb->lock);
	return r;
}

static int fb_port_create(struct backend *b, const struct port_spec *spec, struct kuryr_port *ret,
			  char **reterr_msg)
{
	struct fake_backend *fb = to_fake(b);
	struct kuryr_port p;
	bool lose = false;
	int r;

	delay(fb, FAKE_PORT_CREATE);
	pthread_mutex_lock(&fb->lock);
	r = fault(fb, FAKE_PORT_CREATE, &lose, reterr_msg);
	if (r == 0)
		r = make_port(fb, spec, spec->name, spec->ip, &p, reterr_msg);
	if (r == 0) {
		push_port(fb, &p);
		if (lose) {
			set_errmsg(reterr_msg, "fake backend: the answer was lost");
			r = -ETIMEDOUT;
		} else
			*ret = p;
	}
	pthread_mutex_unlock(&fb->lock);
	return r;
}

static int fb_port_create_bulk(struct backend *b, const struct port_spec *spec, unsigned n,
			       struct kuryr_port *ret, char **reterr_msg)
{
	struct fake_backend *fb = to_fake(b);
	size_t before;
	bool lose = false;
	int r;

	delay(fb, FAKE_PORT_CREATE_BULK);
	pthread_mutex_lock(&fb->lock);
	r = fault(fb, FAKE_PORT_CREATE_BULK, &lose, reterr_msg);
	fb->last_bulk = n;
	before = fb->n_ports;
	for (unsigned i = 0; r == 0 && i < n; i++) {
		r = make_port(fb, spec, NULL, NULL, &ret[i], reterr_msg);
		if (r == 0)
			push_port(fb, &ret[i]);
	}
	if (r < 0)
		fb->n_ports = before; /* all or nothing */
	else if (lose) {
		set_errmsg(reterr_msg, "fake backend: the answer was lost");
		r = -ETIMEDOUT;
	}
	pthread_mutex_unlock(&fb->lock);
	return r;
}

static int fb_port_get(struct backend *b, const char *name, struct kuryr_port *ret,
		       char **reterr_msg)
{
	struct fake_backend *fb = to_fake(b);
	struct kuryr_port *p;
	int r;

	delay(fb, FAKE_PORT_GET);
	pthread_mutex_lock(&fb->lock);
	r = fault(fb, FAKE_PORT_GET, NULL, reterr_msg);
	if (r == 0 && !(p = find_port(fb, name))) {
		set_errmsg(reterr_msg, "port \"%s\" does not exist", name);
		r = -ENOENT;
	}
	if (r == 0)
		*ret = *p;
	pthread_mutex_unlock(&fb->lock);
	return r;
}

static int fb_port_list(struct backend *b, const char *network, struct kuryr_port **ret,
			size_t *ret_n, char **reterr_msg)
{
	struct fake_backend *fb = to_fake(b);
	struct kuryr_network *net = NULL;
	struct kuryr_port *a;
	size_t n = 0;
	int r;

	delay(fb, FAKE_PORT_LIST);
	pthread_mutex_lock(&fb->lock);
	r = fault(fb, FAKE_PORT_LIST, NULL, reterr_msg);
	if (r == 0 && network)
		r = find_net(fb, network, &net, reterr_msg);
	if (r == 0) {
		a = calloc(fb->n_ports + 1, sizeof(*a));
		if (!a)
			abort();
		for (size_t i = 0; i < fb->n_ports; i++)
			if (!net || streq(fb->ports[i].network, net->name))
				a[n++] = fb->ports[i];
		*ret = a;
		*ret_n = n;
	}
	pthread_mutex_unlock(&fb->lock);
	return r;
}

static int fb_port_delete(struct backend *b, const char *name, char **reterr_msg)
{
	struct fake_backend *fb = to_fake(b);
	struct kuryr_port *p;
	bool lose = false;
	int r;

	delay(fb, FAKE_PORT_DELETE);
	pthread_mutex_lock(&fb->lock);
	r = fault(fb, FAKE_PORT_DELETE, &lose, reterr_msg);
	if (r == 0 && !(p = find_port(fb, name))) {
		set_errmsg(reterr_msg, "port \"%s\" does not exist", name);
		r = -ENOENT;
	}
	if (r == 0) {
		*p = fb->ports[--fb->n_ports];
		if (lose) {
			set_errmsg(reterr_msg, "fake backend: the answer was lost");
			r = -ETIMEDOUT;
		}
	}
	pthread_mutex_unlock(&fb->lock);
	return r;
}

static int fb_port_wait_up(struct backend *b, const char *name, int timeout_ms, char **reterr_msg)
{
	struct fake_backend *fb = to_fake(b);
	struct kuryr_port *p;
	int r;

	delay(fb, FAKE_PORT_WAIT_UP);
	pthread_mutex_lock(&fb->lock);
	r = fault(fb, FAKE_PORT_WAIT_UP, NULL, reterr_msg);
	if (r == 0 && !(p = find_port(fb, name))) {
		set_errmsg(reterr_msg, "port \"%s\" does not exist", name);
		r = -ENOENT;
	}
	if (r == 0 && fb->ports_down) {
		set_errmsg(reterr_msg, "port \"%s\" is not up", name);
		r = -ETIMEDOUT;
	}
	if (r == 0)
		p->up = true;
	pthread_mutex_unlock(&fb->lock);
	return r;
}

static void fb_ports_wait_up(struct backend *b, const char *const *names, size_t n, int timeout_ms,
			     bool *ok)
{
	for (size_t i = 0; i < n; i++)
		ok[i] = fb_port_wait_up(b, names[i], timeout_ms, NULL) == 0;
}

static int fb_port_set_device(struct backend *b, const char *name, const char *device_id,
			      char **reterr_msg)
{
	struct fake_backend *fb = to_fake(b);
	struct kuryr_port *p;
	int r;

	delay(fb, FAKE_PORT_SET_DEVICE);
	pthread_mutex_lock(&fb->lock);
	r = fault(fb, FAKE_PORT_SET_DEVICE, NULL, reterr_msg);
	if (r == 0 && !(p = find_port(fb, name))) {
		set_errmsg(reterr_msg, "port \"%s\" does not exist", name);
		r = -ENOENT;
	}
	if (r == 0)
		COPY(p->device_id, device_id);
	pthread_mutex_unlock(&fb->lock);
	return r;
}

static bool fb_connected(struct backend *b)
{
	struct fake_backend *fb = to_fake(b);
	bool up;

	pthread_mutex_lock(&fb->lock);
	up = !fb->unreachable;
	pthread_mutex_unlock(&fb->lock);
	return up;
}

static const char *fb_describe(struct backend *b)
{
	return to_fake(b)->where;
}

static void fb_free(struct backend *b)
{
	struct fake_backend *fb = to_fake(b);

	pthread_mutex_lock(&fb->lock);
	fb->calls[FAKE_FREE]++;
	pthread_mutex_unlock(&fb->lock);
}

static const struct backend_ops fake_backend_ops = {
	.name = "fake",
	.network_create = fb_network_create,
	.network_get = fb_network_get,
	.network_list = fb_network_list,
	.network_delete = fb_network_delete,
	.port_create = fb_port_create,
	.port_create_bulk = fb_port_create_bulk,
	.port_get = fb_port_get,
	.port_list = fb_port_list,
	.port_delete = fb_port_delete,
	.port_wait_up = fb_port_wait_up,
	.port_set_device = fb_port_set_device,
	.connected = fb_connected,
	.describe = fb_describe,
	.free = fb_free,
};

/* ---- for the tests ---- */

struct fake_backend *fake_backend_new(const char *host, unsigned caps)
{
	struct fake_backend *fb = calloc(1, sizeof(*fb));

	if (!fb)
		abort();
	fb->ops = fake_backend_ops;
	fb->ops.caps = caps;
	fb->base.ops = &fb->ops;
	COPY(fb->host, host);
	snprintf(fb->where, sizeof(fb->where), "fake=%s", host);
	pthread_mutex_init(&fb->lock, NULL);
	return fb;
}

void fake_backend_free(struct fake_backend *fb)
{
	if (!fb)
		return;
	free(fb->nets);
	free(fb->ports);
	pthread_mutex_destroy(&fb->lock);
	free(fb);
}

struct backend *fake_backend_get(struct fake_backend *fb)
{
	return &fb->base;
}

void fake_backend_add_network(struct fake_backend *fb, const char *name, const char *cidr,
			      struct kuryr_network *ret)
{
	struct kuryr_network n = { .mtu = KURYR_DEFAULT_MTU };
	struct in_addr in;
	uint32_t subnet;
	uint8_t len;

	if (cidr4_parse(cidr, &subnet, &len) < 0)
		abort();
	COPY(n.name, name);
	uuid_random(n.id);
	COPY(n.cidr, cidr);
	in.s_addr = htonl(subnet + 1);
	inet_ntop(AF_INET, &in, n.gateway, sizeof(n.gateway));
	pthread_mutex_lock(&fb->lock);
	push_net(fb, &n);
	pthread_mutex_unlock(&fb->lock);
	if (ret)
		*ret = n;
}

void fake_backend_set_subnet_info(struct fake_backend *fb, const char *name,
				  const struct kuryr_subnet_info *info)
{
	pthread_mutex_lock(&fb->lock);
	for (size_t i = 0; i < fb->n_nets; i++)
		if (streq(fb->nets[i].name, name))
			fb->nets[i].info = *info;
	pthread_mutex_unlock(&fb->lock);
}

void fake_backend_add_port(struct fake_backend *fb, const struct kuryr_port *p)
{
	pthread_mutex_lock(&fb->lock);
	push_port(fb, p);
	pthread_mutex_unlock(&fb->lock);
}

void fake_backend_fail_next(struct fake_backend *fb, enum fake_backend_op op, int err)
{
	pthread_mutex_lock(&fb->lock);
	fb->fail_n[op]++;
	fb->fail_next_err[op] = err;
	pthread_mutex_unlock(&fb->lock);
}

void fake_backend_fail_always(struct fake_backend *fb, enum fake_backend_op op, int err)
{
	pthread_mutex_lock(&fb->lock);
	fb->fail_always_err[op] = err;
	pthread_mutex_unlock(&fb->lock);
}

void fake_backend_lose_next(struct fake_backend *fb, enum fake_backend_op op)
{
	pthread_mutex_lock(&fb->lock);
	fb->lose[op] = true;
	pthread_mutex_unlock(&fb->lock);
}

void fake_backend_set_delay(struct fake_backend *fb, enum fake_backend_op op, int ms)
{
	pthread_mutex_lock(&fb->lock);
	fb->delay_ms[op] = ms;
	pthread_mutex_unlock(&fb->lock);
}

void fake_backend_set_reachable(struct fake_backend *fb, bool reachable)
{
	pthread_mutex_lock(&fb->lock);
	fb->unreachable = !reachable;
	pthread_mutex_unlock(&fb->lock);
}

void fake_backend_set_ports_up(struct fake_backend *fb, bool up)
{
	pthread_mutex_lock(&fb->lock);
	fb->ports_down = !up;
	pthread_mutex_unlock(&fb->lock);
}

void fake_backend_set_bulk_wait(struct fake_backend *fb, bool on)
{
	pthread_mutex_lock(&fb->lock);
	fb->ops.ports_wait_up = on ? fb_ports_wait_up : NULL;
	pthread_mutex_unlock(&fb->lock);
}

unsigned fake_backend_calls(struct fake_backend *fb, enum fake_backend_op op)
{
	unsigned n;

	pthread_mutex_lock(&fb->lock);
	n = fb->calls[op];
	pthread_mutex_unlock(&fb->lock);
	return n;
}

unsigned fake_backend_calls_but(struct fake_backend *fb, unsigned except)
{
	unsigned n = 0;

	pthread_mutex_lock(&fb->lock);
	for (int op = 0; op < FAKE_BACKEND_N_OPS; op++)
		if (!(except & (1u << op)))
			n += fb->calls[op];
	pthread_mutex_unlock(&fb->lock);
	return n;
}

unsigned fake_backend_last_bulk(struct fake_backend *fb)
{
	unsigned n;

	pthread_mutex_lock(&fb->lock);
	n = fb->last_bulk;
	pthread_mutex_unlock(&fb->lock);
	return n;
}

size_t fake_backend_n_ports(struct fake_backend *fb)
{
	size_t n;

	pthread_mutex_lock(&fb->lock);
	n = fb->n_ports;
	pthread_mutex_unlock(&fb->lock);
	return n;
}

size_t fake_backend_n_ports_of(struct fake_backend *fb, enum port_owner owner)
{
	size_t n = 0;

	pthread_mutex_lock(&fb->lock);
	for (size_t i = 0; i < fb->n_ports; i++)
		n += fb->ports[i].owner == owner;
	pthread_mutex_unlock(&fb->lock);
	return n;
}

int fake_backend_port(struct fake_backend *fb, const char *name, struct kuryr_port *ret)
{
	struct kuryr_port *p;

	pthread_mutex_lock(&fb->lock);
	p = find_port(fb, name);
	if (p)
		*ret = *p;
	pthread_mutex_unlock(&fb->lock);
	return p ? 0 : -ENOENT;
}

int fake_backend_port_of(struct fake_backend *fb, enum port_owner owner, const char *device_id,
			 struct kuryr_port *ret)
{
	int r = -ENOENT;

	pthread_mutex_lock(&fb->lock);
	for (size_t i = 0; i < fb->n_ports && r < 0; i++)
		if (fb->ports[i].owner == owner && streq(fb->ports[i].device_id, device_id)) {
			*ret = fb->ports[i];
			r = 0;
		}
	pthread_mutex_unlock(&fb->lock);
	return r;
}
