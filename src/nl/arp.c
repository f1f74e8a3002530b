/* SPDX-License-Identifier: Apache-2.0 */
/* Address announcements, the only frames kuryrd writes itself (an ARP
 * announcement for IPv4, an unsolicited neighbour advertisement for
 * IPv6, a RARP request for a moved port's MAC), on the packet socket that a namespace's nl_sock
 * carries; and the background thread that sends them and closes those sockets.
 *
 * Closing a packet socket waits for an RCU grace period (packet_release()
 * calls synchronize_net()): about 10 ms on this kind of machine, several
 * times a whole pre-wired ADD. And an announcement is best effort: it
 * need not be out before the ADD's answer. So both happen on one thread
 * of their own, in the order asked; meanwhile a socket only keeps its
 * namespace alive a little longer. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "macro.h"
#include "nl-private.h"

/* One frame's payload: an ARP or RARP packet (28 bytes), or an IPv6
 * header and a neighbour advertisement with its target link-layer address
 * option (40 + 32). */
struct frame {
	uint16_t proto; /* ETH_P_RARP, ETH_P_ARP, ETH_P_IPV6; 0: none */
	uint8_t dst[ETH_ALEN];
	uint8_t len;
	uint8_t data[72];
};

struct packet_job {
	struct packet_job *next;
	int fd;
	int ifindex; /* > 0: send the frames first */
	struct frame frames[3];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started;
	struct packet_job *head, **tail;
} bg = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, NULL, &bg.head };

static void job_run(const struct packet_job *j)
{
	for (size_t i = 0; j->ifindex > 0 && i < ELEMENTSOF(j->frames); i++) {
		const struct frame *f = &j->frames[i];
		struct sockaddr_ll to = {
			.sll_family = AF_PACKET,
			.sll_protocol = htons(f->proto),
			.sll_ifindex = j->ifindex,
			.sll_halen = ETH_ALEN,
		};

		if (!f->proto)
			continue;
		memcpy(to.sll_addr, f->dst, ETH_ALEN);
		(void)sendto(j->fd, f->data, f->len, 0, (struct sockaddr *)&to, sizeof(to));
	}
	close(j->fd);
}

static void *bg_thread(void *arg)
{
	pthread_mutex_lock(&bg.lock);
	for (;;) {
		struct packet_job *j;

		while (!bg.head)
			pthread_cond_wait(&bg.cond, &bg.lock);
		j = bg.head;
		bg.head = j->next;
		if (!bg.head)
			bg.tail = &bg.head;
		pthread_mutex_unlock(&bg.lock);
		job_run(j);
		free(j);
		pthread_mutex_lock(&bg.lock);
	}
	return NULL;
}

/* Hand @j to the thread; run it here if there can be none. */
static void bg_queue(struct packet_job *j)
{
	pthread_t t;

	pthread_mutex_lock(&bg.lock);
	if (!bg.started && nl_thread_start(bg_thread, NULL, &t) == 0) {
		pthread_detach(t);
		bg.started = true;
	}
	if (bg.started) {
		*bg.tail = j;
		bg.tail = &j->next;
		pthread_cond_signal(&bg.cond);
		j = NULL;
	}
	pthread_mutex_unlock(&bg.lock);
	if (j) {
		job_run(j);
		free(j);
	}
}

void nl_packet_release(int fd)
{
	struct packet_job *j = calloc(1, sizeof(*j));

	if (!j) {
		close(fd);
		return;
	}
	j->fd = fd;
	bg_queue(j);
}

/* The ones' complement sum of @n bytes at @p, folded, added to @sum. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	return sum;
}

/* An ARP request for @ip from itself, to the broadcast address. */
static void arp_frame(struct frame *f, const uint8_t mac[6], const uint8_t ip[4])
{
	f->proto = ETH_P_ARP;
	memset(f->dst, 0xff, ETH_ALEN);
	f->len = 28;
	/* Ethernet, IPv4, 6- and 4-byte addresses, a request; then sender
	 * MAC and IP, target MAC (zero) and IP (the sender's own). */
	memcpy(f->data, (const uint8_t[]){ 0, 1, 8, 0, 6, 4, 0, 1 }, 8);
	memcpy(f->data + 8, mac, 6);
	memcpy(f->data + 14, ip, 4);
	memset(f->data + 18, 0, 6);
	memcpy(f->data + 24, ip, 4);
}

/* A RARP request (RFC 903, opcode 3) for @mac from itself, to the
 * broadcast address: sender and target MAC @mac, no IPv4 addresses. */
static void rarp_frame(struct frame *f, const uint8_t mac[6])
{
	arp_frame(f, mac, (const uint8_t[]){ 0, 0, 0, 0 });
	f->proto = ETH_P_RARP;
	f->data[7] = 3;
	memcpy(f->data + 18, mac, 6);
}

/* An unsolicited neighbour advertisement (RFC 4861 7.2.6) of @ip6 at @mac,
 * from @ip6 to all nodes (ff02::1), override set, hop limit 255. */
static void na_frame(struct frame *f, const uint8_t mac[6], const uint8_t ip6[16])
{
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	uint8_t *ip = f->data, *icmp = f->data + 40;
	uint32_t sum;

	f->proto = ETH_P_IPV6;
	memcpy(f->dst, (const uint8_t[]){ 0x33, 0x33, 0, 0, 0, 1 }, ETH_ALEN);
	f->len = 72;
	memset(f->data, 0, sizeof(f->data));
	ip[0] = 0x60; /* version 6 */
	ip[5] = 32;   /* payload length */
	ip[6] = 58;   /* ICMPv6 */
	ip[7] = 255;  /* hop limit, as neighbour discovery requires */
	memcpy(ip + 8, ip6, 16);
	memcpy(ip + 24, all_nodes, 16);
	icmp[0] = 136;	/* neighbour advertisement */
	icmp[4] = 0x20; /* override */
	memcpy(icmp + 8, ip6, 16);
	icmp[24] = 2; /* target link-layer address, 8 bytes */
	icmp[25] = 1;
	memcpy(icmp + 26, mac, 6);
	/* The pseudo-header: source, destination, length, next header. */
	sum = csum_add(0, ip + 8, 32) + 32 + 58;
	sum = csum_add(sum, icmp, 32);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	icmp[2] = (uint8_t)(~sum >> 8);
	icmp[3] = (uint8_t)~sum;
}

int nl_announce(struct nl_sock *s, int ifindex, const uint8_t mac[6], bool rarp, const uint8_t *ip,
		const uint8_t *ip6)
{
	struct packet_job *j;

	if (!s || s->pkt_fd < 0)
		return -EOPNOTSUPP;
	if (ifindex <= 0 || (!ip && !ip6 && !rarp))
		return -EINVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	if (rarp)
		rarp_frame(&j->frames[0], mac);
	if (ip)
		arp_frame(&j->frames[1], mac, ip);
	if (ip6)
		na_frame(&j->frames[2], mac, ip6);
	j->fd = s->pkt_fd;
	j->ifindex = ifindex;
	s->pkt_fd = -1; /* the job's now */
	bg_queue(j);
	return 0;
}
