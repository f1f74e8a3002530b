/* SPDX-License-Identifier: Apache-2.0 */
/* kuryr.conf: an INI file (libinih). Unknown sections or keys are errors,
 * reported with file and line, so a typo never silently falls back to a
 * default. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

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
	char *host;		/* [DEFAULT] host: this node's name (default: hostname) */
	/* [vif_pool]: upstream Kuryr's names and meanings. */
	bool pool_enabled;	/* enabled */
	bool pool_prewire;	/* prewire */
	int pool_min;		/* ports_pool_min */
	int pool_max;		/* ports_pool_max: 0 = no limit */
	int pool_batch;		/* ports_pool_batch */
	int pool_update_ms;	/* ports_pool_update_frequency, seconds in the file */
	char *holding_netns;	/* holding_netns: where pre-wired stubs wait */
	char *neutron_endpoint; /* [neutron] endpoint_override */
	char *neutron_project;	/* [neutron_defaults] project */
};

/* Fill @c with the built-in defaults. */
int config_init(struct kuryr_config *c);
/* Read @path over the current values. 0, or -errno with "PATH:LINE: what" in
 * *reterr_msg. */
int config_load(struct kuryr_config *c, const char *path, char **reterr_msg);
/* The same from an open stream; @name stands for the file in messages. */
int config_load_stream(struct kuryr_config *c, FILE *f, const char *name, char **reterr_msg);
void config_release(struct kuryr_config *c);
