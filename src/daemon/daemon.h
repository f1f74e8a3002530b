/* SPDX-License-Identifier: Apache-2.0 */
/* kuryrd: the node daemon. Owns the backend connection, the binding driver
 * and the attachment store; serves kuryr-cni and kuryrctl over its unix
 * socket and /metrics over HTTP. */
#pragma once

#include <jansson.h>

#include "config.h"

struct kuryrd;

/* Connect to the backend and the switch, open the store, finish or roll
 * back attachments a previous run left half-done. 0 or -errno with detail.
 * @cfg is copied shallowly: its strings must outlive the daemon. */
int kuryrd_new(const struct kuryr_config *cfg, struct kuryrd **ret, char **reterr_msg);
/* The same on parts made elsewhere (tests' fakes), taken over whatever it
 * returns: a backend, and binding drivers (one named "ovs" plugs the
 * node's containers). No bridge; cfg->host must be set. */
struct backend;
struct binding;
int kuryrd_new_with(const struct kuryr_config *cfg, struct backend *backend,
		    struct binding *const *bindings, size_t n_bindings, struct kuryrd **ret,
		    char **reterr_msg);
void kuryrd_free(struct kuryrd *d);

/* Serve until SIGTERM or SIGINT (which the caller has blocked in every
 * thread). 0 on a clean stop, -errno if the socket could not be set up. */
int kuryrd_serve(struct kuryrd *d, char **reterr_msg);

/* Answer one request (the protocol's JSON object); returns the reply.
 * @netns_fd: the network namespace that came with it (the runtime's, for
 * ADD/CHECK/DEL), or -1; it stays the caller's. */
json_t *kuryrd_handle(struct kuryrd *d, json_t *req, int netns_fd);
