/* SPDX-License-Identifier: Apache-2.0 */
/* IP addresses on a link: adding (IPv4 with its broadcast address, IPv6
 * without DAD), removing, and a dump filtered by link and family. */
#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "macro.h"
#include "nl-private.h"

/* The request for address @addr/@prefixlen of @family on @ifindex, its
 * IFA_LOCAL set; NULL (with *ret_err) on a bad argument. */
static struct nlmsghdr *addr_req(uint8_t *buf, uint16_t type, uint16_t flags, int ifindex,
				 int family, const void *addr, uint8_t prefixlen, int *ret_err)
{
	size_t alen = nl_family_addr_len(family);
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;

	*ret_err = !addr || ifindex <= 0  ? -EINVAL
		   : alen == 0		  ? -EAFNOSUPPORT
		   : prefixlen > alen * 8 ? -EINVAL
					  : 0;
	if (*ret_err < 0)
		return NULL;
	nlh = nl_req_new(buf, type, flags);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = prefixlen;
	ifa->ifa_index = (uint32_t)ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, alen, addr);
	return nlh;
}

int nl_addr_del(struct nl_sock *s, int ifindex, int family, const void *addr, uint8_t prefixlen,
		char **reterr_msg)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh;
	int r;

	if (!s)
		return -EINVAL;
	nlh = addr_req(buf, RTM_DELADDR, 0, ifindex, family, addr, prefixlen, &r);
	return nlh ? nl_transact(s, nlh, NULL, NULL, NULL, reterr_msg) : r;
}

int nl_addr_add(struct nl_sock *s, int ifindex, int family, const void *addr, uint8_t prefixlen,
		char **reterr_msg)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
	struct ifaddrmsg *ifa;
	struct nlmsghdr *nlh;
	int r;

	if (!s)
		return -EINVAL;
	nlh = addr_req(buf, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, family, addr,
		       prefixlen, &r);
	if (!nlh)
		return r;
	ifa = mnl_nlmsg_get_payload(nlh);
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	/* IFA_LOCAL == IFA_ADDRESS: not a point-to-point peer. */
	mnl_attr_put(nlh, IFA_ADDRESS, nl_family_addr_len(family), addr);
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
	struct nl_vec *v;
	int ifindex;
	int family;
};

static const struct nl_attr_policy addr_policy[IFA_MAX + 1] = {
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
	r = nl_attrs_parse(m, sizeof(*ifa), addr_policy, IFA_MAX, tb);
	if (r < 0)
		return r;
	ifa = mnl_nlmsg_get_payload(m);
	/* Strict checking filters by index in the kernel; older kernels
	 * send everything. */
	if (c->ifindex > 0 && ifa->ifa_index != (uint32_t)c->ifindex)
		return 0;
	if (c->family != AF_UNSPEC && ifa->ifa_family != c->family)
		return 0;
	alen = nl_family_addr_len(ifa->ifa_family);
	if (alen == 0)
		return 0;
	/* IFA_LOCAL is our side; IFA_ADDRESS is the peer on point-to-point
	 * links and the only one present for most IPv6 addresses. */
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a || mnl_attr_get_payload_len(a) != alen || ifa->ifa_prefixlen > alen * 8)
		return -EBADMSG;
	e = nl_vec_push(c->v);
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
	_cleanup_(nl_vec_release) struct nl_vec v = { .elsize = sizeof(struct addr_entry) };
	struct addr_dump_ctx c = { .v = &v, .ifindex = ifindex, .family = family };
	const struct addr_entry *e;
	int r;

	if (!s || !cb || ifindex < 0)
		return -EINVAL;
	if (family != AF_UNSPEC && nl_family_addr_len(family) == 0)
		return -EAFNOSUPPORT;
	r = nl_dump_collect(s, RTM_GETADDR, addr_dump_build, addr_dump_cb, &c, &v);
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
