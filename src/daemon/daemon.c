/* SPDX-License-Identifier: Apache-2.0 */
/* kuryrd's start and stop: the store, the backend, the bridge and the
 * binding drivers, recovery, the pools and the janitor, in that order. */
#include <stdio.h>

#include "daemon-private.h"
#include "log.h"
#include "time-util.h"

struct binding *kuryrd_binding(struct kuryrd *d, const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(d->bindings); i++)
		if (d->bindings[i] && streq(binding_name(d->bindings[i]), name))
			return d->bindings[i];
	return NULL;
}

const char *kuryrd_network_name(struct kuryrd *d, const char *ref, struct kuryr_network *buf)
{
	return ref && d->backend->ops->network_get(d->backend, ref, buf, NULL) == 0 ? buf->name
										    : ref;
}

pthread_mutex_t *kuryrd_stripe(struct kuryrd *d, const char *cid, const char *ifname)
{
	uint32_t h = 2166136261u;

	for (const char *p = cid; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (const char *p = ifname; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return &d->stripes[h % LOCK_STRIPES];
}

static int make_backend(struct kuryrd *d, char **reterr_msg)
{
	const struct backend_driver *drv = config_backend_driver(&d->cfg);
	_cleanup_free_ char *err = NULL;
	int r;

	r = drv->new (
	    config_backend(&d->cfg, drv->name),
	    &(struct backend_env){ .host = d->cfg.host, .bridge = config_bridge(&d->cfg) },
	    &d->backend, reterr_msg);
	if (r < 0 || !drv->start)
		return r;
	/* Refused credentials are a configuration error; an unreachable
	 * backend is retried at the first use. */
	r = drv->start(d->backend, &err);
	if (r == -EACCES) {
		set_errmsg(reterr_msg, "%s", err ? err : "the backend refused us");
		return r;
	}
	if (r < 0)
		log_warn("event=backend-start-failed backend=%s: %s", drv->name,
			 err ? err : strerror(-r));
	return 0;
}

/* The node's binding drivers: every registered one this node can run. */
static int make_bindings(struct kuryrd *d, char **reterr_msg)
{
	const struct kuryr_config *cfg = &d->cfg;
	struct binding_env env = {
		.bridge = d->bridge,
		.holding_netns = cfg->holding_netns,
		.park = cfg->pool_enabled && cfg->pool_prewire,
		.host = cfg->host,
		.port_up_timeout_ms = cfg->port_up_timeout_ms,
		.backend = d->backend,
		.link_iface = cfg->link_iface,
		.veth_tx_csum = cfg->veth_tx_csum,
	};
	int r;

	/* Drivers that stack on another come after it in binding_drivers[]. */
	for (size_t i = 0; binding_drivers[i] && i < ELEMENTSOF(d->bindings); i++) {
		const char *lower = binding_drivers[i]->lower;

		if (binding_drivers[i]->needs_bridge
			? !d->bridge
			: !streq(binding_drivers[i]->name, cfg->binding_driver))
			continue;
		env.lower = lower ? kuryrd_binding(d, lower) : NULL;
		r = binding_new(binding_drivers[i], &env, &d->bindings[i], reterr_msg);
		if (r < 0)
			return r;
	}
	return 0;
}

/* [DEFAULT] host left out of kuryr.conf: the name ovn-controller registers
 * this node's chassis with (Open vSwitch's external_ids:hostname), which is
 * the one ML2/OVN binds ports to; else gethostname(), as ovn-controller. */
static int resolve_host(struct kuryrd *d, char **reterr_msg)
{
	_cleanup_free_ char *err = NULL;
	const char *source = "config";
	int r;

	if (!d->cfg.host) {
		r = d->bridge ? bridge_hostname(d->bridge, d->host, sizeof(d->host), &err)
			      : -ENOENT;
		if (r == 0)
			source = "ovs";
		else if (r == -ENOENT) {
			source = "hostname";
			if (gethostname(d->host, sizeof(d->host) - 1) < 0) {
				r = -errno;
				set_errmsg(reterr_msg, "cannot get the hostname: %s", strerror(-r));
				return r;
			}
		} else {
			set_errmsg(reterr_msg, "cannot read external_ids:hostname from %s: %s",
				   d->cfg.ovs_db, err ? err : strerror(-r));
			return r;
		}
		d->cfg.host = d->host;
	}
	log_info("event=host host=%s source=%s", d->cfg.host, source);
	return 0;
}

static struct kuryrd *kuryrd_alloc(const struct kuryr_config *cfg)
{
	struct kuryrd *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->cfg = *cfg;
	for (size_t i = 0; i < LOCK_STRIPES; i++)
		pthread_mutex_init(&d->stripes[i], NULL);
	pthread_mutex_init(&d->jlock, NULL);
	cond_init_monotonic(&d->jwake);
	return d;
}

/* With the store, the backend and the drivers in place: recovery, the
 * pools, the janitor. */
static int kuryrd_start(struct kuryrd *d, char **reterr_msg)
{
	const struct kuryr_config *cfg = &d->cfg;
	int r;

	d->node_binding = kuryrd_binding(d, cfg->binding_driver);
	for (size_t i = 0; i < ELEMENTSOF(d->bindings) && !d->park_binding; i++)
		if (d->bindings[i] && d->bindings[i]->ops->park)
			d->park_binding = d->bindings[i];
	if (!d->node_binding) {
		set_errmsg(reterr_msg, "binding driver %s is not on this node",
			   cfg->binding_driver);
		return -EINVAL;
	}
	r = recover_attachments(d, reterr_msg);
	if (r < 0)
		return r;
	/* Leftover ports are looked for by the janitor's first pass, so an
	 * unreachable backend does not hold up the start. */
	d->next_sweep_ms = now_ms() + 1;
	if (cfg->pool_enabled) {
		r = pool_mgr_new(
		    &(struct pool_params){
			.min = cfg->pool_min,
			.max = cfg->pool_max,
			.batch = cfg->pool_batch,
			.update_ms = cfg->pool_update_ms,
			.port_up_timeout_ms = cfg->port_up_timeout_ms,
			.host = cfg->host,
			.plug = d->node_binding,
			.prewire = cfg->pool_prewire ? d->park_binding : NULL,
			.wait_backend_up =
			    (d->backend->ops->caps & BACKEND_CAP_ACTIVE_AFTER_PLUG) &&
			    !binding_unbound(d->node_binding),
			.subports = binding_subports(d->node_binding),
			.unbound = binding_unbound(d->node_binding),
		    },
		    d->backend, d->store, &d->pool, reterr_msg);
		if (r < 0)
			return r;
	}
	r = janitor_start(d);
	if (r < 0)
		set_errmsg(reterr_msg, "cannot start the janitor thread");
	return r;
}

int kuryrd_new(const struct kuryr_config *cfg, struct kuryrd **ret, char **reterr_msg)
{
	struct kuryrd *d = kuryrd_alloc(cfg);
	const struct binding_ops *drv;
	int r;

	if (!d)
		return -ENOMEM;
	r = store_open(cfg->state_dir, &d->store, reterr_msg);
	if (r < 0)
		goto fail;
	/* The bridge first: the host name may come from the switch. A node
	 * whose driver needs no Open vSwitch has none. */
	drv = binding_driver_find(cfg->binding_driver);
	if (drv && drv->needs_bridge) {
		r = bridge_new(cfg->ovs_db, config_bridge(cfg), &d->bridge, reterr_msg);
		if (r == 0)
			r = bridge_set_mappings(d->bridge, cfg->bridge_mappings, reterr_msg);
		if (r < 0)
			goto fail;
	}
	r = resolve_host(d, reterr_msg);
	if (r < 0)
		goto fail;
	r = make_backend(d, reterr_msg);
	if (r < 0)
		goto fail;
	r = make_bindings(d, reterr_msg);
	if (r < 0)
		goto fail;
	r = kuryrd_start(d, reterr_msg);
	if (r < 0)
		goto fail;
	*ret = d;
	return 0;
fail:
	kuryrd_free(d);
	return r;
}

int kuryrd_new_with(const struct kuryr_config *cfg, struct backend *backend,
		    struct binding *const *bindings, size_t n_bindings, struct kuryrd **ret,
		    char **reterr_msg)
{
	struct kuryrd *d = kuryrd_alloc(cfg);
	int r;

	if (!d) {
		backend_free(backend);
		for (size_t i = 0; i < n_bindings; i++)
			binding_free(bindings[i]);
		return -ENOMEM;
	}
	d->backend = backend;
	for (size_t i = 0; i < n_bindings && i < ELEMENTSOF(d->bindings); i++)
		d->bindings[i] = bindings[i];
	r = store_open(cfg->state_dir, &d->store, reterr_msg);
	if (r == 0)
		r = kuryrd_start(d, reterr_msg);
	if (r < 0) {
		kuryrd_free(d);
		return r;
	}
	*ret = d;
	return 0;
}

void kuryrd_free(struct kuryrd *d)
{
	if (!d)
		return;
	metrics_stop(d);
	janitor_stop(d);
	docker_stop(d); /* after the janitor, which sweeps its endpoints */
	pthread_mutex_destroy(&d->jlock);
	pthread_cond_destroy(&d->jwake);
	pool_mgr_free(d->pool); /* before what its threads use */
	for (size_t i = ELEMENTSOF(d->bindings); i-- > 0;)
		binding_free(d->bindings[i]);
	bridge_free(d->bridge);
	backend_free(d->backend);
	store_free(d->store);
	for (size_t i = 0; i < LOCK_STRIPES; i++)
		pthread_mutex_destroy(&d->stripes[i]);
	free(d);
}
