/* SPDX-License-Identifier: Apache-2.0 */
/* rtnetlink sockets over libmnl, and what every request shares. Every request
 * carries NLM_F_ACK and is read until its ACK (or NLMSG_DONE for dumps);
 * every reply attribute is checked against a small policy table before it is
 * used; kernel errors come back as -errno with the extended ACK text. Sockets
 * for other namespaces are opened from a short-lived helper thread, so no
 * caller ever changes namespace. */
#include <linux/rtnetlink.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "nl-private.h"

/* How often a dump is tried when the kernel flags it NLM_F_DUMP_INTR. */
#define NL_DUMP_TRIES 2

/* ---- attribute validation ---------------------------------------------- */

struct attr_table {
	const struct nl_attr_policy *policy;
	uint16_t max;
	const struct nlattr **tb;
};

static int attr_table_cb(const struct nlattr *a, void *userdata)
{
	const struct attr_table *t = userdata;
	uint16_t type = mnl_attr_get_type(a);
	const struct nl_attr_policy *p;
	int r;

	if (type > t->max)
		return MNL_CB_OK;
	p = &t->policy[type];
	if (p->type == MNL_TYPE_UNSPEC)
		return MNL_CB_OK;
	r = p->len ? mnl_attr_validate2(a, p->type, p->len) : mnl_attr_validate(a, p->type);
	if (r < 0)
		return MNL_CB_ERROR;
	t->tb[type] = a;
	return MNL_CB_OK;
}

int nl_attrs_parse(const struct nlmsghdr *m, size_t hdrlen, const struct nl_attr_policy *policy,
		   uint16_t max, const struct nlattr **tb)
{
	struct attr_table t = { .policy = policy, .max = max, .tb = tb };

	if (mnl_nlmsg_get_payload_len(m) < hdrlen)
		return -EBADMSG;
	if (mnl_attr_parse(m, (unsigned)hdrlen, attr_table_cb, &t) < 0)
		return -EBADMSG;
	return 0;
}

int nl_attrs_parse_nested(const struct nlattr *nest, const struct nl_attr_policy *policy,
			  uint16_t max, const struct nlattr **tb)
{
	struct attr_table t = { .policy = policy, .max = max, .tb = tb };

	if (mnl_attr_parse_nested(nest, attr_table_cb, &t) < 0)
		return -EBADMSG;
	return 0;
}

int nl_attr_copy_str(char *dst, size_t size, const struct nlattr *a)
{
	size_t len = strnlen(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));

	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(dst, mnl_attr_get_payload(a), len);
	dst[len] = '\0';
	return 0;
}

size_t nl_family_addr_len(int family)
{
	switch (family) {
	case AF_INET:
		return 4;
	case AF_INET6:
		return 16;
	default:
		return 0;
	}
}

/* ---- sockets ----------------------------------------------------------- */

