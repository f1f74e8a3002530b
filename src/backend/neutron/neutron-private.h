/* SPDX-License-Identifier: Apache-2.0 */
/* What the files of backend "neutron" share: the backend object and its
 * API session (neutron.c), finding objects by id or name (lookup.c), and
 * the ops that neutron.c's table points at (network.c, port.c, policy.c,
 * trunk.c, router.c). Nothing outside src/backend/neutron/ includes it:
 * the backend's public face is backend/neutron.h. */
#pragma once

#include <stdatomic.h>
#include <stdint.h>

#include "backend/neutron.h"
#include "json-util.h"
#include "openstack/session.h"

#define DEVICE_OWNER "compute:kuryr"

struct neutron_backend {
	struct backend base;
	struct os_session *s;
	char *where;   /* "neutron=URL" or "keystone=URL" */
	char *project; /* sent as project_id (without Keystone: required) */
	char *host;
	int timeout_ms;
	/* [neutron_defaults] */
	char *pod_subnet;
	char *bridge;		/* where this node plugs ports */
	char **security_groups; /* NULL-terminated; NULL: Neutron's default */
	char *qos_policy;
	json_t *tags;	  /* resource_tags, an array; NULL: none */
	char *tags_query; /* "&tags=a,b" for listings of our ports, or "" */
	/* Whether a port create may carry its tags (Neutron's extension
	 * tag-ports-during-bulk-creation): -1 not known yet, 0, 1. */
	atomic_int tags_in_body;
	/* Octavia (octavia.c): its own session, on a copy of the
	 * credentials with its endpoint; NULL when the cloud has none. */
	struct os_session *lb;
	struct os_auth_config lb_auth;
	bool lb_auth_set;
};

static inline struct neutron_backend *to_neutron(struct backend *b)
{
	return (struct neutron_backend *)b;
}

/* ---- neutron.c: the API session ---- */

int neutron_api_t(struct neutron_backend *nb, const char *method, const char *path, json_t *body,
		  int timeout_ms, json_t **ret, char **reterr_msg);
/* neutron_api() only if the object is still at @revision (its
 * revision_number; Neutron's revision-if-match): -ESTALE if it is not. */
int neutron_api_if_match(struct neutron_backend *nb, const char *method, const char *path,
			 long revision, json_t *body, json_t **ret, char **reterr_msg);
/* neutron_api() that also gives the HTTP status (0: no answer). */
int neutron_api_status(struct neutron_backend *nb, const char *method, const char *path,
		       json_t *body, json_t **ret, long *ret_status, char **reterr_msg);
/* neutron_api_t() within [neutron] timeout. */
int neutron_api(struct neutron_backend *nb, const char *method, const char *path, json_t *body,
		json_t **ret, char **reterr_msg);
int neutron_api_delete(struct neutron_backend *nb, const char *collection, const char *id,
		       char **reterr_msg);
/* @s URL-escaped, a new string; NULL without memory. */
char *neutron_escape(const char *s);
int neutron_tag_after(struct neutron_backend *nb, const char *collection, const char *id,
		      char **reterr_msg);
bool neutron_tags_in_body(struct neutron_backend *nb);
int neutron_list_all(struct neutron_backend *nb, const char *path, const char *key, json_t **ret,
		     char **reterr_msg);

/* ---- octavia.c: the load-balancer API session ---- */

int octavia_new(struct neutron_backend *nb, const struct neutron_opts *o, char **reterr_msg);
void octavia_free(struct neutron_backend *nb);
/* One Octavia v2 call (@path under /v2/lbaas) within @deadline_ms (an
 * absolute now_ms()). Errors as neutron_api()'s, and -EOPNOTSUPP for what
 * the provider cannot do (HTTP 501) or a cloud without Octavia, -EBUSY
 * for a load balancer locked by a change in progress (409 "immutable"). */
int octavia_api(struct neutron_backend *nb, const char *method, const char *path, json_t *body,
		uint64_t deadline_ms, json_t **ret, char **reterr_msg);
/* Wait until load balancer @lb_id is ACTIVE (Octavia locks it while a
 * change is made): -EIO if it went to ERROR, -ETIMEDOUT at @deadline_ms. */
