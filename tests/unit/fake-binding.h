/* SPDX-License-Identifier: Apache-2.0 */
/* Binding drivers for unit tests, in memory: "ovs" (a container's veth: a
 * pod device named CNI_IFNAME and a host end kc + the port's id, ready
 * once wait_ready says so) and "prewire" (parked stubs ks + the port's id;
 * plug stacks a pod device on a free stub, detach renames it out of the
 * way, unplug removes it, or without the pod's netns the whole stub).
 * Devices are told apart by the netns inode they were plugged into, so
 * a name taken in a pod (by any fake's device) is -EADDRINUSE as on a
 * real node. A plug's wait
 * is held in binding_state.watch and counted, so a test sees waits that
 * were never finished or cancelled. The test owns the fake: ops->free
 * only counts. Thread-safe. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "binding/binding.h"

enum fake_binding_op {
	FAKE_PLUG,
	FAKE_WAIT_READY, /* not counting cancels (a negative timeout) */
	FAKE_DETACH,
	FAKE_UNPLUG,
	FAKE_CHECK,
	FAKE_PARK,
	FAKE_PARK_MANY, /* the batch prewire's */
	FAKE_UNPARK,
	FAKE_PARKED,
	FAKE_PARKED_MANY, /* the batch prewire's */
	FAKE_STUBS,
	FAKE_DROP_STUB,
	FAKE_BINDING_FREE,
	FAKE_BINDING_N_OPS,
};

struct fake_binding;

struct fake_binding *fake_binding_new_ovs(void);
struct fake_binding *fake_binding_new_prewire(void);
/* "prewire" that also parks a batch at once, all or none, and answers
 * parked for many ports at once (park_many, parked_many), as nested-vlan
 * does. */
struct fake_binding *fake_binding_new_prewire_batch(void);
void fake_binding_free(struct fake_binding *fb);
/* The driver to hand to the code under test. */
struct binding *fake_binding_get(struct fake_binding *fb);

/* Faults, per op: the next call fails with @err (cumulative), or every
 * call (0 stops it). unpark and drop_stub cannot fail. */
void fake_binding_fail_next(struct fake_binding *fb, enum fake_binding_op op, int err);
void fake_binding_fail_always(struct fake_binding *fb, enum fake_binding_op op, int err);
/* Whether waits finish (else -ETIMEDOUT after the wait's timeout, the wait
 * pending); default true. */
void fake_binding_set_ready(struct fake_binding *fb, bool ready);
/* What connected() says; default true. */
void fake_binding_set_connected(struct fake_binding *fb, bool connected);
/* Call @fn(@arg) once, at the start of the next plug, detach or unplug
 * (without the fake's lock). */
void fake_binding_on(struct fake_binding *fb, enum fake_binding_op op, void (*fn)(void *),
		     void *arg);

/* A device in a pod. */
struct fake_plug {
	char port[64];
	char ifname[16];      /* its name in the pod (detached: kd + the port's id) */
	char host_ifname[16]; /* the host end (prewire: its stub's) */
	char device_id[257];
	ino_t netns; /* the pod's netns */
	bool detached;
};

/* A parked entry (prewire). */
struct fake_stub {
	char port[64];
	char name[16];	      /* ks + the port's id */
	char host_ifname[16]; /* kc + the port's id */
	bool held;	      /* a pod device is stacked on it */
	bool broken;	      /* parked() does not see it intact */
};

unsigned fake_binding_calls(struct fake_binding *fb, enum fake_binding_op op);
/* Waits plugged or parked and neither finished nor cancelled. */
unsigned fake_binding_pending_waits(struct fake_binding *fb);
size_t fake_binding_n_plugged(struct fake_binding *fb);
/* The pod device of port @port: 0, or -ENOENT. */
int fake_binding_plugged(struct fake_binding *fb, const char *port, struct fake_plug *ret);
/* The pod's netns went away: its device goes (and a veth's host end with
 * it; a stub stays parked, free). */
void fake_binding_pod_gone(struct fake_binding *fb, const char *port);

/* prewire: the parked stubs. */
size_t fake_binding_n_stubs(struct fake_binding *fb);
int fake_binding_stub(struct fake_binding *fb, const char *port, struct fake_stub *ret);
/* A stub as an earlier run left it: for @port, held by a pod or free; or
 * one whose port is gone (any name). */
void fake_binding_add_stub(struct fake_binding *fb, const char *port, bool held);
void fake_binding_break_stub(struct fake_binding *fb, const char *port);
