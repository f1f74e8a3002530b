/* SPDX-License-Identifier: Apache-2.0 */
/* rtnetlink over libmnl. Every request carries NLM_F_ACK and is read until
 * its ACK (or NLMSG_DONE for dumps); every reply attribute is checked against
 * a small policy table before it is used; kernel errors come back as -errno
 * with the extended ACK text. Sockets for other namespaces are opened from a
 * short-lived helper thread, so no caller ever changes namespace. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <time.h>

#include "macro.h"
#include "nl.h"

/* libmnl >= 1.0.5 defines it. The kernel sizes dump parts after the
 * reader's buffer but never beyond 32 KiB, so no part is ever truncated. */
#ifndef MNL_SOCKET_DUMP_SIZE
#define MNL_SOCKET_DUMP_SIZE 32768
#endif

/* Our largest request (a veth with its peer) is about 150 bytes; input
 * lengths are checked before anything is put, so this cannot overflow. */
#define NL_REQ_SIZE 1024

/* How often a dump is tried when the kernel flags it NLM_F_DUMP_INTR. */
#define NL_DUMP_TRIES 2

/* Where named network namespaces live (iproute2's NETNS_RUN_DIR). */
#define NL_NETNS_RUN_DIR "/run/netns"

struct nl_sock {
	struct mnl_socket *mnl;
	uint32_t portid;
	uint32_t seq;
	_Alignas(uint64_t) uint8_t buf[MNL_SOCKET_DUMP_SIZE];
};

/* ---- attribute validation ---------------------------------------------- */

/* One entry per attribute type we read; MNL_TYPE_UNSPEC entries (and types
 * beyond the table, from newer kernels) are skipped. @len 0: the type's own
 * rule (exact for integers, any length for binary/strings). */
struct attr_policy {
	enum mnl_attr_data_type type;
	uint16_t len;
};

struct attr_table {
	const struct attr_policy *policy;
	uint16_t max;
	const struct nlattr **tb;
};

static int attr_table_cb(const struct nlattr *a, void *userdata)
{
	const struct attr_table *t = userdata;
	uint16_t type = mnl_attr_get_type(a);
	const struct attr_policy *p;
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

/* Parse the attributes after a @hdrlen-byte family header into @tb[0..max]. */
static int attrs_parse(const struct nlmsghdr *m, size_t hdrlen, const struct attr_policy *policy,
		       uint16_t max, const struct nlattr **tb)
{
	struct attr_table t = { .policy = policy, .max = max, .tb = tb };

	if (mnl_nlmsg_get_payload_len(m) < hdrlen)
		return -EBADMSG;
	if (mnl_attr_parse(m, (unsigned)hdrlen, attr_table_cb, &t) < 0)
		return -EBADMSG;
	return 0;
}

static int attrs_parse_nested(const struct nlattr *nest, const struct attr_policy *policy,
			      uint16_t max, const struct nlattr **tb)
{
	struct attr_table t = { .policy = policy, .max = max, .tb = tb };

	if (mnl_attr_parse_nested(nest, attr_table_cb, &t) < 0)
		return -EBADMSG;
	return 0;
}

/* Copy a string attribute that may or may not carry its NUL; -ENAMETOOLONG
 * if it does not fit @size with the terminator. */
static int attr_copy_str(char *dst, size_t size, const struct nlattr *a)
{
	size_t len = strnlen(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));

	if (len >= size)
		return -ENAMETOOLONG;
	memcpy(dst, mnl_attr_get_payload(a), len);
	dst[len] = '\0';
	return 0;
}

static size_t family_addr_len(int family)
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

struct netns_open_args {
	int netns_fd;
	struct nl_sock *sock;
	int r;
};

static void *netns_open_thread(void *userdata)
{
	struct netns_open_args *a = userdata;

	/* Only this thread moves; the socket keeps the namespace it was
	 * created in after the thread is gone. */
	if (setns(a->netns_fd, CLONE_NEWNET) < 0) {
		a->r = -errno;
		return NULL;
	}
	a->r = nl_sock_open(&a->sock);
	return NULL;
}

