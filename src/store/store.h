/* SPDX-License-Identifier: Apache-2.0 */
/* The attachment store: one SQLite row per (container id, ifname), written
 * before each step of an ADD touches the kernel or the backend, so a kuryrd
 * killed at any point can finish or roll back on restart. WAL mode with
 * synchronous=NORMAL: a committed row survives a crash of the process.
 * Thread-safe: calls are serialised internally. */
#pragma once

#include <stdint.h>

struct store;

enum attach_state {
	ATTACH_INTENT = 0,  /* names chosen, nothing created yet */
	ATTACH_PORT = 1,    /* backend port exists */
	ATTACH_PLUGGED = 2, /* veth exists and is on the bridge */
	ATTACH_DONE = 3,    /* ADD answered with success */
};

/* Where an attachment's port came from. */
enum attach_pool {
	ATTACH_OWN = 0,		  /* made for this container, deleted with it */
	ATTACH_POOL_PORT = 1,	  /* a pool's port, plugged for this container */
	ATTACH_POOL_PREWIRED = 2, /* a pool's pre-wired entry */
	/* A port moved here from another node by an ADD that named it: until
	 * the ADD is done, undoing it gives the port back to that node; from
	 * then on it is this node's, as ATTACH_OWN. */
	ATTACH_MOVED_IN = 3,
};

struct attachment {
	char container_id[257];
	char ifname[16];
	char netns[512];
	char network[256];
	char port[64]; /* backend port name (OVN LSP name / iface-id) */
	char host_ifname[16];
	char mac[18];
	char address[64]; /* "10.0.0.5/24", "" if none */
	char gateway[48];
	char address6[64]; /* "fd00:1::5/64", "" if none */
	char gateway6[48];
	uint32_t mtu;
	/* The binding driver that plugged it and its own data (see struct
	 * binding_state), so teardown uses the same driver after a restart. */
	char binding[16];
	char binding_data[64];
	enum attach_pool pooled;
	enum attach_state state;
	int64_t created; /* unix seconds */
};

const char *attach_state_to_string(enum attach_state s);

/* Open (create) DIR/kuryr.db. 0 or -errno with detail in *reterr_msg. */
int store_open(const char *dir, struct store **ret, char **reterr_msg);
void store_free(struct store *s);

/* -EEXIST if (container_id, ifname) already has a row. */
int store_insert(struct store *s, const struct attachment *a);
/* Replace every column of the row of (a->container_id, a->ifname); -ENOENT. */
int store_update(struct store *s, const struct attachment *a);
/* -ENOENT if there is no row. */
int store_get(struct store *s, const char *container_id, const char *ifname,
	      struct attachment *ret);
/* 0 whether or not there was a row. */
int store_delete(struct store *s, const char *container_id, const char *ifname);
/* Every row, oldest first, in *ret (malloc'ed; free it) and *ret_n. */
int store_list(struct store *s, struct attachment **ret, size_t *ret_n);
/* Calls @cb for every row, oldest first; a negative return stops and is
 * returned. The store's lock is not held while @cb runs. */
int store_foreach(struct store *s, int (*cb)(const struct attachment *a, void *userdata),
		  void *userdata);
/* Number of rows, or -errno. */
int store_count(struct store *s);

/* Small records beside the attachments: what a caller's protocol needs
 * kept across restarts (Docker's networks, pools, addresses and endpoints,
 * src/daemon/docker*.c), as text under (@kind, @id). */
struct store_record {
	char *id;
	char *value;
};

/* Insert or replace. */
int store_record_put(struct store *s, const char *kind, const char *id, const char *value);
/* -ENOENT if there is none; *ret_value malloc'ed. */
int store_record_get(struct store *s, const char *kind, const char *id, char **ret_value);
/* 0 whether or not there was one. */
int store_record_delete(struct store *s, const char *kind, const char *id);
/* Every record of @kind, oldest first (free with store_records_free). */
int store_record_list(struct store *s, const char *kind, struct store_record **ret, size_t *ret_n);
void store_records_free(struct store_record *r, size_t n);
