/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "ovn", for the registry (backend.c) and tests. */
#pragma once

#include "backend.h"

extern const struct backend_driver backend_ovn_driver;

/* Its configuration: [ovn]. */
struct ovn_config {
	char *nb_connection; /* unix:PATH | tcp:IP:PORT */
};

/* @nb_connection is "unix:PATH" or "tcp:IP:PORT". Connects at once; fails
 * if OVN NB is unreachable. */
int backend_ovn_new(const char *nb_connection, struct backend **ret, char **reterr_msg);
