/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "ovn": a port moved between nodes, keeping its name, MAC and
 * addresses, the way ML2/OVN moves a VM's port during live migration.
 *
 * A port of ours is bound wherever its iface-id is plugged, and kuryr:host
 * says which node that is. To move it, options:requested-chassis lists its
 * node and the target: both ovn-controllers claim it, the target as an
 * additional chassis that, with options:activation-strategy=rarp, drops
 * the port's traffic until the workload sends a RARP from there (QEMU
 * does after a migration, kuryrd after a move's ADD). Finishing leaves the
 * target alone in requested-chassis, and kuryr:host names it: the old
 * node's ovn-controller lets go and its kuryrd, which sweeps and pools only
 * its own ports, leaves the port to the new one.
 *
 * A VM's port is on the node whose kuryrd plugged its tap first
 * (port_bind, at vm plug, as Nova binds before os-vif plugs): from then
 * on another node plugs it only as the target of a move, which is how a
 * VM's live migration takes it (QEMU sends the RARP on arrival). */
#include <stdio.h>

#include "ovn-private.h"

#define OPT_CHASSIS    "requested-chassis"
#define OPT_ACTIVATION "activation-strategy"

/* A mutation that removes @keys[0..n) from map column @col. */
static json_t *map_delete_keys(const char *col, const char *const *keys, size_t n)
{
	json_t *set = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(set, json_string(keys[i]));
	return json_pack("[s, s, [s, o]]", col, "delete", "set", set);
}

static json_t *map_insert(const char *col, json_t *map)
{
	return json_pack("[s, s, o]", col, "insert", map);
}

int ovn_port_move(struct backend *b, const char *name, const struct port_move *m,
		  struct kuryr_port *ret, char **reterr_msg)
{
	static const char *const opt_keys[] = { OPT_CHASSIS, OPT_ACTIVATION };
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *row = NULL, *res = NULL;
	json_t *ops, *mut, *opts, *ext;
	const char *parent;
	struct kuryr_port p;
	char chassis[130];
	int r;

	r = ovn_find_lsp(ob, name, &row, reterr_msg);
	if (r < 0)
		return r;
	ovn_row_to_port(row, &p);
	parent = json_object_get_str(row, "parent_name");
	r = backend_port_move_check(&p, parent && *parent, m, reterr_msg);
	if (r < 0)
		return r;

	opts = ovsdb_string_map((const char *const[]){ NULL });
	ext = ovsdb_string_map((const char *const[]){ NULL });
	mut = json_array();
	json_array_append_new(mut, map_delete_keys("options", opt_keys, ELEMENTSOF(opt_keys)));
	switch (m->step) {
	case PORT_MOVE_BEGIN:
		snprintf(chassis, sizeof(chassis), "%s,%s", p.host, m->to);
		ovn_map_put(opts, OPT_CHASSIS, chassis);
		ovn_map_put(opts, OPT_ACTIVATION, "rarp");
		json_array_append_new(
		    mut,
		    map_delete_keys("external_ids", (const char *const[]){ EXT_MIGRATING }, 1));
		ovn_map_put(ext, EXT_MIGRATING, m->to);
		str_copy(p.migrating_to, m->to, sizeof(p.migrating_to));
		break;
	case PORT_MOVE_FINISH: {
		static const char *const gone[] = { EXT_MIGRATING, EXT_HOST,   EXT_POOL_KEY,
						    EXT_OWNER,	   EXT_DEVICE, EXT_IFNAME };
		static const char *const keep_device[] = { EXT_MIGRATING, EXT_HOST };

		ovn_map_put(opts, OPT_CHASSIS, m->to);
		/* A container's port now, whoever had it: a pool's leaves its
		 * pool (and its node's recovery) for good. */
		if (m->device_id) {
			json_array_append_new(
			    mut, map_delete_keys("external_ids", gone, ELEMENTSOF(gone)));
			ovn_map_put(ext, EXT_OWNER, "container");
			ovn_map_put(ext, EXT_DEVICE, m->device_id);
			ovn_map_put(ext, EXT_IFNAME, m->ifname ? m->ifname : "");
			p.owner = PORT_OWNER_CONTAINER;
			p.pool_key[0] = 0;
			str_copy(p.device_id, m->device_id, sizeof(p.device_id));
			str_copy(p.ifname, m->ifname ? m->ifname : "", sizeof(p.ifname));
		} else
			json_array_append_new(mut, map_delete_keys("external_ids", keep_device,
								   ELEMENTSOF(keep_device)));
		ovn_map_put(ext, EXT_HOST, m->to);
		str_copy(p.host, m->to, sizeof(p.host));
		p.migrating_to[0] = 0;
		break;
	}
	case PORT_MOVE_CANCEL:
		ovn_map_put(opts, OPT_CHASSIS, p.host);
		json_array_append_new(
		    mut,
		    map_delete_keys("external_ids", (const char *const[]){ EXT_MIGRATING }, 1));
		p.migrating_to[0] = 0;
		break;
	}
	json_array_append_new(mut, map_insert("options", opts));
	json_array_append_new(mut, map_insert("external_ids", ext));
	/* Only if no one changed it since it was read: a wait that does not
	 * hold at once fails the transaction. */
	ops = json_pack("[{s:s, s:s, s:o, s:[s], s:s, s:[{s:O}], s:i},"
			" {s:s, s:s, s:o, s:o}]",
			"op", "wait", "table", "Logical_Switch_Port", "where", ovn_where_name(name),
			"columns", "external_ids", "until", "==", "rows", "external_ids",
			json_object_get(row, "external_ids"), "timeout", 0, "op", "mutate", "table",
			"Logical_Switch_Port", "where", ovn_where_name(name), "mutations", mut);
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT) {
		set_errmsg(reterr_msg, "port %s changed while it was being moved", name);
		return -EAGAIN;
	}
	if (r < 0)
		return r;
	if (ret)
		*ret = p;
	return 0;
}

int ovn_port_bind(struct backend *b, const char *name, char **reterr_msg)
{
	struct ovn_backend *ob = to_ovn(b);
	_cleanup_json_ json_t *row = NULL, *res = NULL;
	struct kuryr_port p;
	json_t *ops;
	int r;

	if (!*ob->host)
		return 0;
	r = ovn_find_lsp(ob, name, &row, reterr_msg);
	if (r < 0)
		return r;
	ovn_row_to_port(row, &p);
	if (streq(p.host, ob->host) || streq(p.migrating_to, ob->host))
		return 0;
	if (*p.host) {
		set_errmsg(reterr_msg,
			   "port %s is bound to node %s (move it: kuryrctl port migrate)", p.name,
			   p.host);
		return -EBUSY;
	}
	/* Only if no node took it meanwhile. */
	ops = json_pack("[{s:s, s:s, s:o, s:[s], s:s, s:[{s:O}], s:i},"
			" {s:s, s:s, s:o, s:[[s, s, o]]}]",
			"op", "wait", "table", "Logical_Switch_Port", "where", ovn_where_name(name),
			"columns", "external_ids", "until", "==", "rows", "external_ids",
			json_object_get(row, "external_ids"), "timeout", 0, "op", "mutate", "table",
			"Logical_Switch_Port", "where", ovn_where_name(name), "mutations",
			"external_ids", "insert",
			ovsdb_string_map((const char *const[]){ EXT_HOST, ob->host, NULL }));
	r = ovn_transact(ob, ops, NB_TIMEOUT_MS, &res, reterr_msg);
	if (r == -ETIMEDOUT) {
		set_errmsg(reterr_msg, "port %s changed while it was being bound", name);
		return -EAGAIN;
	}
	return r;
}