int nl_sock_open_netns(int netns_fd, struct nl_sock **ret)
{
	struct netns_open_args a = { .netns_fd = netns_fd, .r = -EIO };
	sigset_t all, old;
	pthread_t t;
	int r;

	if (netns_fd < 0 || !ret)
		return -EINVAL;
	/* The helper inherits a full signal mask so that no handler ever
	 * runs in the other namespace. */
	sigfillset(&all);
	r = pthread_sigmask(SIG_SETMASK, &all, &old);
	if (r != 0)
		return -r;
	r = pthread_create(&t, NULL, netns_open_thread, &a);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	r = pthread_join(t, NULL);
	if (r != 0)
		return -r; /* cannot happen for a joinable thread we own */
	if (a.r < 0)
		return a.r;
	*ret = a.sock;
	return 0;
}

void nl_sock_free(struct nl_sock *s)
{
	if (!s)
		return;
	if (s->mnl)
		mnl_socket_close(s->mnl);
	free(s);
}

int nl_netns_open(const char *path, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	struct statfs sfs;
	int t;

	if (!path || !ret_fd)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	t = ioctl(fd, NS_GET_NSTYPE);
	if (t >= 0) {
		if (t != CLONE_NEWNET)
			return -EINVAL;
	} else if (errno == ENOTTY || errno == EINVAL) {
		/* Not nsfs at all, or a kernel older than 4.11: nsfs is then
		 * the best we can tell, and setns(CLONE_NEWNET) checks the
		 * rest. */
		if (fstatfs(fd, &sfs) < 0)
			return -errno;
		if (sfs.f_type != NSFS_MAGIC)
			return -EINVAL;
	} else
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

struct netns_create_args {
	const char *path;
	int r;
};

/* A throwaway thread: unshare its network namespace and pin it with a bind
 * mount, the way "ip netns add" does. The calling thread never moves. */
static void *netns_create_thread(void *arg)
{
	struct netns_create_args *a = arg;

	if (unshare(CLONE_NEWNET) < 0)
		a->r = -errno;
	else if (mount("/proc/thread-self/ns/net", a->path, "none", MS_BIND, NULL) < 0)
		a->r = -errno;
	else
		a->r = 0;
	return NULL;
}

/* Make /run/netns a shared mount point, as "ip netns add" does. A
 * namespace bind-mounted on the plain directory would be hidden (not
 * unmounted) when iproute2 later bind-mounts /run/netns onto itself, and
 * "ip netns del" would then fail with EBUSY for good. Shared, every mount
 * namespace sees namespaces come and go there. */
static int netns_run_dir_prepare(void)
{
	bool made_mount = false;

	if (mkdir(NL_NETNS_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	while (mount("", NL_NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
		/* EINVAL: not a mount point yet; make it one, once. */
		if (errno != EINVAL || made_mount)
			return -errno;
		if (mount(NL_NETNS_RUN_DIR, NL_NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
			return -errno;
		made_mount = true;
	}
	return 0;
}

int nl_netns_create(const char *name, int *ret_fd)
{
	struct netns_create_args a = { .r = -EIO };
	char path[256];
	sigset_t all, old;
	pthread_t t;
	int fd, r;

	if (!name || !*name || strchr(name, '/') ||
	    snprintf(path, sizeof(path), NL_NETNS_RUN_DIR "/%s", name) >= (int)sizeof(path))
		return -EINVAL;
	if (nl_netns_open(path, ret_fd) == 0)
		return 0;
	r = netns_run_dir_prepare();
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
	if (fd < 0)
		return -errno;
	close(fd);
	a.path = path;
	sigfillset(&all);
	r = pthread_sigmask(SIG_SETMASK, &all, &old);
	if (r != 0)
		return -r;
	r = pthread_create(&t, NULL, netns_create_thread, &a);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return -r;
	pthread_join(t, NULL);
	if (a.r < 0) {
		(void)unlink(path);
		return a.r;
	}
	return nl_netns_open(path, ret_fd);
}

/* ---- request/reply ----------------------------------------------------- */

static const struct attr_policy extack_policy[NLMSGERR_ATTR_MAX + 1] = {
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
	if (attrs_parse(m, off, extack_policy, NLMSGERR_ATTR_MAX, tb) < 0)
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

static struct nlmsghdr *req_new(void *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	return nlh;
}

/* Send @nlh and read until its ACK, error or NLMSG_DONE. @cb (may be NULL)
 * sees every other reply message and returns 0 or -errno; after its first
 * error it is not called again, the reply is still drained (so the socket is
 * clean for the next request) and that error is returned unless the kernel
 * reported one. *ret_intr (may be NULL) tells whether any part of a dump
 * carried NLM_F_DUMP_INTR. */
static int nl_transact(struct nl_sock *s, struct nlmsghdr *nlh,
		       int (*cb)(const struct nlmsghdr *m, void *userdata), void *userdata,
		       bool *ret_intr, char **reterr_msg)
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

/* ---- links ------------------------------------------------------------- */

static bool ifname_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strnlen(name, IFNAMSIZ);
	return n > 0 && n < IFNAMSIZ;
}

static const struct attr_policy link_policy[IFLA_MAX + 1] = {
	[IFLA_IFNAME] = { .type = MNL_TYPE_STRING },
	[IFLA_ADDRESS] = { .type = MNL_TYPE_BINARY },
	[IFLA_MTU] = { .type = MNL_TYPE_U32 },
	[IFLA_GROUP] = { .type = MNL_TYPE_U32 },
	[IFLA_LINKINFO] = { .type = MNL_TYPE_NESTED },
	[IFLA_PROMISCUITY] = { .type = MNL_TYPE_U32 },
};

static const struct attr_policy linkinfo_policy[IFLA_INFO_MAX + 1] = {
	[IFLA_INFO_KIND] = { .type = MNL_TYPE_STRING },
};

static int link_info_parse(const struct nlmsghdr *m, struct nl_link_info *ret)
{
	const struct nlattr *tb[IFLA_MAX + 1] = { 0 };
	const struct nlattr *li[IFLA_INFO_MAX + 1] = { 0 };
	const struct ifinfomsg *ifm;
	struct nl_link_info l = { 0 };
	int r;

	if (m->nlmsg_type != RTM_NEWLINK)
		return -EBADMSG;
	r = attrs_parse(m, sizeof(*ifm), link_policy, IFLA_MAX, tb);
	if (r < 0)
		return r;
	ifm = mnl_nlmsg_get_payload(m);
	if (ifm->ifi_index <= 0 || !tb[IFLA_IFNAME])
		return -EBADMSG;
	l.ifindex = ifm->ifi_index;
	l.up = ifm->ifi_flags & IFF_UP;
	l.flags = ifm->ifi_flags;
	if (attr_copy_str(l.name, sizeof(l.name), tb[IFLA_IFNAME]) < 0 || l.name[0] == '\0')
		return -EBADMSG;
	/* Links without an Ethernet address (tun, ip tunnels) keep zeros. */
	if (tb[IFLA_ADDRESS] && mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == sizeof(l.mac))
		memcpy(l.mac, mnl_attr_get_payload(tb[IFLA_ADDRESS]), sizeof(l.mac));
	if (tb[IFLA_MTU])
		l.mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_GROUP])
		l.group = mnl_attr_get_u32(tb[IFLA_GROUP]);
	if (tb[IFLA_PROMISCUITY])
		l.promiscuity = mnl_attr_get_u32(tb[IFLA_PROMISCUITY]);
	if (tb[IFLA_LINKINFO]) {
		r = attrs_parse_nested(tb[IFLA_LINKINFO], linkinfo_policy, IFLA_INFO_MAX, li);
		if (r < 0)
			return r;
		/* Every kernel kind fits; a longer one would not be ours. */
		if (li[IFLA_INFO_KIND] &&
		    attr_copy_str(l.kind, sizeof(l.kind), li[IFLA_INFO_KIND]) < 0)
			l.kind[0] = '\0';
	}
	*ret = l;
	return 0;
}

/* Request no statistics: smaller replies, more links per dump part. */
static void put_ext_mask(struct nlmsghdr *nlh)
{
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
}

int nl_veth_add(struct nl_sock *s, const char *name, const char *peer_name, int peer_netns_fd,
		const uint8_t *peer_mac, uint32_t mtu, char **reterr_msg)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
	struct nlattr *linkinfo, *data, *peer;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	if (!s || !ifname_valid(name) || !ifname_valid(peer_name))
		return -EINVAL;

	nlh = req_new(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);

	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer's attributes are a whole RTM_NEWLINK body: its own
	 * ifinfomsg first. put_extra_header appends (zeroed) at the tail. */
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer_name);
	if (peer_mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, peer_mac);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	/* Created right there: moving a device costs an RCU grace period. */
	if (peer_netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_netns_fd);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);

	return nl_transact(s, nlh, NULL, NULL, NULL, reterr_msg);
}

int nl_macvlan_passthru_add(struct nl_sock *s, const char *name, int link_ifindex, int netns_fd,
			    const uint8_t *mac, uint32_t mtu, char **reterr_msg)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
	struct nlattr *linkinfo, *data;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	if (!s || !ifname_valid(name) || link_ifindex <= 0)
		return -EINVAL;
	nlh = req_new(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	/* The lower device is looked up in the socket's namespace; the new
	 * device is born in @netns_fd's. */
	mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t)link_ifindex);
	if (netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
	if (mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "macvlan");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, MACVLAN_MODE_PASSTHRU);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, linkinfo);
	return nl_transact(s, nlh, NULL, NULL, NULL, reterr_msg);
}

