/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "neutron": trunks and their subports. */
#include <stdio.h>

#include "neutron-private.h"

static json_t *trunk_json(json_t *t)
{
	json_t *subs = json_array(), *sp;
	size_t i;

	json_array_foreach(json_object_get(t, "sub_ports"), i, sp) {
		json_array_append_new(
		    subs,
		    json_pack("{s:s?, s:I}", "port", json_object_get_str(sp, "port_id"), "vlan",
			      json_integer_value(json_object_get(sp, "segmentation_id"))));
	}
	return json_pack("{s:s?, s:s?, s:s?, s:s?, s:o}", "id", json_object_get_str(t, "id"),
			 "name", json_object_get_str(t, "name"), "port",
			 json_object_get_str(t, "port_id"), "status",
			 json_object_get_str(t, "status"), "subports", subs);
}

/* The trunk by id or by name, as Neutron has it. */
static int find_trunk(struct neutron_backend *nb, const char *ref, json_t **ret, char **reterr_msg)
{
	char scope[SCOPE_MAX];

	neutron_scope_of(nb, NULL, scope);
	return neutron_lookup(nb, &neutron_kind_trunk, ref, scope, ret, reterr_msg);
}

int neutron_trunk_create(struct backend *b, const char *parent, const char *name, json_t **ret,
			 char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *p = NULL, *res = NULL;
	json_t *body;
	int r;

	r = neutron_find_port(nb, parent, &p, reterr_msg);
	if (r < 0)
		return r;
	body = json_pack("{s:s, s:s}", "port_id", json_object_get_str(p, "id"), "name",
			 name ? name : "");
	if (*nb->project)
		json_object_set_new(body, "project_id", json_string(nb->project));
	r = neutron_api(nb, "POST", "/trunks", json_pack("{s:o}", "trunk", body), &res, reterr_msg);
	if (r < 0)
		return r;
	r = neutron_tag_after(nb, "/trunks",
			      json_object_get_str(json_object_get(res, "trunk"), "id"), reterr_msg);
	if (r < 0) {
		(void)neutron_api_delete(
		    nb, "/trunks", json_object_get_str(json_object_get(res, "trunk"), "id"), NULL);
		return r;
	}
	*ret = trunk_json(json_object_get(res, "trunk"));
	return 0;
}

int neutron_trunk_get(struct backend *b, const char *trunk, json_t **ret, char **reterr_msg)
{
	_cleanup_json_ json_t *t = NULL;
	int r = find_trunk(to_neutron(b), trunk, &t, reterr_msg);

	if (r == 0)
		*ret = trunk_json(t);
	return r;
}

int neutron_trunk_delete(struct backend *b, const char *trunk, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *t = NULL;
	int r;

	r = find_trunk(nb, trunk, &t, reterr_msg);
	if (r < 0)
		return r;
	return neutron_api_delete(nb, "/trunks", json_object_get_str(t, "id"), reterr_msg);
}

/* Whether port @port_id (not a subport of the trunk) is in use where
 * Neutron takes no subport: another trunk's parent or subport (Neutron's
 * words say how), or a port with a device_id (PortInUse, put in ours). */
static bool port_in_use(struct neutron_backend *nb, const char *port_id, char **err)
{
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ char *path = NULL;
	json_t *p;

	if (asprintf(&path, "/ports/%s", port_id) < 0) {
		path = NULL;
		return false;
	}
	if (neutron_api(nb, "GET", path, NULL, &res, NULL) < 0)
		return false;
	p = json_object_get(res, "port");
	if (streq_ptr(json_object_get_str(p, "device_owner"), "trunk:subport") ||
	    json_is_object(json_object_get(p, "trunk_details")))
		return true;
	if (*(json_object_get_str(p, "device_id") ?: "")) {
		free(*err);
		*err = strdup_printf("port %s has device_id %s: Neutron takes no port in use "
				     "as a subport",
				     port_id, json_object_get_str(p, "device_id"));
		return true;
	}
	return false;
}

/* Neutron's 409 to an add_subports means one of these, which its
 * fault tells only in words: a VLAN id is taken on the trunk
 * (DuplicateSubPort: -EEXIST, the one callers pick other ids for); a port
 * is already a subport (TrunkPortInUse, also when it is a subport of this
 * very trunk: if every port is there under its id, the answer to a first
 * PUT was lost and this one is a retry, 0; else -EBUSY); or a port is
 * another trunk's parent or subport, or has a device_id (PortInUse):
 * -EBUSY. Neutron adds all of a request's subports or none, so the trunk
 * and the ports as they are now tell them apart. */
