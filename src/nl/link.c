/* SPDX-License-Identifier: Apache-2.0 */
/* Links: reading them (one by name, or a dump of all), setting them up,
 * renaming them, putting them in a group, their checksum offload, deleting
 * one or a whole group, and the RTM_NEWLINK every link kind (link-*.c) is
 * created with. */
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "macro.h"
#include "nl-private.h"

bool nl_ifname_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strnlen(name, IFNAMSIZ);
	return n > 0 && n < IFNAMSIZ;
}

/* Start a link request of @type on @ifindex (0: none, the link is named by
 * an attribute) in @buf. */
static struct nlmsghdr *link_req_new(void *buf, uint16_t type, uint16_t flags, int ifindex)
{
	struct nlmsghdr *nlh = nl_req_new(buf, type, flags);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));

	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	return nlh;
}

/* ---- reading ----------------------------------------------------------- */

static const struct nl_attr_policy link_policy[IFLA_MAX + 1] = {
	[IFLA_IFNAME] = { .type = MNL_TYPE_STRING },
	[IFLA_ADDRESS] = { .type = MNL_TYPE_BINARY },
	[IFLA_MTU] = { .type = MNL_TYPE_U32 },
	[IFLA_GROUP] = { .type = MNL_TYPE_U32 },
	[IFLA_LINKINFO] = { .type = MNL_TYPE_NESTED },
	[IFLA_PROMISCUITY] = { .type = MNL_TYPE_U32 },
};

static const struct nl_attr_policy linkinfo_policy[IFLA_INFO_MAX + 1] = {
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
	r = nl_attrs_parse(m, sizeof(*ifm), link_policy, IFLA_MAX, tb);
	if (r < 0)
		return r;
	ifm = mnl_nlmsg_get_payload(m);
	if (ifm->ifi_index <= 0 || !tb[IFLA_IFNAME])
		return -EBADMSG;
	l.ifindex = ifm->ifi_index;
	l.up = ifm->ifi_flags & IFF_UP;
	l.flags = ifm->ifi_flags;
	if (nl_attr_copy_str(l.name, sizeof(l.name), tb[IFLA_IFNAME]) < 0 || l.name[0] == '\0')
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
		r = nl_attrs_parse_nested(tb[IFLA_LINKINFO], linkinfo_policy, IFLA_INFO_MAX, li);
		if (r < 0)
			return r;
		/* Every kernel kind fits; a longer one would not be ours. */
		if (li[IFLA_INFO_KIND] &&
		    nl_attr_copy_str(l.kind, sizeof(l.kind), li[IFLA_INFO_KIND]) < 0)
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
	int r;

	if (!s || !nl_ifname_valid(name) || !ret)
		return -EINVAL;
	nlh = link_req_new(buf, RTM_GETLINK, 0, 0);
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

static void link_dump_build(struct nlmsghdr *nlh, const void *ctx)
{
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));

	ifm->ifi_family = AF_UNSPEC;
	put_ext_mask(nlh);
}

static int link_dump_cb(const struct nlmsghdr *m, void *userdata)
{
	struct nl_vec *v = userdata;
	struct nl_link_info *l, tmp;
	int r;

	r = link_info_parse(m, &tmp);
	if (r < 0)
		return r;
	l = nl_vec_push(v);
	if (!l)
		return -ENOMEM;
	*l = tmp;
	return 0;
}

int nl_link_foreach(struct nl_sock *s, int (*cb)(const struct nl_link_info *l, void *userdata),
		    void *userdata)
{
	_cleanup_(nl_vec_release) struct nl_vec v = { .elsize = sizeof(struct nl_link_info) };
	const struct nl_link_info *l;
	int r;

	if (!s || !cb)
		return -EINVAL;
	r = nl_dump_collect(s, RTM_GETLINK, link_dump_build, link_dump_cb, &v, &v);
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

/* ---- changing ---------------------------------------------------------- */

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
	nlh = link_req_new(buf, RTM_SETLINK, 0, ifindex);
	ifm = mnl_nlmsg_get_payload(nlh);
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

int nl_link_set_addr_gen_none(struct nl_sock *s, int ifindex, char **reterr_msg)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
	struct nlattr *spec, *inet6;
	struct nlmsghdr *nlh;

	if (!s || ifindex <= 0)
		return -EINVAL;
	nlh = link_req_new(buf, RTM_SETLINK, 0, ifindex);
	spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	inet6 = mnl_attr_nest_start(nlh, AF_INET6);
	mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(nlh, inet6);
	mnl_attr_nest_end(nlh, spec);
	return nl_transact(s, nlh, NULL, NULL, NULL, reterr_msg);
}

