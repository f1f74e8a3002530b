/* SPDX-License-Identifier: Apache-2.0 */
/* Routes: adding a unicast route to the main table, and a dump of every
 * table's IPv4 and IPv6 routes. */
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "macro.h"
#include "nl-private.h"

int nl_route_add(struct nl_sock *s, int ifindex, int family, const void *dst, uint8_t dst_len,
		 const void *gw, char **reterr_msg)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
	size_t alen = nl_family_addr_len(family);
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;

	if (!s || ifindex <= 0)
		return -EINVAL;
	if (alen == 0)
		return -EAFNOSUPPORT;
	if (dst_len > alen * 8 || (!dst && dst_len != 0))
		return -EINVAL;

	nlh = nl_req_new(buf, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
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

static const struct nl_attr_policy route_policy[RTA_MAX + 1] = {
	[RTA_DST] = { .type = MNL_TYPE_BINARY },
	[RTA_GATEWAY] = { .type = MNL_TYPE_BINARY },
	[RTA_OIF] = { .type = MNL_TYPE_U32 },
	[RTA_TABLE] = { .type = MNL_TYPE_U32 },
};

struct route_dump_ctx {
	struct nl_vec *v;
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
	r = nl_attrs_parse(m, sizeof(*rtm), route_policy, RTA_MAX, tb);
	if (r < 0)
		return r;
	rtm = mnl_nlmsg_get_payload(m);
	/* An AF_UNSPEC dump also brings multicast (RTNL_FAMILY_IPMR...). */
	if (rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6)
		return 0;
	if (c->family != AF_UNSPEC && rtm->rtm_family != c->family)
		return 0;
	alen = nl_family_addr_len(rtm->rtm_family);
	if (rtm->rtm_dst_len > alen * 8)
		return -EBADMSG;
	if (tb[RTA_DST] && mnl_attr_get_payload_len(tb[RTA_DST]) != alen)
		return -EBADMSG;
	/* A gateway of another family (RTA_VIA) is not reported. */
	if (tb[RTA_GATEWAY] && mnl_attr_get_payload_len(tb[RTA_GATEWAY]) != alen)
		return -EBADMSG;

	ri = nl_vec_push(c->v);
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
	_cleanup_(nl_vec_release) struct nl_vec v = { .elsize = sizeof(struct nl_route_info) };
	struct route_dump_ctx c = { .v = &v, .family = family };
	const struct nl_route_info *ri;
	int r;

	if (!s || !cb)
		return -EINVAL;
	if (family != AF_UNSPEC && nl_family_addr_len(family) == 0)
		return -EAFNOSUPPORT;
	r = nl_dump_collect(s, RTM_GETROUTE, route_dump_build, route_dump_cb, &c, &v);
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
