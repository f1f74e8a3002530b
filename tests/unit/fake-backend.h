/* SPDX-License-Identifier: Apache-2.0 */
/* A backend for unit tests: Neutron's model (networks with one IPv4
 * subnet, ports with MAC, IP, owner, device_id, host and pool key) in
 * memory behind struct backend_ops, with faults to order and counters to
 * look at. The test owns it: the backend's ops->free only counts, so the
 * same model can outlive a kuryrd and be handed to the next one (a
 * restart). Thread-safe: pool and janitor threads call it. Only networks
 * and ports are modelled: no trunks, security groups or QoS policies,
 * whatever the capability bits say. */
#pragma once

#include <stdbool.h>

#include "backend/backend.h"

enum fake_backend_op {
	FAKE_NETWORK_CREATE,
	FAKE_NETWORK_GET,
	FAKE_NETWORK_LIST,
	FAKE_NETWORK_DELETE,
	FAKE_PORT_CREATE,
	FAKE_PORT_CREATE_BULK,
	FAKE_PORT_GET,
	FAKE_PORT_LIST,
	FAKE_PORT_DELETE,
	FAKE_PORT_WAIT_UP,
	FAKE_PORT_SET_DEVICE,
	FAKE_FREE,
	FAKE_BACKEND_N_OPS,
};

struct fake_backend;

/* A backend with capabilities @caps (enum backend_caps) whose ports are
 * bound to node @host. */
struct fake_backend *fake_backend_new(const char *host, unsigned caps);
void fake_backend_free(struct fake_backend *fb);
/* The backend to hand to the code under test. */
struct backend *fake_backend_get(struct fake_backend *fb);

/* Put a network there (gateway: the first host address, MTU 1442),
 * whether or not another has its name (ambiguous names); *ret may be NULL. */
void fake_backend_add_network(struct fake_backend *fb, const char *name, const char *cidr,
			      struct kuryr_network *ret);
/* What network @name's subnet tells its ports (name servers, host
 * routes). */
void fake_backend_set_subnet_info(struct fake_backend *fb, const char *name,
				  const struct kuryr_subnet_info *info);
/* Put a port there as given (another node's, an earlier run's). */
void fake_backend_add_port(struct fake_backend *fb, const struct kuryr_port *p);

/* Faults, each for one op: the next call fails with @err (cumulative: two
 * calls make the next two fail); every call fails with @err (0 stops it);
 * the next call does its work but its answer is lost (-ETIMEDOUT). */
void fake_backend_fail_next(struct fake_backend *fb, enum fake_backend_op op, int err);
void fake_backend_fail_always(struct fake_backend *fb, enum fake_backend_op op, int err);
void fake_backend_lose_next(struct fake_backend *fb, enum fake_backend_op op);
/* Every call of @op takes @ms longer (0: none), without the lock held. */
void fake_backend_set_delay(struct fake_backend *fb, enum fake_backend_op op, int ms);
/* An outage: while unreachable every call fails with -ENOTCONN and
 * connected() says false. */
void fake_backend_set_reachable(struct fake_backend *fb, bool reachable);
/* Whether ports are reported up (port_wait_up: 0, else -ETIMEDOUT at once). */
void fake_backend_set_ports_up(struct fake_backend *fb, bool up);
/* Offer ports_wait_up (one call for a batch) besides port_wait_up; before
 * the backend is handed over. */
void fake_backend_set_bulk_wait(struct fake_backend *fb, bool on);

/* What it holds and what it was asked. */
unsigned fake_backend_calls(struct fake_backend *fb, enum fake_backend_op op);
/* The sum over every op but those in @except (a mask of 1 << op). */
unsigned fake_backend_calls_but(struct fake_backend *fb, unsigned except);
/* How many ports the last port_create_bulk asked for. */
unsigned fake_backend_last_bulk(struct fake_backend *fb);
size_t fake_backend_n_ports(struct fake_backend *fb);
/* Ports of @owner. */
size_t fake_backend_n_ports_of(struct fake_backend *fb, enum port_owner owner);
/* Port @name: 0, or -ENOENT. */
int fake_backend_port(struct fake_backend *fb, const char *name, struct kuryr_port *ret);
/* The first port of @owner with @device_id: 0, or -ENOENT. */
int fake_backend_port_of(struct fake_backend *fb, enum port_owner owner, const char *device_id,
			 struct kuryr_port *ret);
