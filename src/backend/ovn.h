/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "ovn", for the registry (backend.c) and tests. */
#pragma once

#include "backend.h"

extern const struct backend_driver backend_ovn_driver;

/* Its configuration: [ovn], and of [neutron_defaults] what means the same
 * here (the section is shared with backend "neutron"). */
struct ovn_config {
	char *nb_connection;	    /* unix:PATH | tcp:IP:PORT */
	char *sb_connection;	    /* the same, or "": none (load balancers' health) */
	char **pod_security_groups; /* a port's groups when it names none */
	char *pod_qos_policy;	    /* a pod port's policy when it names none ("": none) */
};

/* @nb_connection is "unix:PATH" or "tcp:IP:PORT"; @pod_security_groups
 * (names or ids, NULL or empty: "default") are copied; @host (may be NULL)
 * is this node's chassis, where routers' gateways it sets are scheduled.
 * Connects at once; fails if OVN NB is unreachable. */
int backend_ovn_new(const char *nb_connection, const char *const *pod_security_groups,
		    const char *host, struct backend **ret, char **reterr_msg);
