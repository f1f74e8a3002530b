/* SPDX-License-Identifier: Apache-2.0 */
/* kuryr.conf: an INI file (libinih). Unknown sections or keys are errors,
 * reported with file and line, so a typo never silently falls back to a
 * default. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "openstack/auth.h"

/* A key and its value as a file wrote them. */
struct config_kv {
	char *key;
	char *value;
};

struct kuryr_config {
	char *backend;		/* [DEFAULT] backend: "ovn" */
	char *log_level;	/* [DEFAULT] log_level */
	char *nb_connection;	/* [ovn] nb_connection: unix:PATH | tcp:IP:PORT */
	char *ovs_db;		/* [ovs] db_connection */
	char *ovs_bridge;	/* [ovs] bridge */
	char *socket;		/* [daemon] socket */
	char *state_dir;	/* [daemon] state_dir */
	char *metrics_address;	/* [daemon] metrics_address: IP:PORT, "" = off */
	int port_up_timeout_ms; /* [daemon] port_up_timeout, seconds in the file */
	int workers;		/* [daemon] workers: concurrent requests */
	char *host;		/* [DEFAULT] host: this node's name; NULL when the file
				 * does not set it (kuryrd then picks one) */
	/* [vif_pool]: upstream Kuryr's names and meanings. */
	bool pool_enabled;   /* enabled */
	bool pool_prewire;   /* prewire */
	int pool_min;	     /* ports_pool_min */
	int pool_max;	     /* ports_pool_max: 0 = no limit */
	int pool_batch;	     /* ports_pool_batch */
	int pool_update_ms;  /* ports_pool_update_frequency, seconds in the file */
	char *holding_netns; /* holding_netns: where pre-wired stubs wait */
	/* [neutron]: upstream Kuryr's (keystoneauth's) names. Every key that
	 * os_auth_config_set() takes fills neutron_auth. */
	struct os_auth_config neutron_auth;
	char *neutron_cloud;		     /* cloud: clouds.yaml entry; "" = $OS_CLOUD */
	int neutron_timeout_ms;		     /* timeout, seconds in the file */
	int neutron_max_concurrent_requests; /* max_concurrent_requests */
	struct config_kv *neutron_explicit;  /* neutron_auth keys the files set, */
	size_t n_neutron_explicit;	     /* each once, the last written last */
	/* [neutron_defaults]. pod_security_groups is a comma-separated list
	 * of names or ids in the file, here a NULL-terminated array (never
	 * NULL itself; empty by default). */
	char *neutron_project;		    /* project */
	char *neutron_pod_subnet;	    /* pod_subnet: name or id, "" = none */
	char **neutron_pod_security_groups; /* pod_security_groups */
	char *neutron_ovs_bridge;	    /* ovs_bridge: "" = [ovs] bridge */
	char *neutron_pod_qos_policy;	    /* pod_qos_policy: name or id, "" = none */
	char **neutron_resource_tags;	    /* resource_tags: like pod_security_groups */
};

/* Fill @c with the built-in defaults. */
int config_init(struct kuryr_config *c);
/* Read @path over the current values. 0, or -errno with "PATH:LINE: what" in
 * *reterr_msg. */
int config_load(struct kuryr_config *c, const char *path, char **reterr_msg);
/* The same from an open stream; @name stands for the file in messages. */
int config_load_stream(struct kuryr_config *c, FILE *f, const char *name, char **reterr_msg);
void config_release(struct kuryr_config *c);
/* After config_load(): if [neutron] cloud is set, or else $OS_CLOUD, read
 * that cloud's credentials from clouds.yaml (clouds_load()'s search) into
 * neutron_auth, then apply over them every [neutron] key the files set
 * explicitly: the file wins. Returns 1 if a cloud was read, 0 if none is
 * named, -errno with a message (never holding a secret) otherwise;
 * neutron_auth is unchanged on failure. */
int config_apply_cloud(struct kuryr_config *c, char **reterr_msg);