int nl_link_del(struct nl_sock *s, const char *name, char **reterr_msg)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	if (!s || !ifname_valid(name))
		return -EINVAL;
	nlh = req_new(buf, RTM_DELLINK, 0);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nl_transact(s, nlh, NULL, NULL, NULL, reterr_msg);
}

int nl_link_del_group(struct nl_sock *s, uint32_t group, char **reterr_msg)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	if (!s || group == 0)
		return -EINVAL;
	nlh = req_new(buf, RTM_DELLINK, 0);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_u32(nlh, IFLA_GROUP, group);
	return nl_transact(s, nlh, NULL, NULL, NULL, reterr_msg);
}

struct link_get_ctx {
	struct nl_link_info info;
	bool found;
};

static int link_get_cb(const struct nlmsghdr *m, void *userdata)
{
	struct link_get_ctx *c = userdata;
	int r;

	if (c->found)
		return -EBADMSG;
	r = link_info_parse(m, &c->info);
	if (r < 0)
		return r;
	c->found = true;
	return 0;
}

int nl_link_get(struct nl_sock *s, const char *name, struct nl_link_info *ret)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
	struct link_get_ctx c = { .found = false };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	int r;

	if (!s || !ifname_valid(name) || !ret)
		return -EINVAL;
	nlh = req_new(buf, RTM_GETLINK, 0);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	put_ext_mask(nlh);
	r = nl_transact(s, nlh, link_get_cb, &c, NULL, NULL);
	if (r < 0)
		return r;
	if (!c.found)
		return -EBADMSG;
	*ret = c.info;
	return 0;
}

