/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "neutron", for the registry (backend.c), its configuration
 * (neutron/config.c) and tests. */
#pragma once

#include "backend.h"

extern const struct backend_driver backend_neutron_driver;

#include "openstack/auth.h"

/* Its configuration, read from kuryr.conf by neutron/config.c. */
/* A key and its value as a file wrote them. */
struct config_kv {
	char *key;
	char *value;
};

struct neutron_config {
	/* Every key that os_auth_config_set() takes fills auth. */
	struct os_auth_config auth;
	char *cloud;			 /* [neutron] cloud: clouds.yaml entry; "" = $OS_CLOUD */
	int timeout_ms;			 /* [neutron] timeout, seconds in the file */
	int max_concurrent;		 /* [neutron] max_concurrent_requests */
	struct config_kv *explicit_keys; /* auth keys the files set, each once, */
	size_t n_explicit;		 /* the last written last */
	/* [neutron_defaults]. The lists are comma-separated in the file,
	 * NULL-terminated here (never NULL themselves). */
	char *project;	  /* project */
	char *pod_subnet; /* pod_subnet: name or id, "" = none */
	char **pod_security_groups;
	char *ovs_bridge;     /* ovs_bridge: "" = [ovs] bridge */
	char *pod_qos_policy; /* name or id, "" = none */
	char **resource_tags;
	/* [octavia] endpoint_override: Octavia's URL; "" = Keystone's
	 * catalog (service type load-balancer), or none without Keystone. */
	char *octavia_endpoint;
};

struct os_auth_config;

struct neutron_opts {
	/* Keystone credentials or noauth, and the endpoint (kept by the
	 * caller for the backend's lifetime). */
	const struct os_auth_config *auth;
	/* [neutron_defaults] project: the project_id of ports and networks;
	 * "" = the token's project (without Keystone: "kuryr"). */
	const char *project;
	const char *host; /* binding:host_id */
	int timeout_ms;	  /* per request */
	int max_concurrent;
	/* [neutron_defaults]: the subnet ports take their address from
	 * ("": the network's first IPv4 subnet), their security groups
	 * (NULL: Neutron's default group) and QoS policy ("": none). Names
	 * or ids. */
	const char *pod_subnet;
	const char *const *security_groups;
	const char *qos_policy;
	const char *bridge; /* the node's OVS bridge, to check vif_details against */
	/* [neutron_defaults] resource_tags: on everything created; listings
	 * of kuryr's ports ask for them. NULL: none. */
	const char *const *resource_tags;
	/* Octavia's URL for the load balancers; NULL or "": Keystone's
	 * catalog, and none without Keystone (the lb_* ops then refuse with
	 * -EOPNOTSUPP). */
	const char *octavia_endpoint;
};

/* Backend "neutron": Neutron API v2.0, found in Keystone's catalog or at
 * auth->endpoint_override. Does not contact anything yet. */
int backend_neutron_new(const struct neutron_opts *o, struct backend **ret, char **reterr_msg);
/* Authenticate now: -EACCES if Keystone refuses the credentials. Also
 * learns, off the ADD path, whether port creates can carry tags. */
int backend_neutron_login(struct backend *b, char **reterr_msg);