int octavia_wait_active(struct neutron_backend *nb, const char *lb_id, uint64_t deadline_ms,
			char **reterr_msg);
/* A change of load balancer @lb_id's tree: once it is ACTIVE, the call,
 * again while it is locked (409), then until it is ACTIVE again. *ret is
 * set when the call succeeded, even if the wait after it failed. */
int octavia_change(struct neutron_backend *nb, const char *lb_id, const char *method,
		   const char *path, json_t *body, uint64_t deadline_ms, json_t **ret,
		   char **reterr_msg);
/* The deadline of a call that starts now: [neutron] timeout from now. */
uint64_t octavia_deadline(struct neutron_backend *nb);

/* ---- lb.c: load balancers ---- */

int neutron_lb_create(struct backend *b, const struct lb_spec *spec, json_t **ret,
		      char **reterr_msg);
int neutron_lb_get(struct backend *b, const char *lb, json_t **ret, char **reterr_msg);
int neutron_lb_list(struct backend *b, json_t **ret, char **reterr_msg);
int neutron_lb_delete(struct backend *b, const char *lb, char **reterr_msg);
int neutron_lb_pool_create(struct backend *b, const struct lb_pool_spec *spec, json_t **ret,
			   char **reterr_msg);
int neutron_lb_pool_get(struct backend *b, const char *pool, json_t **ret, char **reterr_msg);
int neutron_lb_pool_delete(struct backend *b, const char *pool, char **reterr_msg);
int neutron_lb_member_add(struct backend *b, const struct lb_member_spec *spec, json_t **ret,
			  char **reterr_msg);
int neutron_lb_member_remove(struct backend *b, const char *pool, const char *member,
			     char **reterr_msg);

/* ---- lookup.c: ids and names ---- */

/* A kind of object users name, by id or by name. */
struct kind {
	const char *what;	/* in messages: "network" */
	const char *collection; /* "/networks" */
	const char *key;	/* a listing's member: "networks" */
	const char *one;	/* a GET by id's member: "network" */
	int missing;		/* -errno for "there is none" */
	/* Names resolve among the project's own objects and those shared
	 * with it: with admin credentials Neutron shows every project's. */
	bool scoped;
};

extern const struct kind neutron_kind_network;
extern const struct kind neutron_kind_port;
extern const struct kind neutron_kind_trunk;
extern const struct kind neutron_kind_sg;
extern const struct kind neutron_kind_qos;
extern const struct kind neutron_kind_router;

#define SCOPE_MAX 256

void neutron_scope_of(struct neutron_backend *nb, const char *project, char out[SCOPE_MAX]);
int neutron_ids_append(char **ids, json_t *o);
int neutron_by_name(struct neutron_backend *nb, const struct kind *k, const char *name,
		    const char *project, json_t **ret, char **reterr_msg);
int neutron_lookup(struct neutron_backend *nb, const struct kind *k, const char *ref,
		   const char *project, json_t **ret, char **reterr_msg);
int neutron_resolve_id(struct neutron_backend *nb, const struct kind *k, const char *ref,
		       const char *project, char out[40], char **reterr_msg);
bool neutron_name_taken(struct neutron_backend *nb, const struct kind *k, const char *name);

/* ---- network.c ---- */

int neutron_network_get(struct backend *b, const char *name, struct kuryr_network *ret,
			char **reterr_msg);
int neutron_network_list(struct backend *b, struct kuryr_network **ret, size_t *ret_n,
			 char **reterr_msg);
int neutron_network_create(struct backend *b, const struct network_spec *spec,
			   struct kuryr_network *ret, char **reterr_msg);
int neutron_network_delete(struct backend *b, const char *name, char **reterr_msg);
/* neutron_network_get(), and the id of the subnet its ports take addresses
 * from (pod_subnet or the first IPv4 one; "" if it has none) in @subnet_id
 * (may be NULL). */
int neutron_network_find(struct neutron_backend *nb, const char *name, struct kuryr_network *ret,
			 char subnet_id[40], char **reterr_msg);

/* ---- port.c ---- */

int neutron_find_port(struct neutron_backend *nb, const char *name, json_t **ret,
		      char **reterr_msg);