int nl_sock_open(struct nl_sock **ret)
{
	_cleanup_(nl_sock_freep) struct nl_sock *s = NULL;
	/* EXT_ACK: error text; CAP_ACK: do not echo our request back in errors;
	 * GET_STRICT_CHK: let the kernel filter dumps (e.g. addresses by
	 * ifindex). All three are optional on old kernels. */
	static const int opts[] = { NETLINK_EXT_ACK, NETLINK_CAP_ACK, NETLINK_GET_STRICT_CHK };
	int one = 1;

	if (!ret)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->pkt_fd = -1;
	s->mnl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!s->mnl)
		return -errno;
	for (size_t i = 0; i < ELEMENTSOF(opts); i++)
		if (mnl_socket_setsockopt(s->mnl, opts[i], &one, sizeof(one)) < 0 &&
		    errno != ENOPROTOOPT)
			return -errno;
	if (mnl_socket_bind(s->mnl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	s->portid = mnl_socket_get_portid(s->mnl);
	s->seq = (uint32_t)time(NULL);
	*ret = TAKE_PTR(s);
	return 0;
}

int nl_thread_start(void *(*fn)(void *arg), void *arg, pthread_t *ret)
{
	sigset_t all, old;
	pthread_attr_t attr;
	int r;

	/* The helper inherits a full signal mask so that no handler ever
	 * runs in the other namespace. It needs little stack: a small one
	 * costs less to map than the default 8 MiB, on every ADD. */
	sigfillset(&all);
	r = pthread_sigmask(SIG_SETMASK, &all, &old);
	if (r != 0)
		return -r;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	r = pthread_create(ret, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}

int nl_thread_run(void *(*fn)(void *arg), void *arg)
{
	pthread_t t;
	int r;

	r = nl_thread_start(fn, arg, &t);
	if (r < 0)
		return r;
	r = pthread_join(t, NULL);
	if (r != 0)
		return -r; /* cannot happen for a joinable thread we own */
	return 0;
}

struct nl_sock_opening {
	int netns_fd;
	struct nl_sock *sock;
	int r;
	pthread_t thread;
};

static void *netns_open_thread(void *userdata)
{
	struct nl_sock_opening *a = userdata;

	/* Only this thread moves; the socket keeps the namespace it was
	 * created in after the thread is gone. */
	if (setns(a->netns_fd, CLONE_NEWNET) < 0) {
		a->r = -errno;
		return NULL;
	}
	a->r = nl_sock_open(&a->sock);
	/* Protocol 0: it only sends (an ARP announcement), so the kernel
	 * hands it nothing. Without CAP_NET_RAW there is none. */
	if (a->r == 0)
		a->sock->pkt_fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	return NULL;
}

int nl_sock_open_netns(int netns_fd, struct nl_sock **ret)
{
	struct nl_sock_opening a = { .netns_fd = netns_fd, .r = -EIO };
	int r;

	if (netns_fd < 0 || !ret)
		return -EINVAL;
	r = nl_thread_run(netns_open_thread, &a);
	if (r < 0)
		return r;
	if (a.r < 0)
		return a.r;
	*ret = a.sock;
	return 0;
}

int nl_sock_open_netns_begin(int netns_fd, struct nl_sock_opening **ret)
{
	struct nl_sock_opening *o;
	int r;

	if (netns_fd < 0 || !ret)
		return -EINVAL;
	o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	*o = (struct nl_sock_opening){ .netns_fd = netns_fd, .r = -EIO };
	r = nl_thread_start(netns_open_thread, o, &o->thread);
	if (r < 0) {
		free(o);
		return r;
	}
	*ret = o;
	return 0;
}

int nl_sock_open_netns_end(struct nl_sock_opening *o, struct nl_sock **ret)
{
	int r;

	pthread_join(o->thread, NULL);
	r = o->r;
	if (r == 0)
		*ret = o->sock;
	free(o);
	return r;
}

void nl_sock_free(struct nl_sock *s)
{
	if (!s)
		return;
	if (s->mnl)
		mnl_socket_close(s->mnl);
	if (s->pkt_fd >= 0)
		nl_packet_release(s->pkt_fd);
	free(s);
}

/* ---- request/reply ----------------------------------------------------- */

static const struct nl_attr_policy extack_policy[NLMSGERR_ATTR_MAX + 1] = {
	[NLMSGERR_ATTR_MSG] = { .type = MNL_TYPE_NUL_STRING },
};

/* Hand the extended ACK message that follows @off bytes of @m's payload to
 * *reterr_msg. A malformed TLV area is ignored: the errno is what counts. */
static void extack_parse(const struct nlmsghdr *m, size_t off, char **reterr_msg)
{
	const struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = { 0 };

	if (!reterr_msg || !(m->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (MNL_ALIGN(off) > mnl_nlmsg_get_payload_len(m))
		return;
	if (nl_attrs_parse(m, off, extack_policy, NLMSGERR_ATTR_MAX, tb) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		set_errmsg(reterr_msg, "%s", mnl_attr_get_str(tb[NLMSGERR_ATTR_MSG]));
}

/* NLMSG_ERROR: 0 for an ACK, else the kernel's -errno. */
static int error_parse(const struct nlmsghdr *m, char **reterr_msg)
{
	const struct nlmsgerr *e;
	size_t off;

	if (mnl_nlmsg_get_payload_len(m) < sizeof(*e))
		return -EBADMSG;
	e = mnl_nlmsg_get_payload(m);
	if (e->error == 0)
		return 0;
	if (e->error > 0 || e->error < -4095)
		return -EPROTO;
	/* TLVs follow the echoed request: its header only if capped. */
	off = sizeof(*e);
	if (!(m->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > sizeof(struct nlmsghdr))
		off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	extack_parse(m, off, reterr_msg);
	return e->error;
}

/* NLMSG_DONE: carries an int error (a dump that failed half-way). */
static int done_parse(const struct nlmsghdr *m, char **reterr_msg)
{
	int err;

	if (mnl_nlmsg_get_payload_len(m) < sizeof(int))
		return 0;
	memcpy(&err, mnl_nlmsg_get_payload(m), sizeof(err));
	if (err >= 0)
		return 0;
	if (err < -4095)
		return -EPROTO;
	extack_parse(m, sizeof(int), reterr_msg);
	return err;
}

struct nlmsghdr *nl_req_new(void *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	return nlh;
}

int nl_transact(struct nl_sock *s, struct nlmsghdr *nlh,
		int (*cb)(const struct nlmsghdr *m, void *userdata), void *userdata, bool *ret_intr,
		char **reterr_msg)
{
	bool intr = false;
	int cb_r = 0;
	uint32_t seq;

	if (++s->seq == 0)
		s->seq = 1;
	seq = nlh->nlmsg_seq = s->seq;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;

	while (mnl_socket_sendto(s->mnl, nlh, nlh->nlmsg_len) < 0)
		if (errno != EINTR)
			return -errno;

	for (;;) {
		const struct nlmsghdr *m = (const struct nlmsghdr *)s->buf;
		ssize_t n;
		int len;

		n = mnl_socket_recvfrom(s->mnl, s->buf, sizeof(s->buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		len = (int)n;
		for (; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len)) {
			int r;

			/* Leftovers of an earlier request that failed half-way. */
			if (m->nlmsg_seq != seq || m->nlmsg_pid != s->portid)
				continue;
			if (m->nlmsg_flags & NLM_F_DUMP_INTR)
				intr = true;
			switch (m->nlmsg_type) {
			case NLMSG_ERROR:
				r = error_parse(m, reterr_msg);
				break;
			case NLMSG_DONE:
				r = done_parse(m, reterr_msg);
				break;
			default:
				if (m->nlmsg_type >= NLMSG_MIN_TYPE && cb && cb_r == 0)
					cb_r = cb(m, userdata);
				continue;
			}
			if (r < 0)
				return r;
			if (ret_intr)
				*ret_intr = intr;
			return cb_r;
		}
	}
}

/* ---- dumps ------------------------------------------------------------- */

void *nl_vec_push(struct nl_vec *v)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void *p = reallocarray(v->v, cap, v->elsize);

		if (!p)
			return NULL;
		v->v = p;
		v->cap = cap;
	}
	return (uint8_t *)v->v + v->elsize * v->n++;
}

void nl_vec_release(struct nl_vec *v)
{
	free(v->v);
	*v = (struct nl_vec){ .elsize = v->elsize };
}

int nl_dump_collect(struct nl_sock *s, uint16_t type,
		    void (*build)(struct nlmsghdr *nlh, const void *ctx),
		    int (*cb)(const struct nlmsghdr *m, void *ctx), void *ctx, struct nl_vec *v)
{
	for (int try = 0; try < NL_DUMP_TRIES; try++) {
		_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
		struct nlmsghdr *nlh = nl_req_new(buf, type, NLM_F_DUMP);
		bool intr = false;
		int r;

		build(nlh, ctx);
		v->n = 0;
		r = nl_transact(s, nlh, cb, ctx, &intr, NULL);
		if (r < 0)
			return r;
		if (!intr)
			return 0;
	}
	return -EAGAIN;
}
