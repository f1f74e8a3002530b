/* SPDX-License-Identifier: Apache-2.0 */
/* kuryr.conf: an INI file (libinih). The node's own sections live here
 * ([DEFAULT], [ovs], [daemon], [vif_pool]); every backend's sections are
 * read by that backend (struct backend_driver) into a configuration of its
 * own. Unknown sections or keys are errors, reported with file and line,
 * so a typo never silently falls back to a default. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "backend/backend.h"
#include "binding/binding.h"

#define CONFIG_MAX_BACKENDS 8

struct kuryr_config {
	char *backend;	      /* [DEFAULT] backend: "ovn" */
	char *log_level;      /* [DEFAULT] log_level */
	char *host;	      /* [DEFAULT] host: this node's name; NULL when the file
			       * does not set it (kuryrd then picks one) */
	char *binding_driver; /* [binding] driver: what plugs containers ("ovs") */
	/* [binding] link_iface: a VM guest's NIC that is its trunk's parent
	 * (nested drivers); NULL: the interface of the default route */
	char *link_iface;
	enum binding_tx_csum veth_tx_csum; /* [binding] veth_tx_checksum */
	char *ovs_db;			   /* [ovs] db_connection */
	char *ovs_bridge;		   /* [ovs] bridge */
	/* [ovs] bridge_mappings: "PHYSNET:BRIDGE" items, the provider
	 * bridges external networks leave the node by (ovn-bridge-mappings) */
	char **bridge_mappings;
	char *socket;		/* [daemon] socket */
	char *state_dir;	/* [daemon] state_dir */
	char *metrics_address;	/* [daemon] metrics_address: IP:PORT, "" = off */
	int port_up_timeout_ms; /* [daemon] port_up_timeout, seconds in the file */
	int workers;		/* [daemon] workers: concurrent requests */
	/* [vif_pool]: upstream Kuryr's names and meanings. */
	bool pool_enabled;   /* enabled */
	bool pool_prewire;   /* prewire */
	int pool_min;	     /* ports_pool_min */
	int pool_max;	     /* ports_pool_max: 0 = no limit */
	int pool_batch;	     /* ports_pool_batch */
	int pool_update_ms;  /* ports_pool_update_frequency, seconds in the file */
	char *holding_netns; /* holding_netns: where pre-wired stubs wait */
	/* [docker]: the libnetwork remote network and IPAM driver. */
	bool docker_enabled;	  /* enabled */
	char *docker_socket;	  /* socket: where dockerd finds its plugin */
	char *docker_subnet_pool; /* subnet_pool: networks created without a
				   * subnet take a /24 of it */
	/* Each registered backend's configuration, in backend_drivers[]
	 * order (config_backend()). */
	void *backends[CONFIG_MAX_BACKENDS];
};

/* Fill @c with the built-in defaults. */
int config_init(struct kuryr_config *c);
/* Read @path over the current values. 0, or -errno with "PATH:LINE: what" in
 * *reterr_msg. */
int config_load(struct kuryr_config *c, const char *path, char **reterr_msg);
/* The same from an open stream; @name stands for the file in messages. */
int config_load_stream(struct kuryr_config *c, FILE *f, const char *name, char **reterr_msg);
/* After the files: what the chosen backend reads besides them (Neutron:
 * clouds.yaml, through [neutron] cloud or $OS_CLOUD). 0, 1 if it read
 * something, or -errno with a message that never holds a secret. */
int config_finish(struct kuryr_config *c, char **reterr_msg);
void config_release(struct kuryr_config *c);

/* The chosen backend, and a backend's configuration (NULL if unknown). */
const struct backend_driver *config_backend_driver(const struct kuryr_config *c);
void *config_backend(const struct kuryr_config *c, const char *name);
/* The OVS bridge the node's ports go on: the chosen backend's own choice
 * ([neutron_defaults] ovs_bridge), else [ovs] bridge. */
const char *config_bridge(const struct kuryr_config *c);
