/* SPDX-License-Identifier: Apache-2.0 */
/* The rtnetlink layer's insides, shared by its files: sock.c (sockets,
 * request/ACK, dumps, attribute validation), netns.c (named namespaces),
 * link.c (links, and the RTM_NEWLINK every link kind is created with),
 * link-veth.c and link-macvlan.c (one file per link kind), addr.c and
 * route.c. Not for use outside src/nl/. */
#pragma once

#include <libmnl/libmnl.h>
#include <pthread.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nl.h"

/* libmnl >= 1.0.5 defines it. The kernel sizes dump parts after the
 * reader's buffer but never beyond 32 KiB, so no part is ever truncated. */
#ifndef MNL_SOCKET_DUMP_SIZE
#define MNL_SOCKET_DUMP_SIZE 32768
#endif

/* Our largest request (a veth with its peer) is about 150 bytes; input
 * lengths are checked before anything is put, so this cannot overflow. */
#define NL_REQ_SIZE 1024

struct nl_sock {
	struct mnl_socket *mnl;
	/* A packet socket in the same namespace (opened with a socket for
	 * another namespace, in the same helper thread), or -1. */
	int pkt_fd;
	uint32_t portid;
	uint32_t seq;
	_Alignas(uint64_t) uint8_t buf[MNL_SOCKET_DUMP_SIZE];
};

/* Start @fn(@arg) on a helper thread (all signals blocked, a small
 * stack), joinable as *ret (sock.c). */
int nl_thread_start(void *(*fn)(void *arg), void *arg, pthread_t *ret);

/* Close packet socket @fd (arp.c): soon, on a background thread, because
 * closing one waits for an RCU grace period. */
void nl_packet_release(int fd);

/* ---- attribute validation (sock.c) ------------------------------------- */

/* One entry per attribute type we read; MNL_TYPE_UNSPEC entries (and types
 * beyond the table, from newer kernels) are skipped. @len 0: the type's own
 * rule (exact for integers, any length for binary/strings). */
struct nl_attr_policy {
	enum mnl_attr_data_type type;
	uint16_t len;
};

/* Parse the attributes after a @hdrlen-byte family header into @tb[0..max],
 * each checked against @policy. -EBADMSG if the message is too short or an
 * attribute breaks its policy. */
int nl_attrs_parse(const struct nlmsghdr *m, size_t hdrlen, const struct nl_attr_policy *policy,
		   uint16_t max, const struct nlattr **tb);
/* The same for the attributes nested in @nest. */
int nl_attrs_parse_nested(const struct nlattr *nest, const struct nl_attr_policy *policy,
			  uint16_t max, const struct nlattr **tb);

/* Copy a string attribute that may or may not carry its NUL; -ENAMETOOLONG
 * if it does not fit @size with the terminator. */
int nl_attr_copy_str(char *dst, size_t size, const struct nlattr *a);

/* 4 for AF_INET, 16 for AF_INET6, 0 for any other family. */
size_t nl_family_addr_len(int family);

/* ---- threads (sock.c) -------------------------------------------------- */

/* Run @fn(@arg) on a short-lived thread that starts with every signal
 * blocked (so that no handler ever runs in another namespace) and wait for
 * it: namespace work is done there, the caller never moves. 0 once @fn has
 * returned (its own result travels in @arg), or -errno if no thread could
 * be started. */
int nl_thread_run(void *(*fn)(void *arg), void *arg);

/* ---- request/reply (sock.c) -------------------------------------------- */

/* Start a request of @type in @buf (NL_REQ_SIZE bytes, zeroed) with
 * NLM_F_REQUEST | NLM_F_ACK | @flags. */
struct nlmsghdr *nl_req_new(void *buf, uint16_t type, uint16_t flags);

/* Send @nlh and read until its ACK, error or NLMSG_DONE. @cb (may be NULL)
 * sees every other reply message and returns 0 or -errno; after its first
 * error it is not called again, the reply is still drained (so the socket is
 * clean for the next request) and that error is returned unless the kernel
 * reported one. *ret_intr (may be NULL) tells whether any part of a dump
 * carried NLM_F_DUMP_INTR. */
int nl_transact(struct nl_sock *s, struct nlmsghdr *nlh,
		int (*cb)(const struct nlmsghdr *m, void *userdata), void *userdata, bool *ret_intr,
		char **reterr_msg);

/* ---- dumps (sock.c) ---------------------------------------------------- */

/* Dump results are collected first and handed to the caller's callback only
 * once the dump is complete and consistent: a retried dump then never shows
 * an entry twice, and the callback may use the socket. */
struct nl_vec {
	void *v;
	size_t n, cap, elsize;
};

/* Room for one more element at the end of @v; NULL if out of memory. */
void *nl_vec_push(struct nl_vec *v);
/* Free the elements, keep elsize. For _cleanup_(nl_vec_release). */
void nl_vec_release(struct nl_vec *v);

/* Send the dump request that @build fills in (family header and filters,
 * from @ctx) and collect the replies into @v via @cb(m, ctx); retry once if
 * the kernel says the list changed under it (-EAGAIN if it did again). */
int nl_dump_collect(struct nl_sock *s, uint16_t type,
		    void (*build)(struct nlmsghdr *nlh, const void *ctx),
		    int (*cb)(const struct nlmsghdr *m, void *ctx), void *ctx, struct nl_vec *v);

/* ---- links (link.c) ---------------------------------------------------- */

/* A link name the kernel could take: 1 to IFNAMSIZ-1 bytes. */
bool nl_ifname_valid(const char *name);

/* What a new link of any kind may be given. */
struct nl_link_new {
	const char *name;
	int link_ifindex;   /* IFLA_LINK, the lower device (0: none) */
	int netns_fd;	    /* IFLA_NET_NS_FD, born there (-1: the socket's own; set it) */
	const uint8_t *mac; /* IFLA_ADDRESS, 6 bytes (NULL: the kernel's choice) */
	uint32_t mtu;	    /* IFLA_MTU (0: default) */
	bool up;	    /* IFF_UP from birth */
};

/* A link kind, one file each (link-veth.c, link-macvlan.c): what goes in
 * IFLA_INFO_KIND, and what the kind puts in IFLA_INFO_DATA. */
struct nl_link_kind {
	const char *kind;
	/* Put the kind's attributes from @args (its own struct) into the
	 * open IFLA_INFO_DATA nest of @nlh. NULL: the kind has none.
	 * Returns 0 or -errno; nothing is sent on an error. */
	int (*fill_info_data)(struct nlmsghdr *nlh, const void *args);
};

/* Append an ifinfomsg and @l's attributes to @nlh: the body of an
 * RTM_NEWLINK, or of a veth's peer inside one. */
void nl_link_put_new(struct nlmsghdr *nlh, const struct nl_link_new *l);

/* Create link @l of kind @k (NLM_F_CREATE | NLM_F_EXCL), @args handed to
 * @k->fill_info_data. -EINVAL if @l->name is not a valid name; the kind
 * checks its own arguments first. */
int nl_link_create(struct nl_sock *s, const struct nl_link_new *l, const struct nl_link_kind *k,
		   const void *args, char **reterr_msg);