int nl_link_set_name(struct nl_sock *s, int ifindex, const char *name, char **reterr_msg)
{
	if (!nl_ifname_valid(name))
		return -EINVAL;
	return link_set(s, ifindex, 0, 0, IFLA_IFNAME, name, 0, reterr_msg);
}

int nl_link_set_group(struct nl_sock *s, int ifindex, uint32_t group, char **reterr_msg)
{
	return link_set(s, ifindex, 0, 0, IFLA_GROUP, NULL, group, reterr_msg);
}

int nl_link_set_tx_csum(struct nl_sock *s, const char *name, bool on, char **reterr_msg)
{
	struct ethtool_value v = { .cmd = ETHTOOL_STXCSUM, .data = on };
	struct ifreq ifr = { .ifr_data = (void *)&v };

	if (!s || !nl_ifname_valid(name))
		return -EINVAL;
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	/* Any socket's ioctl reaches the devices of the socket's namespace:
	 * the netlink socket's own does, with no thread sent into it. */
	if (ioctl(mnl_socket_get_fd(s->mnl), SIOCETHTOOL, &ifr) < 0) {
		int r = -errno;

		set_errmsg(reterr_msg, "cannot turn %s's transmit checksum offload %s: %s", name,
			   on ? "on" : "off", strerror(-r));
		return r;
	}
	return 0;
}

int nl_link_del(struct nl_sock *s, const char *name, char **reterr_msg)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh;

	if (!s || !nl_ifname_valid(name))
		return -EINVAL;
	nlh = link_req_new(buf, RTM_DELLINK, 0, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nl_transact(s, nlh, NULL, NULL, NULL, reterr_msg);
}

int nl_link_del_group(struct nl_sock *s, uint32_t group, char **reterr_msg)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
	struct nlmsghdr *nlh;

	if (!s || group == 0)
		return -EINVAL;
	/* One request for the whole group: one RCU grace period for all its
	 * links instead of one each. */
	nlh = link_req_new(buf, RTM_DELLINK, 0, 0);
	mnl_attr_put_u32(nlh, IFLA_GROUP, group);
	return nl_transact(s, nlh, NULL, NULL, NULL, reterr_msg);
}

/* ---- creating (for the link kinds) ------------------------------------- */

void nl_link_put_new(struct nlmsghdr *nlh, const struct nl_link_new *l)
{
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));

	ifm->ifi_family = AF_UNSPEC;
	if (l->up) {
		ifm->ifi_flags = IFF_UP;
		ifm->ifi_change = IFF_UP;
	}
	mnl_attr_put_strz(nlh, IFLA_IFNAME, l->name);
	/* The lower device is looked up in the socket's namespace; the new
	 * device is born in @netns_fd's. */
	if (l->link_ifindex > 0)
		mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t)l->link_ifindex);
	/* Created right there: moving a device costs an RCU grace period. */
	if (l->netns_fd >= 0)
		mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)l->netns_fd);
	if (l->mac)
		mnl_attr_put(nlh, IFLA_ADDRESS, 6, l->mac);
	if (l->mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, l->mtu);
}

int nl_link_create(struct nl_sock *s, const struct nl_link_new *l, const struct nl_link_kind *k,
		   const void *args, char **reterr_msg)
{
	_Alignas(struct nlmsghdr) uint8_t buf[NL_REQ_SIZE] = { 0 };
	struct nlattr *linkinfo, *data;
	struct nlmsghdr *nlh;
	int r;

	if (!s || !l || !k || !nl_ifname_valid(l->name))
		return -EINVAL;
	nlh = nl_req_new(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	nl_link_put_new(nlh, l);
	linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, k->kind);
	if (k->fill_info_data) {
		data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		r = k->fill_info_data(nlh, args);
		if (r < 0)
			return r;
		mnl_attr_nest_end(nlh, data);
	}
	mnl_attr_nest_end(nlh, linkinfo);
	return nl_transact(s, nlh, NULL, NULL, NULL, reterr_msg);
}