/* RTM_SETLINK on @ifindex: the IFF_* bits in @change take their value from
 * @flags, and attribute @attr (-1: none) is set to @str if given, else to
 * the u32 @u32. */
static int link_set(struct nl_sock *s, int ifindex, unsigned flags, unsigned change, int attr,
		    const char *str, uint32_t u32, char **reterr_msg)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	if (!s || ifindex <= 0)
		return -EINVAL;
	nlh = req_new(buf, RTM_SETLINK, 0);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	ifm->ifi_flags = flags;
	ifm->ifi_change = change;
	if (str)
		mnl_attr_put_strz(nlh, (uint16_t)attr, str);
	else if (attr >= 0)
		mnl_attr_put_u32(nlh, (uint16_t)attr, u32);
	return nl_transact(s, nlh, NULL, NULL, NULL, reterr_msg);
}

int nl_link_set_up(struct nl_sock *s, int ifindex, bool up, char **reterr_msg)
{
	return link_set(s, ifindex, up ? IFF_UP : 0, IFF_UP, -1, NULL, 0, reterr_msg);
}

int nl_link_set_name(struct nl_sock *s, int ifindex, const char *name, char **reterr_msg)
{
	if (!ifname_valid(name))
		return -EINVAL;
	return link_set(s, ifindex, 0, 0, IFLA_IFNAME, name, 0, reterr_msg);
}

