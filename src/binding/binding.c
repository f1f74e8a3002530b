/* SPDX-License-Identifier: Apache-2.0 */
/* The driver registry, and the plug/ready/unplug sequences every caller
 * shares. */
#include <stdio.h>

#include "binding.h"
#include "driver.h"
#include "log.h"
#include "macro.h"
#include "nl/nl.h"

const struct binding_ops *const binding_drivers[] = {
	&binding_ovs_ops,	  &binding_prewire_ops,	       &binding_tap_ops,
	&binding_nested_vlan_ops, &binding_nested_macvlan_ops, NULL,
};

const struct binding_ops *binding_driver_find(const char *name)
{
	for (size_t i = 0; binding_drivers[i]; i++)
		if (streq(binding_drivers[i]->name, name))
			return binding_drivers[i];
	return NULL;
}

void binding_ifname(const char *prefix, const char *port, char out[IF_NAMESIZE])
{
	size_t n = 0;

	for (const char *p = prefix; *p && n < 2; p++)
		out[n++] = *p;
	for (const char *p = port; *p && n < 14; p++)
		if (*p != '-')
			out[n++] = *p;
	out[n] = 0;
}

int binding_plug(struct binding *b, const struct binding_req *req, struct binding_state *ret,
		 char **reterr_msg)
{
	int r;

	snprintf(ret->port, sizeof(ret->port), "%s", req->port->name);
	r = b->ops->plug(b, req, ret, reterr_msg);
	if (r == 0)
		snprintf(ret->driver, sizeof(ret->driver), "%s", b->ops->name);
	return r;
}

int binding_wait_ready(struct binding *b, struct binding_state *st, int timeout_ms,
		       char **reterr_msg)
{
	return b->ops->wait_ready ? b->ops->wait_ready(b, st, timeout_ms, reterr_msg) : 0;
}

void binding_cancel(struct binding *b, struct binding_state *st)
{
	(void)binding_wait_ready(b, st, -1, NULL);
}

int binding_attach(struct binding *b, const struct binding_req *req, int timeout_ms,
		   struct binding_state *ret, char **reterr_msg)
{
	int r;

	r = binding_plug(b, req, ret, reterr_msg);
	if (r < 0)
		return r;
	r = binding_wait_ready(b, ret, timeout_ms, reterr_msg);
	if (r < 0)
		(void)binding_unplug(b, req, ret, NULL);
	else
		binding_announce(b, req, ret);
	return r;
}

void binding_announce(struct binding *b, const struct binding_req *req, struct binding_state *st)
{
	_cleanup_(nl_sock_freep) struct nl_sock *pod = NULL;
	struct nl_link_info dev;
	int r;

	if (st->announced || req->netns_fd < 0 || req->no_l3 || req->handed_over)
		return;
	/* A thread hop into the pod: only after a wait, never on a pool
	 * hit's path (those drivers announce from plug). */
	r = nl_sock_open_netns(req->netns_fd, &pod);
	if (r == 0)
		r = nl_link_get(pod, req->ifname, &dev);
	if (r == 0)
		r = pod_announce(pod, req, &dev);
	if (r < 0)
		log_warn("event=announce-failed driver=%s port=%s: %s", b->ops->name,
			 req->port->name, strerror(-r));
	st->announced = r == 0;
}

int binding_unplug(struct binding *b, const struct binding_req *req, struct binding_state *st,
		   char **reterr_msg)
{
	binding_cancel(b, st);
	return b->ops->unplug(b, req, st, reterr_msg);
}

int binding_detach(struct binding *b, const struct binding_req *req, const struct binding_state *st,
		   char **reterr_msg)
{
	return b->ops->detach ? b->ops->detach(b, req, st, reterr_msg) : 1;
}

int binding_check(struct binding *b, const struct binding_req *req, const struct binding_state *st,
		  char **reterr_msg)
{
	return b->ops->check ? b->ops->check(b, req, st, reterr_msg) : 0;
}

bool binding_connected(struct binding *b)
{
	return b->ops->connected ? b->ops->connected(b) : true;
}

int binding_park(struct binding *b, const struct kuryr_port *port, const struct kuryr_network *net,
		 struct binding_state *ret, char **reterr_msg)
{
	int r = b->ops->park->park(b, port, net, ret, reterr_msg);

	if (r == 0)
		snprintf(ret->driver, sizeof(ret->driver), "%s", b->ops->name);
	return r;
}

bool binding_parks_many(const struct binding *b)
{
	return b->ops->park->park_many != NULL;
}

int binding_park_many(struct binding *b, const struct kuryr_port *ports, size_t n,
		      const struct kuryr_network *net, struct binding_state *ret, char **reterr_msg)
{
	int r = b->ops->park->park_many(b, ports, n, net, ret, reterr_msg);

	for (size_t i = 0; r == 0 && i < n; i++)
		snprintf(ret[i].driver, sizeof(ret[i].driver), "%s", b->ops->name);
	return r;
}

void binding_unpark(struct binding *b, const char *port)
{
	b->ops->park->unpark(b, port);
}

int binding_parked(struct binding *b, const char *port, struct binding_state *ret)
{
	return b->ops->park->parked(b, port, ret);
}

void binding_parked_many(struct binding *b, const char *const *ports, size_t n, int *ret_states,
			 struct binding_state *ret)
{
	if (b->ops->park->parked_many) {
		b->ops->park->parked_many(b, ports, n, ret_states, ret);
		return;
	}
	for (size_t i = 0; i < n; i++)
		ret_states[i] = b->ops->park->parked(b, ports[i], &ret[i]);
}

int binding_stubs(struct binding *b, char (**ret)[IF_NAMESIZE], size_t *ret_n)
{
	return b->ops->park->stubs(b, ret, ret_n);
}

void binding_drop_stub(struct binding *b, const char *stub)
{
	b->ops->park->drop_stub(b, stub);
}
