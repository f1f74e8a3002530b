/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "neutron": what users name (networks, ports, trunks, security
 * groups, QoS policies, routers) found by id, else by a name that must be
 * unique where it resolves: the project's own objects and those shared
 * with it. */
#include <stdio.h>

#include "neutron-private.h"

const struct kind neutron_kind_network = {
	"network", "/networks", "networks", "network", -ENOENT, true,
};
/* Not scoped: a pod's port may be in the pod's own project, and a rollback
 * finds a port whose create outcome was lost by the name kuryrd gave it. */
const struct kind neutron_kind_port = { "port", "/ports", "ports", "port", -ENOENT, false };
const struct kind neutron_kind_trunk = { "trunk", "/trunks", "trunks", "trunk", -ENOENT, true };
const struct kind neutron_kind_sg = {
	"security group", "/security-groups", "security_groups", "security_group", -ESRCH, true
};
const struct kind neutron_kind_qos = {
	"QoS policy", "/qos/policies", "policies", "policy", -ESRCH, true,
};
const struct kind neutron_kind_router = {
	"router", "/routers", "routers", "router", -ENOENT, true
};

/* The project names resolve in: @project (a pod's own) if given, else
 * [neutron_defaults] project, else the token's; "" before a Keystone login
 * (then whatever Neutron shows kuryrd). */
void neutron_scope_of(struct neutron_backend *nb, const char *project, char out[SCOPE_MAX])
{
	if (project && *project)
		str_copy(out, project, SCOPE_MAX);
	else if (*nb->project)
		str_copy(out, nb->project, SCOPE_MAX);
	else
		os_session_project_id(nb->s, out, SCOPE_MAX);
}

static bool in_scope(const struct kind *k, json_t *o, const char *project)
{
	const char *owner =
	    json_object_get_str(o, "project_id") ?: json_object_get_str(o, "tenant_id");

	return !k->scoped || !*project || streq_ptr(owner, project) ||
	       json_is_true(json_object_get(o, "shared"));
}

/* Append @o's id to the ", "-separated list *ids. */
int neutron_ids_append(char **ids, json_t *o)
{
	char *more = strdup_printf("%s%s%s", *ids ? *ids : "", *ids ? ", " : "",
				   json_object_get_str(o, "id") ?: "?");

	if (!more)
		return -ENOMEM;
	free(*ids);
	*ids = more;
	return 0;
}

/* The one @k named exactly @name in @project's scope (see struct kind;
 * "": any): 0 with a new reference in *ret, k->missing if there is none,
 * -ENOTUNIQ naming every candidate's id if there are several. */
int neutron_by_name(struct neutron_backend *nb, const struct kind *k, const char *name,
		    const char *project, json_t **ret, char **reterr_msg)
{
	_cleanup_free_ char *path = NULL, *e = neutron_escape(name), *ids = NULL;
	_cleanup_json_ json_t *all = NULL;
	json_t *o, *found = NULL;
	size_t i, n = 0;
	int r;

	if (!e || asprintf(&path, "%s?name=%s", k->collection, e) < 0)
		return -ENOMEM;
	r = neutron_list_all(nb, path, k->key, &all, reterr_msg);
	if (r < 0)
		return r;
	json_array_foreach(all, i, o) {
		/* Exactly: a case-insensitive collation may match more. */
		if (!streq_ptr(json_object_get_str(o, "name"), name) || !in_scope(k, o, project))
			continue;
		if (neutron_ids_append(&ids, o) < 0)
			return -ENOMEM;
		found = o;
		n++;
	}
	if (n == 0) {
		set_errmsg(reterr_msg, "%s \"%s\" does not exist%s%s", k->what, name,
			   k->scoped && *project ? " in project " : "", k->scoped ? project : "");
		return k->missing;
	}
	if (n > 1) {
		set_errmsg(reterr_msg,
			   "More than one %s exists with the name \"%s\": %s; use an ID", k->what,
			   name, ids);
		return -ENOTUNIQ;
	}
	*ret = json_incref(found);
	return 0;
}

/* Whether a @k named @name exists where names resolve (so that creating
 * another would make the name ambiguous). */
bool neutron_name_taken(struct neutron_backend *nb, const struct kind *k, const char *name)
{
	_cleanup_json_ json_t *o = NULL;
	char scope[SCOPE_MAX];
	int r;

	neutron_scope_of(nb, NULL, scope);
	r = neutron_by_name(nb, k, name, scope, &o, NULL);
	return r == 0 || r == -ENOTUNIQ;
}

/* The @k that @ref names: by id first where @ref looks like one (a 404
 * then falls back to the names, since a name may look like an id too),
 * else neutron_by_name() in @project's scope. */
int neutron_lookup(struct neutron_backend *nb, const struct kind *k, const char *ref,
		   const char *project, json_t **ret, char **reterr_msg)
{
	if (uuid_is_valid(ref)) {
		_cleanup_free_ char *path = strdup_printf("%s/%s", k->collection, ref);
		_cleanup_json_ json_t *res = NULL;
		int r;

		if (!path)
			return -ENOMEM;
		r = neutron_api(nb, "GET", path, NULL, &res, reterr_msg);
		if (r == 0 && json_is_object(json_object_get(res, k->one))) {
			*ret = json_incref(json_object_get(res, k->one));
			return 0;
		}
		/* Only a 404 means "no such id": a Neutron that cannot
		 * answer must not make an object look gone (a rollback
		 * would forget a port). */
		if (r < 0 && r != -ENOENT)
			return r;
		if (reterr_msg) {
			free(*reterr_msg);
			*reterr_msg = NULL;
		}
	}
	return neutron_by_name(nb, k, ref, project, ret, reterr_msg);
}

/* The id of the @k that @ref names (neutron_lookup()), names resolving in
 * @project's scope (neutron_scope_of()). */
int neutron_resolve_id(struct neutron_backend *nb, const struct kind *k, const char *ref,
		       const char *project, char out[40], char **reterr_msg)
{
	_cleanup_json_ json_t *o = NULL;
	char scope[SCOPE_MAX];
	int r;

	neutron_scope_of(nb, project, scope);
	r = neutron_lookup(nb, k, ref, scope, &o, reterr_msg);
	if (r == 0)
		str_copy(out, json_object_get_str(o, "id"), 40);
	return r;
}