int nl_link_set_group(struct nl_sock *s, int ifindex, uint32_t group, char **reterr_msg)
{
	return link_set(s, ifindex, 0, 0, IFLA_GROUP, NULL, group, reterr_msg);
}

/* ---- dumps ------------------------------------------------------------- */

/* Dump results are collected first and handed to the caller's callback only
 * once the dump is complete and consistent: a retried dump then never shows
 * an entry twice, and the callback may use the socket. */
struct vec {
	void *v;
	size_t n, cap, elsize;
};

static void *vec_push(struct vec *v)
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

static void vec_release(struct vec *v)
{
	free(v->v);
	*v = (struct vec){ .elsize = v->elsize };
}

/* Send the dump request that @build fills in (family header and filters,
 * from @ctx) and collect the replies into @v via @cb(m, ctx); retry once if
 * the kernel says the list changed under it. */
static int dump_collect(struct nl_sock *s, uint16_t type,
			void (*build)(struct nlmsghdr *nlh, const void *ctx),
			int (*cb)(const struct nlmsghdr *m, void *ctx), void *ctx, struct vec *v)
{
	for (int try = 0; try < NL_DUMP_TRIES; try++) {
		_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
		struct nlmsghdr *nlh = req_new(buf, type, NLM_F_DUMP);
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

static void link_dump_build(struct nlmsghdr *nlh, const void *ctx)
{
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));

	ifm->ifi_family = AF_UNSPEC;
	put_ext_mask(nlh);
}

static int link_dump_cb(const struct nlmsghdr *m, void *userdata)
{
	struct vec *v = userdata;
	struct nl_link_info *l, tmp;
	int r;

	r = link_info_parse(m, &tmp);
	if (r < 0)
		return r;
	l = vec_push(v);
	if (!l)
		return -ENOMEM;
	*l = tmp;
	return 0;
}

int nl_link_foreach(struct nl_sock *s, int (*cb)(const struct nl_link_info *l, void *userdata),
		    void *userdata)
{
	_cleanup_(vec_release) struct vec v = { .elsize = sizeof(struct nl_link_info) };
	const struct nl_link_info *l;
	int r;

	if (!s || !cb)
		return -EINVAL;
	r = dump_collect(s, RTM_GETLINK, link_dump_build, link_dump_cb, &v, &v);
	if (r < 0)
		return r;
	l = v.v;
	for (size_t i = 0; i < v.n; i++) {
		r = cb(&l[i], userdata);
		if (r != 0)
			return r;
	}
	return 0;
}

/* ---- addresses --------------------------------------------------------- */

int nl_addr_del(struct nl_sock *s, int ifindex, int family, const void *addr, uint8_t prefixlen,
		char **reterr_msg)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
	size_t alen = family_addr_len(family);
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	if (!s || ifindex <= 0 || !addr)
		return -EINVAL;
	if (alen == 0)
		return -EAFNOSUPPORT;
	nlh = req_new(buf, RTM_DELADDR, 0);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = prefixlen;
	ifa->ifa_index = (uint32_t)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, alen, addr);
	return nl_transact(s, nlh, NULL, NULL, NULL, reterr_msg);
}

int nl_addr_add(struct nl_sock *s, int ifindex, int family, const void *addr, uint8_t prefixlen,
		char **reterr_msg)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
	size_t alen = family_addr_len(family);
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	if (!s || ifindex <= 0 || !addr)
		return -EINVAL;
	if (alen == 0)
		return -EAFNOSUPPORT;
	if (prefixlen > alen * 8)
		return -EINVAL;

	nlh = req_new(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = (uint32_t)ifindex;
	/* IFA_LOCAL == IFA_ADDRESS: not a point-to-point peer. */
	mnl_attr_put(nlh, IFA_LOCAL, alen, addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, addr);
	if (family == AF_INET) {
		/* /31 and /32 have no broadcast address (RFC 3021). */
		if (prefixlen < 31) {
			uint32_t a, mask = prefixlen ? htonl(~0u << (32 - prefixlen)) : 0;

			memcpy(&a, addr, sizeof(a));
			a |= ~mask;
			mnl_attr_put(nlh, IFA_BROADCAST, sizeof(a), &a);
		}
	} else {
		/* ifa_flags holds the low 8 bits; IFA_FLAGS is the full set. */
		ifa->ifa_flags = IFA_F_NODAD;
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	}
	return nl_transact(s, nlh, NULL, NULL, NULL, reterr_msg);
}

