/* SPDX-License-Identifier: Apache-2.0 */
/* kuryrd as Docker's libnetwork remote network and IPAM driver:
 *   docker.c          the plugin socket (HTTP over a unix socket, served by
 *                     libmicrohttpd), the method table, Err replies, and
 *                     what a restart finds
 *   docker-network.c  NetworkDriver: networks and endpoints
 *   docker-ipam.c     IpamDriver: pools and addresses
 *
 * The mapping, kept in the store as records (kind, id → JSON):
 *   docker-network  Docker network id → the backend network, whether
 *                   kuryrd made it, its IPAM pool, its port options
 *   docker-pool     IPAM pool id → its subnet, gateway, network
 *   docker-address  "POOL ADDRESS" → the attachment that holds the port
 *   docker-endpoint Docker endpoint id → that attachment
 * Each Docker endpoint's port is an attachment row like a CNI one (so
 * pools, teardown, recovery and kuryrctl treat it alike): container id
 * "docker:KEY", ifname the device handed to dockerd (kyr + KEY's first 12
 * hex digits). With kuryr's IPAM the port is made (or taken from the pool)
 * by RequestAddress, which must answer with its address; CreateEndpoint
 * then finds it by that address. dockerd moves the device from its netns,
 * which must be kuryrd's, into the container.
 * Not for use outside src/daemon/. */
#pragma once

#include <jansson.h>

#include "daemon-private.h"

#define DOCKER_KIND_NETWORK  "docker-network"
#define DOCKER_KIND_POOL     "docker-pool"
#define DOCKER_KIND_ADDRESS  "docker-address"
#define DOCKER_KIND_ENDPOINT "docker-endpoint"

/* An attachment row's container id prefix: the row is a Docker endpoint's. */
#define DOCKER_ROW_PREFIX "docker:"
#define DOCKER_KEY_LEN	  32 /* hex digits */

struct docker {
	struct kuryrd *d;
	struct MHD_Daemon *http;
	int netns_fd; /* kuryrd's own: where dockerd takes the devices from */
};

/* A Docker method's handler: a reply object, or NULL with *reterr_msg
 * (told to dockerd as {"Err": ...}). */
typedef json_t *(*docker_method_fn)(struct kuryrd *d, json_t *body, char **reterr_msg);

/* docker-network.c */
json_t *docker_create_network(struct kuryrd *d, json_t *body, char **reterr_msg);
json_t *docker_delete_network(struct kuryrd *d, json_t *body, char **reterr_msg);
json_t *docker_create_endpoint(struct kuryrd *d, json_t *body, char **reterr_msg);
json_t *docker_delete_endpoint(struct kuryrd *d, json_t *body, char **reterr_msg);
json_t *docker_endpoint_info(struct kuryrd *d, json_t *body, char **reterr_msg);
json_t *docker_join(struct kuryrd *d, json_t *body, char **reterr_msg);
json_t *docker_leave(struct kuryrd *d, json_t *body, char **reterr_msg);

/* docker-ipam.c */
json_t *docker_request_pool(struct kuryrd *d, json_t *body, char **reterr_msg);
json_t *docker_release_pool(struct kuryrd *d, json_t *body, char **reterr_msg);
json_t *docker_request_address(struct kuryrd *d, json_t *body, char **reterr_msg);
json_t *docker_release_address(struct kuryrd *d, json_t *body, char **reterr_msg);

/* docker.c: records and endpoints shared by both drivers */

/* Record @kind/@id as JSON (NULL if there is none or it is unreadable). */
json_t *docker_record_get(struct kuryrd *d, const char *kind, const char *id);
int docker_record_put(struct kuryrd *d, const char *kind, const char *id, json_t *value);
void docker_record_delete(struct kuryrd *d, const char *kind, const char *id);

/* A fresh endpoint key (DOCKER_KEY_LEN hex digits). */
void docker_key_new(char key[DOCKER_KEY_LEN + 1]);
/* The attachment row's container id and ifname of endpoint key @key. */
void docker_row_ids(const char *key, char cid[64], char ifname[16]);

/* What a port is made with for a Docker endpoint. */
struct docker_port_req {
	const char *key;
	json_t *network;	    /* its docker-network record */
	const char *ip, *ip6, *mac; /* NULL: the backend's choice */
	/* "security_groups", "qos_policy" over the network's; may be NULL */
	json_t *policies;
	const char *label; /* kept as the row's netns, for operators */
};

/* Make (or take from the pool) and plug the port of endpoint @req->key:
 * the attachment row is done, its device in kuryrd's netns. 0, or -errno
 * with a message. The row in *ret. */
int docker_port_attach(struct kuryrd *d, const struct docker_port_req *req, struct attachment *ret,
		       char **reterr_msg);
/* Undo endpoint @key's attachment (nothing there is not an error). */
int docker_port_detach(struct kuryrd *d, const char *key, char **reterr_msg);
/* The same, but a pool's port is deleted, not returned: its address is
 * about to be given to the port that replaces it. */
int docker_port_discard(struct kuryrd *d, const char *key, char **reterr_msg);
/* The attachment row of endpoint @key. */
int docker_port_get(struct kuryrd *d, const char *key, struct attachment *ret);
