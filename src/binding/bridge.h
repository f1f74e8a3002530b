/* SPDX-License-Identifier: Apache-2.0 */
/* The integration bridge in the local Open_vSwitch database: the ports the
 * binding drivers put on it for OVN, and ovn-controller's marks on them.
 * A port is an Interface+Port pair named after its device, with
 * external_ids iface-id (the backend's port), attached-mac, iface-status
 * and vm-uuid, as os-vif writes them; ovn-controller sets
 * external_ids:ovn-installed once the port's flows are in, which a monitor
 * on the Interface table reports to waiters. Thread-safe. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct bridge;
struct bridge_watch;

/* Connect to the Open_vSwitch database at @db ("unix:PATH", "tcp:IP:PORT")
 * and start watching its interfaces. -ENOENT if bridge @name is missing. */
int bridge_new(const char *db, const char *name, struct bridge **ret, char **reterr_msg);
void bridge_free(struct bridge *br);
const char *bridge_name(const struct bridge *br);
const char *bridge_db(const struct bridge *br);
bool bridge_connected(struct bridge *br);
/* The bridge's datapath_type is netdev (read when it was opened). */
bool bridge_userspace(const struct bridge *br);
/* The switch's external_ids:hostname (Open_vSwitch table): the name
 * ovn-controller registers its chassis with, and so the one Neutron's
 * ML2/OVN binds ports to. Copied into @buf of @size bytes. -ENOENT if unset
 * or empty, -ENAMETOOLONG if it does not fit. */
int bridge_hostname(struct bridge *br, char *buf, size_t size, char **reterr_msg);

/* Provider bridges: for each "PHYSNET:BRIDGE" of @mappings (NULL-terminated),
 * make BRIDGE if it is missing (the integration bridge's datapath type), and
 * tell ovn-controller (external_ids:ovn-bridge-mappings, replaced) and the
 * gateway schedulers (ovn-cms-options gains enable-chassis-as-gw). The
 * uplink on each bridge is the operator's. Nothing happens for none. */
int bridge_set_mappings(struct bridge *br, char *const *mappings, char **reterr_msg);

/* Put device @ifname on the bridge for backend port @port, in one
 * transaction. -EEXIST if it is on a bridge already. */
int bridge_add_port(struct bridge *br, const char *ifname, const char *port, const char *mac,
		    const char *vm_id, char **reterr_msg);
/* Take @ifname off the bridge: -ENOENT if it is not on it. */
int bridge_del_port(struct bridge *br, const char *ifname, char **reterr_msg);
/* 1 if Interface @ifname is marked ovn-installed, 0 if not yet, -ENOENT if
 * there is no such Interface. */
int bridge_port_installed(struct bridge *br, const char *ifname, char **reterr_msg);

/* Watch Interface @ifname for ovn-installed. Start the watch before the
 * port is added so the mark cannot be missed. */
int bridge_watch_new(struct bridge *br, const char *ifname, struct bridge_watch **ret);
/* Wait at most @timeout_ms for the mark: 0 or -ETIMEDOUT. */
int bridge_watch_wait(struct bridge *br, struct bridge_watch *w, int timeout_ms);
/* Accepts NULL. */
void bridge_watch_free(struct bridge *br, struct bridge_watch *w);