struct addr_entry {
	int family;
	uint8_t addr[16];
	uint8_t prefixlen;
};

struct addr_dump_ctx {
	struct vec *v;
	int ifindex;
	int family;
};

static const struct attr_policy addr_policy[IFA_MAX + 1] = {
	[IFA_ADDRESS] = { .type = MNL_TYPE_BINARY },
	[IFA_LOCAL] = { .type = MNL_TYPE_BINARY },
};

static void addr_dump_build(struct nlmsghdr *nlh, const void *ctx)
{
	const struct addr_dump_ctx *c = ctx;
	struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));

	ifa->ifa_family = (uint8_t)c->family;
	/* A filter for kernels with strict checking (the socket asks). */
	ifa->ifa_index = (uint32_t)c->ifindex;
}

static int addr_dump_cb(const struct nlmsghdr *m, void *userdata)
{
	struct addr_dump_ctx *c = userdata;
	const struct nlattr *tb[IFA_MAX + 1] = { 0 };
	const struct ifaddrmsg *ifa;
	const struct nlattr *a;
	struct addr_entry *e;
	size_t alen;
	int r;

	if (m->nlmsg_type != RTM_NEWADDR)
		return -EBADMSG;
	r = attrs_parse(m, sizeof(*ifa), addr_policy, IFA_MAX, tb);
	if (r < 0)
		return r;
	ifa = mnl_nlmsg_get_payload(m);
	/* Strict checking filters by index in the kernel; older kernels
	 * send everything. */
	if (c->ifindex > 0 && ifa->ifa_index != (uint32_t)c->ifindex)
		return 0;
	if (c->family != AF_UNSPEC && ifa->ifa_family != c->family)
		return 0;
	alen = family_addr_len(ifa->ifa_family);
	if (alen == 0)
		return 0;
	/* IFA_LOCAL is our side; IFA_ADDRESS is the peer on point-to-point
	 * links and the only one present for most IPv6 addresses. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || mnl_attr_get_payload_len(a) != alen || ifa->ifa_prefixlen > alen * 8)
		return -EBADMSG;
	e = vec_push(c->v);
	if (!e)
		return -ENOMEM;
	*e = (struct addr_entry){ .family = ifa->ifa_family, .prefixlen = ifa->ifa_prefixlen };
	memcpy(e->addr, mnl_attr_get_payload(a), alen);
	return 0;
}

int nl_addr_foreach(struct nl_sock *s, int ifindex, int family,
		    int (*cb)(int family, const void *addr, uint8_t prefixlen, void *userdata),
		    void *userdata)
{
	_cleanup_(vec_release) struct vec v = { .elsize = sizeof(struct addr_entry) };
	struct addr_dump_ctx c = { .v = &v, .ifindex = ifindex, .family = family };
	const struct addr_entry *e;
	int r;

	if (!s || !cb || ifindex < 0)
		return -EINVAL;
	if (family != AF_UNSPEC && family_addr_len(family) == 0)
		return -EAFNOSUPPORT;
	r = dump_collect(s, RTM_GETADDR, addr_dump_build, addr_dump_cb, &c, &v);
	if (r < 0)
		return r;
	e = v.v;
	for (size_t i = 0; i < v.n; i++) {
		r = cb(e[i].family, e[i].addr, e[i].prefixlen, userdata);
		if (r != 0)
			return r;
	}
	return 0;
}

/* ---- routes ------------------------------------------------------------ */

int nl_route_add(struct nl_sock *s, int ifindex, int family, const void *dst, uint8_t dst_len,
		 const void *gw, char **reterr_msg)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
	size_t alen = family_addr_len(family);
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (!s || ifindex <= 0)
		return -EINVAL;
	if (alen == 0)
		return -EAFNOSUPPORT;
	if (dst_len > alen * 8 || (!dst && dst_len != 0))
		return -EINVAL;

	nlh = req_new(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	rtm->rtm_dst_len = dst_len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	if (dst && dst_len > 0)
		mnl_attr_put(nlh, RTA_DST, alen, dst);
	if (gw)
		mnl_attr_put(nlh, RTA_GATEWAY, alen, gw);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)ifindex);
	return nl_transact(s, nlh, NULL, NULL, NULL, reterr_msg);
}

