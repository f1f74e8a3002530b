/* SPDX-License-Identifier: Apache-2.0 */
/* Link kind "veth": a pair whose peer is created directly in the container's
 * namespace, so it never has to be moved there. */
#include <linux/veth.h>

#include "macro.h"
#include "nl-private.h"

/* The peer's attributes are a whole RTM_NEWLINK body: its own ifinfomsg
 * first, which nl_link_put_new() appends (zeroed) at the tail. */
static int veth_fill_info_data(struct nlmsghdr *nlh, const void *args)
{
	const struct nl_link_new *peer_link = args;
	struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);

	nl_link_put_new(nlh, peer_link);
	mnl_attr_nest_end(nlh, peer);
	return 0;
}

static const struct nl_link_kind veth_kind = {
	.kind = "veth",
	.fill_info_data = veth_fill_info_data,
};

int nl_veth_add(struct nl_sock *s, const char *name, const char *peer_name, int peer_netns_fd,
		const uint8_t *peer_mac, uint32_t mtu, char **reterr_msg)
{
	const struct nl_link_new link = { .name = name, .netns_fd = -1, .mtu = mtu };
	const struct nl_link_new peer = {
		.name = peer_name,
		.netns_fd = peer_netns_fd,
		.mac = peer_mac,
		.mtu = mtu,
	};

	if (!nl_ifname_valid(peer_name))
		return -EINVAL;
	return nl_link_create(s, &link, &veth_kind, &peer, reterr_msg);
}
