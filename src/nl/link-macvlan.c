/* SPDX-License-Identifier: Apache-2.0 */
/* Link kind "macvlan", created directly in the container's namespace: in
 * passthru mode (one macvlan per lower device, which it takes over: the
 * pool's pre-wired interfaces), or in another mode (bridge: several
 * containers on one VM's NIC). */
#include <linux/if_link.h>

#include "macro.h"
#include "nl-private.h"

static int macvlan_fill_info_data(struct nlmsghdr *nlh, const void *args)
{
	const uint32_t *mode = args;

	mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, *mode);
	return 0;
}

static const struct nl_link_kind macvlan_kind = {
	.kind = "macvlan",
	.fill_info_data = macvlan_fill_info_data,
};

int nl_macvlan_passthru_add(struct nl_sock *s, const char *name, int link_ifindex, int netns_fd,
			    const uint8_t *mac, uint32_t mtu, bool up, char **reterr_msg)
{
	const struct nl_link_new link = {
		.name = name,
		.link_ifindex = link_ifindex,
		.netns_fd = netns_fd,
		.mac = mac,
		.mtu = mtu,
		.up = up,
	};
	const uint32_t mode = MACVLAN_MODE_PASSTHRU;

	if (link_ifindex <= 0)
		return -EINVAL;
	return nl_link_create(s, &link, &macvlan_kind, &mode, reterr_msg);
}

int nl_macvlan_add(struct nl_sock *s, const char *name, int link_ifindex, int netns_fd,
		   uint32_t mode, const uint8_t *mac, uint32_t mtu, char **reterr_msg)
{
	const struct nl_link_new link = {
		.name = name,
		.link_ifindex = link_ifindex,
		.netns_fd = netns_fd,
		.mac = mac,
		.mtu = mtu,
	};

	/* Passthru has its own call: it is born up, holding its lower. */
	if (link_ifindex <= 0 || mode == MACVLAN_MODE_PASSTHRU)
		return -EINVAL;
	return nl_link_create(s, &link, &macvlan_kind, &mode, reterr_msg);
}