static const struct attr_policy route_policy[RTA_MAX + 1] = {
	[RTA_DST] = { .type = MNL_TYPE_BINARY },
	[RTA_GATEWAY] = { .type = MNL_TYPE_BINARY },
	[RTA_OIF] = { .type = MNL_TYPE_U32 },
	[RTA_TABLE] = { .type = MNL_TYPE_U32 },
};

struct route_dump_ctx {
	struct vec *v;
	int family;
};

static void route_dump_build(struct nlmsghdr *nlh, const void *ctx)
{
	const struct route_dump_ctx *c = ctx;
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));

	rtm->rtm_family = (uint8_t)c->family;
}

static int route_dump_cb(const struct nlmsghdr *m, void *userdata)
{
	struct route_dump_ctx *c = userdata;
	const struct nlattr *tb[RTA_MAX + 1] = { 0 };
	const struct rtmsg *rtm;
	struct nl_route_info *ri;
	size_t alen;
	int r;

	if (m->nlmsg_type != RTM_NEWROUTE)
		return -EBADMSG;
	r = attrs_parse(m, sizeof(*rtm), route_policy, RTA_MAX, tb);
	if (r < 0)
		return r;
	rtm = mnl_nlmsg_get_payload(m);
	/* An AF_UNSPEC dump also brings multicast (RTNL_FAMILY_IPMR...). */
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return 0;
	if (c->family != AF_UNSPEC && rtm->rtm_family != c->family)
		return 0;
	alen = family_addr_len(rtm->rtm_family);
	if (rtm->rtm_dst_len > alen * 8)
		return -EBADMSG;
	if (tb[RTA_DST] && mnl_attr_get_payload_len(tb[RTA_DST]) != alen)
		return -EBADMSG;
	/* A gateway of another family (RTA_VIA) is not reported. */
	if (tb[RTA_GATEWAY] && mnl_attr_get_payload_len(tb[RTA_GATEWAY]) != alen)
		return -EBADMSG;

	ri = vec_push(c->v);
	if (!ri)
		return -ENOMEM;
	*ri = (struct nl_route_info){
		.family = rtm->rtm_family,
		.dst_len = rtm->rtm_dst_len,
		.table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table,
		.protocol = rtm->rtm_protocol,
		.scope = rtm->rtm_scope,
		.type = rtm->rtm_type,
		.oif = tb[RTA_OIF] ? (int)mnl_attr_get_u32(tb[RTA_OIF]) : 0,
	};
	if (tb[RTA_DST])
		memcpy(ri->dst, mnl_attr_get_payload(tb[RTA_DST]), alen);
	if (tb[RTA_GATEWAY]) {
		ri->has_gw = true;
		memcpy(ri->gw, mnl_attr_get_payload(tb[RTA_GATEWAY]), alen);
	}
	return 0;
}

int nl_route_foreach(struct nl_sock *s, int family,
		     int (*cb)(const struct nl_route_info *r, void *userdata), void *userdata)
{
	_cleanup_(vec_release) struct vec v = { .elsize = sizeof(struct nl_route_info) };
	struct route_dump_ctx c = { .v = &v, .family = family };
	const struct nl_route_info *ri;
	int r;

	if (!s || !cb)
		return -EINVAL;
	if (family != AF_UNSPEC && family_addr_len(family) == 0)
		return -EAFNOSUPPORT;
	r = dump_collect(s, RTM_GETROUTE, route_dump_build, route_dump_cb, &c, &v);
	if (r < 0)
		return r;
	ri = v.v;
	for (size_t i = 0; i < v.n; i++) {
		r = cb(&ri[i], userdata);
		if (r != 0)
			return r;
	}
	return 0;
}
