/* SPDX-License-Identifier: Apache-2.0 */
/* ARP announcements, the one frame kuryrd writes itself, on the packet
 * socket that a namespace's nl_sock carries; and the background thread
 * that sends them and closes those sockets.
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

#include "nl-private.h"

struct packet_job {
	struct packet_job *next;
	int fd;
	int ifindex;	   /* > 0: send frame first */
	uint8_t frame[28]; /* the ARP payload */
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool started;
	struct packet_job *head, **tail;
} bg = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, NULL, &bg.head };

static void job_run(const struct packet_job *j)
{
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ARP),
		.sll_ifindex = j->ifindex,
		.sll_halen = ETH_ALEN,
		.sll_addr = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
	};

	if (j->ifindex > 0)
		(void)sendto(j->fd, j->frame, sizeof(j->frame), 0, (struct sockaddr *)&to,
			     sizeof(to));
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

int nl_arp_announce(struct nl_sock *s, int ifindex, const uint8_t mac[6], const uint8_t ip[4])
{
	struct packet_job *j;

	if (!s || s->pkt_fd < 0)
		return -EOPNOTSUPP;
	if (ifindex <= 0)
		return -EINVAL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	/* Ethernet, IPv4, 6- and 4-byte addresses, a request; then sender
	 * MAC and IP, target MAC (zero) and IP (the sender's own). */
	memcpy(j->frame, (const uint8_t[]){ 0, 1, 8, 0, 6, 4, 0, 1 }, 8);
	memcpy(j->frame + 8, mac, 6);
	memcpy(j->frame + 14, ip, 4);
	memcpy(j->frame + 24, ip, 4);
	j->fd = s->pkt_fd;
	j->ifindex = ifindex;
	s->pkt_fd = -1; /* the job's now */
	bg_queue(j);
	return 0;
}