int neutron_port_get(struct backend *b, const char *name, struct kuryr_port *ret,
		     char **reterr_msg);
int neutron_port_create(struct backend *b, const struct port_spec *spec, struct kuryr_port *ret,
			char **reterr_msg);
int neutron_port_create_bulk(struct backend *b, const struct port_spec *spec, unsigned n,
			     struct kuryr_port *ret, char **reterr_msg);
int neutron_port_list(struct backend *b, const char *network, struct kuryr_port **ret,
		      size_t *ret_n, char **reterr_msg);
int neutron_port_delete(struct backend *b, const char *name, char **reterr_msg);
int neutron_port_by_mac(struct backend *b, const char *mac, struct kuryr_port *ret,
			char **reterr_msg);
int neutron_port_update(struct backend *b, const char *name, const struct port_update *u,
			struct kuryr_port *ret, char **reterr_msg);
int neutron_port_bind(struct backend *b, const char *name, char **reterr_msg);
int neutron_port_move(struct backend *b, const char *name, const struct port_move *m,
		      struct kuryr_port *ret, char **reterr_msg);
int neutron_port_wait_up(struct backend *b, const char *name, int timeout_ms, char **reterr_msg);
int neutron_port_set_device(struct backend *b, const char *name, const char *device_id,
			    char **reterr_msg);
void neutron_ports_wait_up(struct backend *b, const char *const *ids, size_t n, int timeout_ms,
			   bool *ok);

/* ---- policy.c: security groups and QoS policies ---- */

int neutron_sg_get(struct backend *b, const char *sg, json_t **ret, char **reterr_msg);
int neutron_sg_create(struct backend *b, const char *name, json_t **ret, char **reterr_msg);
int neutron_sg_rule_add(struct backend *b, const char *sg, const struct sg_rule *rule, json_t **ret,
			char **reterr_msg);
int neutron_sg_delete(struct backend *b, const char *sg, char **reterr_msg);
int neutron_sg_rule_delete(struct backend *b, const char *rule_id, char **reterr_msg);
int neutron_sg_list(struct backend *b, json_t **ret, char **reterr_msg);
int neutron_qos_create(struct backend *b, const struct qos_spec *spec, json_t **ret,
		       char **reterr_msg);
int neutron_qos_get(struct backend *b, const char *qos, json_t **ret, char **reterr_msg);
int neutron_qos_list(struct backend *b, json_t **ret, char **reterr_msg);
int neutron_qos_delete(struct backend *b, const char *qos, char **reterr_msg);

/* ---- trunk.c ---- */

int neutron_trunk_create(struct backend *b, const char *parent, const char *name, json_t **ret,
			 char **reterr_msg);
int neutron_trunk_get(struct backend *b, const char *trunk, json_t **ret, char **reterr_msg);
int neutron_trunk_delete(struct backend *b, const char *trunk, char **reterr_msg);
int neutron_trunk_subport(struct backend *b, const char *trunk, bool add, const char *port,
			  unsigned vlan, char **reterr_msg);
int neutron_trunk_subports_add(struct backend *b, const char *trunk, const char *const *ports,
			       const unsigned *vlans, size_t n, char **reterr_msg);
int neutron_trunk_by_parent_mac(struct backend *b, const char *mac, json_t **ret,
				char **reterr_msg);

/* ---- router.c: routers and floating IPs ---- */

int neutron_router_create(struct backend *b, const char *name, json_t **ret, char **reterr_msg);
int neutron_router_get(struct backend *b, const char *router, json_t **ret, char **reterr_msg);
int neutron_router_list(struct backend *b, json_t **ret, char **reterr_msg);
int neutron_router_delete(struct backend *b, const char *router, char **reterr_msg);
int neutron_router_interface(struct backend *b, const char *router, bool add, const char *network,
			     char **reterr_msg);
int neutron_router_gateway(struct backend *b, const char *router, const char *ext, bool snat,
			   char **reterr_msg);
int neutron_fip_create(struct backend *b, const char *ext, const char *port, const char *ip,
		       json_t **ret, char **reterr_msg);
int neutron_fip_list(struct backend *b, json_t **ret, char **reterr_msg);
int neutron_fip_delete(struct backend *b, const char *fip, char **reterr_msg);
