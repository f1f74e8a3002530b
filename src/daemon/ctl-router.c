/* SPDX-License-Identifier: Apache-2.0 */
/* The operator's verbs on routers and floating IPs, for backends that have
 * them (BACKEND_CAP_ROUTERS). */
#include <stdio.h>

#include "daemon-private.h"
#include "json-util.h"
#include "log.h"

static json_t *no_routers(struct kuryrd *d)
{
	_cleanup_free_ char *m =
	    strdup_printf("this node's backend %s has no routers", d->backend->ops->name);

	return reply_error(501, "not supported", m ? m : "routers");
}

/* router.create|show|delete {router}, router.list {},
 * router.add-subnet|remove-subnet {router, network},
 * router.set {router, external_gateway? | no_external_gateway?, no_snat?} */
json_t *ctl_router(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const struct backend_ops *ops = d->backend->ops;
	const char *router = json_object_get_str(args, "router");
	json_t *out = NULL;
	int r;

	if (!(ops->caps & BACKEND_CAP_ROUTERS))
		return no_routers(d);
	if (streq(verb, "router.list")) {
		r = ops->router_list(d->backend, &out, &err);
		return r < 0 ? reply_ctl_errno(r, "cannot list the routers", err) : reply_ok(out);
	}
	if (!router || !*router)
		return reply_error(400, "missing argument", "router");
	if (streq(verb, "router.create")) {
		r = ops->router_create(d->backend, router, &out, &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot create the router", err);
		log_info("event=router-create router=%s id=%s", router,
			 json_object_get_str(out, "id"));
		return reply_ok(out);
	}
	if (streq(verb, "router.delete")) {
		r = ops->router_delete(d->backend, router, &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot delete the router", err);
		log_info("event=router-delete router=%s", router);
		return reply_ok(NULL);
	}
	if (streq(verb, "router.add-subnet") || streq(verb, "router.remove-subnet")) {
		const char *net = json_object_get_str(args, "network");
		bool add = streq(verb, "router.add-subnet");

		if (!net || !*net)
			return reply_error(400, "missing argument", "network");
		r = ops->router_interface(d->backend, router, add, net, &err);
		if (r < 0)
			return reply_ctl_errno(r,
					       add ? "cannot add the subnet to the router"
						   : "cannot remove the subnet from the router",
					       err);
		log_info("event=router-%s router=%s network=%s",
			 add ? "add-subnet" : "remove-subnet", router, net);
	} else if (streq(verb, "router.set")) {
		const char *ext = json_object_get_str(args, "external_gateway");
		bool clear = json_is_true(json_object_get(args, "no_external_gateway"));
		bool no_snat = json_is_true(json_object_get(args, "no_snat"));

		if (!ext == !clear)
			return reply_error(400, "invalid argument",
					   "give --external-gateway NET or --no-external-gateway");
		if (clear && no_snat)
			return reply_error(400, "invalid argument",
					   "--no-snat goes with --external-gateway");
		r = ops->router_gateway(d->backend, router, ext, !no_snat, &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot set the router's gateway", err);
		log_info("event=router-gateway router=%s network=%s snat=%s", router,
			 ext ? ext : "-", no_snat ? "no" : "yes");
	}
	r = ops->router_get(d->backend, router, &out, &err);
	return r < 0 ? reply_ctl_errno(r, "cannot show the router", err) : reply_ok(out);
}

/* floating-ip.create {network, port, ip?}, floating-ip.list {},
 * floating-ip.delete {fip} */
json_t *ctl_floating_ip(struct kuryrd *d, const char *verb, json_t *args)
{
	_cleanup_free_ char *err = NULL;
	const struct backend_ops *ops = d->backend->ops;
	json_t *out = NULL;
	int r;

	if (!(ops->caps & BACKEND_CAP_ROUTERS))
		return no_routers(d);
	if (streq(verb, "floating-ip.list")) {
		r = ops->fip_list(d->backend, &out, &err);
		return r < 0 ? reply_ctl_errno(r, "cannot list the floating IPs", err)
			     : reply_ok(out);
	}
	if (streq(verb, "floating-ip.delete")) {
		const char *fip = json_object_get_str(args, "fip");

		if (!fip || !*fip)
			return reply_error(400, "missing argument", "floating IP");
		r = ops->fip_delete(d->backend, fip, &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot delete the floating IP", err);
		log_info("event=fip-delete fip=%s", fip);
		return reply_ok(NULL);
	}
	{
		const char *net = json_object_get_str(args, "network");
		const char *port = json_object_get_str(args, "port");

		if (!net || !*net)
			return reply_error(400, "missing argument", "network");
		if (!port || !*port)
			return reply_error(400, "missing argument", "--port");
		if (json_object_get_str(args, "ip") && strchr(json_object_get_str(args, "ip"), ':'))
			return reply_error(
			    400, "invalid argument",
			    "--ip: floating IPs are IPv4 (IPv6 is routed, not NATed)");
		r = ops->fip_create(d->backend, net, port, json_object_get_str(args, "ip"), &out,
				    &err);
		if (r < 0)
			return reply_ctl_errno(r, "cannot create the floating IP", err);
		log_info("event=fip-create fip=%s port=%s", json_object_get_str(out, "ip"), port);
		return reply_ok(out);
	}
}
