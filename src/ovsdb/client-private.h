/* SPDX-License-Identifier: Apache-2.0 */
/* The OVSDB client's insides, shared by client.c (requests) and reader.c
 * (the reader thread). Not for use outside src/ovsdb/. */
#pragma once

#include <pthread.h>
#include <stdbool.h>

#include "ovsdb.h"

/* Upper bound for one message from the server; a larger one is treated as a
 * protocol error rather than growing the buffer without limit. */
#define OVSDB_MAX_MESSAGE (256u * 1024u * 1024u)
#define OVSDB_READ_CHUNK  65536u

struct ovsdb_monitor_reg {
	struct ovsdb_monitor_reg *next;
	char *id;
	ovsdb_update_cb cb;
	void *userdata;
	/* Set once the initial contents were delivered; updates before that
	 * (which RFC 7047 servers do not send) are dropped, never reordered. */
	bool active;
};

/* One outstanding request; lives on the caller's stack. */
struct ovsdb_call {
	struct ovsdb_call *next;
	json_int_t id;
	pthread_cond_t cond;
	/* Reader took it off the list and will finish it: the caller must
	 * keep waiting even past its deadline. */
	bool claimed;
	bool done;
	int error;			   /* with done: 0 or -ECONNRESET */
	json_t *reply;			   /* with done and !error: the whole reply object */
	struct ovsdb_monitor_reg *monitor; /* deliver the result here first */
};

struct ovsdb_client {
	int fd;
	char *target;
	pthread_t reader;
	bool reader_started;

	pthread_mutex_t monitor_lock;
	struct ovsdb_monitor_reg *monitors;

	pthread_mutex_t write_lock;

	pthread_mutex_t lock;
	bool connected;
	char *lost_reason; /* why the connection went away */
	json_int_t next_id;
	struct ovsdb_call *calls;
	unsigned n_active; /* threads inside public calls; free waits them out */
	pthread_cond_t idle;
	char *outq; /* echo replies not yet sent */
	size_t outq_len;
};

/* client.c */

/* Record why the connection is unusable (first reason wins) and make the
 * reader see EOF, which fails every waiter. Call without c->lock. */
void ovsdb_client_break(struct ovsdb_client *c, const char *reason);
void ovsdb_client_break_errno(struct ovsdb_client *c, const char *what, int err);
/* With monitor_lock held. */
struct ovsdb_monitor_reg *ovsdb_monitor_find(struct ovsdb_client *c, const char *id);

/* reader.c */

/* The reader thread's body (pthread start routine; @userdata the client). */
void *ovsdb_reader_main(void *userdata);