static int add_conflict(struct neutron_backend *nb, const char *trunk_id,
			const char *const *port_ids, const unsigned *vlans, size_t n, char **err)
{
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ char *path = NULL;
	json_t *sp, *subs;
	size_t i, there = 0;

	if (asprintf(&path, "/trunks/%s", trunk_id) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	if (neutron_api(nb, "GET", path, NULL, &res, NULL) < 0)
		return -EEXIST;
	subs = json_object_get(json_object_get(res, "trunk"), "sub_ports");
	for (size_t k = 0; k < n; k++)
		json_array_foreach(subs, i, sp) {
			json_int_t id = json_integer_value(json_object_get(sp, "segmentation_id"));

			if (!streq_ptr(json_object_get_str(sp, "port_id"), port_ids[k]))
				continue;
			if (id == (json_int_t)vlans[k]) {
				there++;
				break;
			}
			free(*err);
			*err = strdup_printf("port %s is already subport VLAN %lld of trunk %s",
					     port_ids[k], (long long)id, trunk_id);
			return -EBUSY;
		}
	if (there == n)
		return 0;
	if (there > 0) {
		free(*err);
		*err = strdup_printf("%zu of the %zu ports are already subports of trunk %s", there,
				     n, trunk_id);
		return -EBUSY;
	}
	for (size_t k = 0; k < n; k++)
		json_array_foreach(subs, i, sp) {
			if (json_integer_value(json_object_get(sp, "segmentation_id")) ==
			    (json_int_t)vlans[k])
				return -EEXIST;
		}
	/* Neither: a port is another's, or an id was taken and has been
	 * given back since: try other ids. */
	for (size_t k = 0; k < n; k++)
		if (port_in_use(nb, port_ids[k], err))
			return -EBUSY;
	return -EEXIST;
}

/* PUT @trunk_id's add_subports or remove_subports with @n ports (@vlans
 * NULL for a removal). */
static int put_subports(struct neutron_backend *nb, const char *trunk_id, const char *const *ids,
			const unsigned *vlans, size_t n, char **reterr_msg)
{
	_cleanup_free_ char *path = NULL, *err = NULL;
	json_t *subs = json_array();
	int r;

	if (asprintf(&path, "/trunks/%s/%s", trunk_id, vlans ? "add_subports" : "remove_subports") <
	    0) {
		path = NULL;
		json_decref(subs);
		return -ENOMEM;
	}
	if (!subs)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++)
		json_array_append_new(subs, vlans ? json_pack("{s:s, s:s, s:i}", "port_id", ids[k],
							      "segmentation_type", "vlan",
							      "segmentation_id", (int)vlans[k])
						  : json_pack("{s:s}", "port_id", ids[k]));
	/* PUT: retried like a GET; a repeated add is sorted out below. */
	r = neutron_api(nb, "PUT", path, json_pack("{s:o}", "sub_ports", subs), NULL, &err);
	if (vlans && r == -EEXIST)
		r = add_conflict(nb, trunk_id, ids, vlans, n, &err);
	if (r < 0 && err)
		set_errmsg(reterr_msg, "%s", err);
	return r;
}

int neutron_trunk_subport(struct backend *b, const char *trunk, bool add, const char *port,
			  unsigned vlan, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *t = NULL, *p = NULL;
	const char *id;
	int r;

	if (add && (vlan < 1 || vlan > 4094)) {
		set_errmsg(reterr_msg, "VLAN %u is not in 1..4094", vlan);
		return -EINVAL;
	}
	r = find_trunk(nb, trunk, &t, reterr_msg);
	if (r == 0)
		r = neutron_find_port(nb, port, &p, reterr_msg);
	if (r < 0)
		return r;
	id = json_object_get_str(p, "id");
	return put_subports(nb, json_object_get_str(t, "id"), &id, add ? &vlan : NULL, 1,
			    reterr_msg);
}

/* The ports are ours, named by their ids (port_create's names): no lookup
 * each, which would cost the batch what it saves; a port that is gone is
 * Neutron's 404 to the PUT. */
int neutron_trunk_subports_add(struct backend *b, const char *trunk, const char *const *ports,
			       const unsigned *vlans, size_t n, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *t = NULL;
	int r;

	for (size_t i = 0; i < n; i++) {
		if (vlans[i] < 1 || vlans[i] > 4094) {
			set_errmsg(reterr_msg, "VLAN %u is not in 1..4094", vlans[i]);
			return -EINVAL;
		}
		if (!uuid_is_valid(ports[i])) {
			set_errmsg(reterr_msg, "port \"%s\" is not a Neutron port id", ports[i]);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (vlans[j] == vlans[i] || streq(ports[j], ports[i])) {
				set_errmsg(reterr_msg, "VLAN %u or port %s is asked for twice",
					   vlans[i], ports[i]);
				return -EINVAL;
			}
	}
	if (n == 0)
		return 0;
	r = find_trunk(nb, trunk, &t, reterr_msg);
	if (r < 0)
		return r;
	return put_subports(nb, json_object_get_str(t, "id"), ports, vlans, n, reterr_msg);
}

int neutron_trunk_by_parent_mac(struct backend *b, const char *mac, json_t **ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *ports = NULL, *trunks = NULL;
	_cleanup_free_ char *path = NULL, *m = neutron_escape(mac);
	json_t *list, *port;
	int r;

	if (!m || asprintf(&path, "/ports?mac_address=%s&fields=id&fields=name", m) < 0)
		return -ENOMEM;
	r = neutron_api(nb, "GET", path, NULL, &ports, reterr_msg);
	if (r < 0)
		return r;
	list = json_object_get(ports, "ports");
	if (json_array_size(list) == 0) {
		set_errmsg(reterr_msg, "no port has MAC %s", mac);
		return -ENOENT;
	}
	if (json_array_size(list) > 1) {
		set_errmsg(reterr_msg, "more than one port has MAC %s", mac);
		return -ENOTUNIQ;
	}
	port = json_array_get(list, 0);
	free(path);
	if (asprintf(&path, "/trunks?port_id=%s", json_object_get_str(port, "id")) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	r = neutron_api(nb, "GET", path, NULL, &trunks, reterr_msg);
	if (r < 0)
		return r;
	list = json_object_get(trunks, "trunks");
	if (json_array_size(list) == 0) {
		set_errmsg(reterr_msg, "port %s (MAC %s) is not the parent of a trunk",
			   json_object_get_str(port, "id"), mac);
		return -ENXIO;
	}
	*ret = trunk_json(json_array_get(list, 0));
	return *ret ? 0 : -ENOMEM;
}
