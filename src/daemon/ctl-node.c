/* SPDX-License-Identifier: Apache-2.0 */
/* The operator's verbs on this node: its pools, its attachments, and the
 * daemon's state. */
#include <stdio.h>

#include "build-config.h"
#include "daemon-private.h"
#include "json-util.h"

json_t *ctl_pool(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const char *net = json_object_get_str(args, "network");
	struct kuryr_network n;
	int r;

	if (!d->pool)
		return reply_error(409, "pools are switched off", "[vif_pool] enabled = false");
	net = kuryrd_network_name(d, net, &n);
	if (streq(verb, "pool.list"))
		return reply_ok(pool_list_json(d->pool, net));
	if (streq(verb, "pool.free")) { /* no network: every pool */
		r = pool_free_ready(d->pool, net, &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot free the pool", err);
		return reply_ok(pool_list_json(d->pool, net));
	}
	if (!net)
		return reply_error(400, "missing argument", "network");
	if (streq(verb, "pool.show")) {
		json_t *a = pool_list_json(d->pool, net);
		json_t *one = json_incref(json_array_get(a, 0));

		json_decref(a);
		return one ? reply_ok(one) : reply_error(404, "no pool for this network", net);
	}
	/* pool.populate */
	r = pool_populate(d->pool, net, &err);
	if (r < 0)
		return reply_ctl_errno(r, "cannot populate the pool", err);
	return reply_ok(pool_list_json(d->pool, net));
}

json_t *ctl_attachment(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ struct attachment *rows = NULL;
	size_t n = 0;
	json_t *out;
	int r;

	r = store_list(d->store, &rows, &n);
	if (r < 0)
		return reply_error(500, "cannot read the attachment store", strerror(-r));
	out = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct attachment *a = &rows[i];
		/* A Docker endpoint's row (docker-private.h): its netns says
		 * "docker:ENDPOINT_ID" once CreateEndpoint has taken it. */
		bool docker = strncmp(a->container_id, "docker:", 7) == 0;
		const char *ep = docker && strncmp(a->netns, "docker:", 7) == 0 ? a->netns + 7 : "";

		json_array_append_new(
		    out,
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
			      "origin", docker ? "docker" : "cni", "container_id", a->container_id,
			      "docker_endpoint", ep, "ifname", a->ifname, "netns", a->netns,
			      "network", a->network, "port", a->port, "host_ifname", a->host_ifname,
			      "mac", a->mac, "address", a->address, "binding", a->binding, "state",
			      attach_state_to_string(a->state), "created", (json_int_t)a->created));
	}
	return reply_ok(out);
}

json_t *ctl_status(struct kuryrd *d, const char *verb, json_t *args)
{
	int n = store_count(d->store);

	return reply_ok(
	    json_pack("{s:s, s:s, s:s, s:b, s:s, s:b, s:i}", "version", KURYR_VERSION, "backend",
		      d->backend->ops->name, "backend_at", d->backend->ops->describe(d->backend),
		      "backend_connected", d->backend->ops->connected(d->backend), "ovs_bridge",
		      d->bridge ? bridge_name(d->bridge) : "", "ovs_connected",
		      binding_connected(d->node_binding), "attachments", n < 0 ? 0 : n));
}
