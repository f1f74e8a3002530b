/* SPDX-License-Identifier: Apache-2.0 */
/* ARP announcements, sent on the packet socket a namespace's nl_sock
 * carries: the one frame kuryrd writes itself. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/socket.h>

#include "nl-private.h"

int nl_arp_announce(struct nl_sock *s, int ifindex, const uint8_t mac[6], const uint8_t ip[4])
{
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ARP),
		.sll_ifindex = ifindex,
		.sll_halen = ETH_ALEN,
		.sll_addr = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	};
	/* Ethernet, IPv4, 6- and 4-byte addresses, a request; then sender
	 * MAC and IP, target MAC (zero) and IP (the sender's own). */
	uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };

	if (!s || s->pkt_fd < 0)
		return -EOPNOTSUPP;
	memcpy(arp + 8, mac, 6);
	memcpy(arp + 14, ip, 4);
	memcpy(arp + 24, ip, 4);
	if (sendto(s->pkt_fd, arp, sizeof(arp), 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	return 0;
}
