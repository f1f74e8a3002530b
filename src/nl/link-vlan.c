/* SPDX-License-Identifier: Apache-2.0 */
/* Link kind "vlan" (802.1Q): a VLAN sub-interface of a VM's NIC, created
 * directly in a nested container's namespace. */
#include <linux/if_link.h>

#include "macro.h"
#include "nl-private.h"

static int vlan_fill_info_data(struct nlmsghdr *nlh, const void *args)
{
	const uint16_t *id = args;

	mnl_attr_put_u16(nlh, IFLA_VLAN_ID, *id);
	return 0;
}

static const struct nl_link_kind vlan_kind = {
	.kind = "vlan",
	.fill_info_data = vlan_fill_info_data,
};

int nl_vlan_add(struct nl_sock *s, const char *name, int link_ifindex, int netns_fd, unsigned vlan,
		const uint8_t *mac, uint32_t mtu, char **reterr_msg)
{
	const struct nl_link_new link = {
		.name = name,
		.link_ifindex = link_ifindex,
		.netns_fd = netns_fd,
		.mac = mac,
		.mtu = mtu,
	};
	const uint16_t id = (uint16_t)vlan;

	if (link_ifindex <= 0 || vlan < 1 || vlan > 4094)
		return -EINVAL;
	return nl_link_create(s, &link, &vlan_kind, &id, reterr_msg);
}
