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

/* Neutron's 409 to an add_subports means one of these, which its
 * fault tells only in words: the VLAN id is taken on the trunk
 * (DuplicateSubPort: -EEXIST, the one callers pick another id for); the
 * port is already a subport (TrunkPortInUse, also when it is a subport of
 * this very trunk: 0 if under @vlan, the answer to a first PUT lost and
 * this one a retry; else -EBUSY); or it is another trunk's parent or
 * subport, or has a device_id (PortInUse): -EBUSY. The trunk and the port
 * as they are now tell them apart. */
static int add_conflict(struct neutron_backend *nb, const char *trunk_id, const char *port_id,
			unsigned vlan, char **err)
{
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ char *path = NULL;
	json_t *sp;
	size_t i;

	if (asprintf(&path, "/trunks/%s", trunk_id) < 0)
		return -ENOMEM;
	if (neutron_api(nb, "GET", path, NULL, &res, NULL) < 0)
		return -EEXIST;
	json_array_foreach(json_object_get(json_object_get(res, "trunk"), "sub_ports"), i, sp) {
		json_int_t id = json_integer_value(json_object_get(sp, "segmentation_id"));

		if (!streq_ptr(json_object_get_str(sp, "port_id"), port_id))
			continue;
		if (id == (json_int_t)vlan)
			return 0;
		free(*err);
		*err = strdup_printf("port %s is already subport VLAN %lld of trunk %s", port_id,
				     (long long)id, trunk_id);
		return -EBUSY;
	}
	json_array_foreach(json_object_get(json_object_get(res, "trunk"), "sub_ports"), i, sp) {
		if (json_integer_value(json_object_get(sp, "segmentation_id")) == (json_int_t)vlan)
			return -EEXIST;
	}
	/* Neither: the port is another trunk's (Neutron's words say how), or
	 * the id was taken and has been given back since: try another. */
	json_decref(res);
	res = NULL;
	free(path);
	if (asprintf(&path, "/ports/%s", port_id) < 0) {
		path = NULL;
		return -ENOMEM;
	}
	if (neutron_api(nb, "GET", path, NULL, &res, NULL) < 0)
		return -EEXIST;
	sp = json_object_get(res, "port");
	if (streq_ptr(json_object_get_str(sp, "device_owner"), "trunk:subport") ||
	    json_is_object(json_object_get(sp, "trunk_details")))
		return -EBUSY;
	/* Neutron's PortInUse: a port with a device_id is in use by that
	 * device, and no subport. */
	if (*(json_object_get_str(sp, "device_id") ?: "")) {
		free(*err);
		*err = strdup_printf("port %s has device_id %s: Neutron takes no port in use "
				     "as a subport",
				     port_id, json_object_get_str(sp, "device_id"));
		return -EBUSY;
	}
	return -EEXIST;
}

int neutron_trunk_subport(struct backend *b, const char *trunk, bool add, const char *port,
			  unsigned vlan, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *t = NULL, *p = NULL;
	_cleanup_free_ char *path = NULL, *err = NULL;
	json_t *sp;
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
	if (asprintf(&path, "/trunks/%s/%s", json_object_get_str(t, "id"),
		     add ? "add_subports" : "remove_subports") < 0)
		return -ENOMEM;
	sp = add ? json_pack("{s:s, s:s, s:i}", "port_id", json_object_get_str(p, "id"),
			     "segmentation_type", "vlan", "segmentation_id", (int)vlan)
		 : json_pack("{s:s}", "port_id", json_object_get_str(p, "id"));
	/* PUT: retried like a GET; a repeated add is sorted out below. */
	r = neutron_api(nb, "PUT", path, json_pack("{s:[o]}", "sub_ports", sp), NULL, &err);
	if (add && r == -EEXIST)
		r = add_conflict(nb, json_object_get_str(t, "id"), json_object_get_str(p, "id"),
				 vlan, &err);
	if (r < 0 && err)
		set_errmsg(reterr_msg, "%s", err);
	return r;
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
