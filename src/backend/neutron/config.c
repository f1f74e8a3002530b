/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "neutron" as the registry sees it: its kuryr.conf sections,
 * [neutron] (upstream Kuryr's, that is keystoneauth's, keys),
 * [neutron_defaults] and [octavia], clouds.yaml (OS_CLOUD), and making the backend from
 * them. */
#include <stdio.h>
#include <stdlib.h>

#include "conf-value.h"
#include "macro.h"
#include "backend/neutron.h"
#include "openstack/auth.h"
#include "openstack/clouds.h"

static void kv_release(struct config_kv *kv)
{
	/* The value may be a password. */
	explicit_bzero(kv->value, strlen(kv->value));
	free(kv->value);
	free(kv->key);
}

static void neutron_config_free(void *cfg)
{
	struct neutron_config *c = cfg;

	if (!c)
		return;
	os_auth_config_release(&c->auth);
	free(c->cloud);
	for (size_t i = 0; i < c->n_explicit; i++)
		kv_release(&c->explicit_keys[i]);
	free(c->explicit_keys);
	free(c->project);
	free(c->pod_subnet);
	strv_free(c->pod_security_groups);
	free(c->ovs_bridge);
	free(c->pod_qos_policy);
	strv_free(c->resource_tags);
	free(c->octavia_endpoint);
	free(c);
}

static int neutron_config_new(void **ret)
{
	struct neutron_config *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	*c = (struct neutron_config){
		.cloud = strdup(""),
		.timeout_ms = 10000,
		.max_concurrent = 8,
		.project = strdup(""),
		.pod_subnet = strdup(""),
		.pod_security_groups = strv_new_empty(),
		.ovs_bridge = strdup(""),
		.pod_qos_policy = strdup(""),
		.resource_tags = strv_new_empty(),
		.octavia_endpoint = strdup(""),
	};
	if (os_auth_config_init(&c->auth) < 0 || !c->cloud || !c->project || !c->pod_subnet ||
	    !c->pod_security_groups || !c->ovs_bridge || !c->pod_qos_policy || !c->resource_tags ||
	    !c->octavia_endpoint) {
		neutron_config_free(c);
		return -ENOMEM;
	}
	*ret = c;
	return 0;
}

/* Remember that the file set auth key @key, once, as the newest. */
static int remember_key(struct neutron_config *c, const char *key, const char *value)
{
	struct config_kv kv = { strdup(key), strdup(value) }, *n;

	if (!kv.key || !kv.value) {
		free(kv.key);
		free(kv.value);
		return -ENOMEM;
	}
	n = realloc(c->explicit_keys, (c->n_explicit + 1) * sizeof(*n));
	if (!n) {
		kv_release(&kv);
		return -ENOMEM;
	}
	c->explicit_keys = n;
	for (size_t i = 0; i < c->n_explicit; i++)
		if (streq(n[i].key, key)) {
			kv_release(&n[i]);
			memmove(&n[i], &n[i + 1], (c->n_explicit - i - 1) * sizeof(*n));
			c->n_explicit--;
			break;
		}
	n[c->n_explicit++] = kv;
	return 0;
}

static int neutron_config_set(void *cfg, const char *section, const char *key, const char *value,
			      char **reterr_msg)
{
	struct neutron_config *c = cfg;
	int r;

	if (streq(section, "octavia")) {
		if (!streq(key, "endpoint_override"))
			return -ENOENT;
		if (*value && strncmp(value, "http://", 7) != 0 &&
		    strncmp(value, "https://", 8) != 0) {
			set_errmsg(reterr_msg,
				   "[octavia] endpoint_override \"%s\" is not an "
				   "http(s) URL",
				   value);
			return -EINVAL;
		}
		return conf_set_str(&c->octavia_endpoint, value);
	}
	if (streq(section, "neutron_defaults")) {
		if (streq(key, "project"))
			return conf_set_str(&c->project, value);
		if (streq(key, "pod_subnet"))
			return conf_set_str(&c->pod_subnet, value);
		if (streq(key, "pod_security_groups"))
			return conf_set_list(&c->pod_security_groups, value);
		if (streq(key, "ovs_bridge"))
			return conf_set_str(&c->ovs_bridge, value);
		if (streq(key, "pod_qos_policy"))
			return conf_set_str(&c->pod_qos_policy, value);
		if (streq(key, "resource_tags"))
			return conf_set_list(&c->resource_tags, value);
		return -ENOENT;
	}
	if (streq(key, "cloud"))
		return conf_set_str(&c->cloud, value);
	if (streq(key, "timeout"))
		return conf_set_seconds_ms(&c->timeout_ms, value);
	if (streq(key, "max_concurrent_requests"))
		return conf_set_int(&c->max_concurrent, value, 1, 256);
	/* An auth key: its own message on a bad value, which never holds a
	 * secret (the generic one would print the value). */
	r = os_auth_config_set(&c->auth, key, value, reterr_msg);
	if (r == -EINVAL && reterr_msg && !*reterr_msg)
		set_errmsg(reterr_msg, "invalid value for %s", key);
	if (r < 0)
		return r;
	return remember_key(c, key, value);
}

/* If [neutron] cloud is set, or else $OS_CLOUD, that cloud's credentials
 * from clouds.yaml (clouds_load()'s search), then every [neutron] key the
 * files set explicitly over them: the file wins. Messages never hold a
 * secret; auth is unchanged on failure. */
static int neutron_config_finish(void *cfg, char **reterr_msg)
{
	struct neutron_config *c = cfg;
	const char *cloud = *c->cloud ? c->cloud : getenv("OS_CLOUD");
	_cleanup_free_ char *msg = NULL;
	struct os_auth_config a;
	int r;

	if (!cloud || !*cloud)
		return 0;
	r = os_auth_config_init(&a);
	if (r < 0)
		return r;
	r = clouds_load(cloud, NULL, &a, &msg);
	if (r < 0) {
		if (*c->cloud)
			set_errmsg(reterr_msg, "[neutron] cloud %s: %s", cloud,
				   msg ? msg : strerror(-r));
		else
			set_errmsg(reterr_msg, "OS_CLOUD=%s: %s", cloud, msg ? msg : strerror(-r));
		os_auth_config_release(&a);
		return r;
	}
	/* Each was accepted when the file was read; only memory can fail. */
	for (size_t i = 0; i < c->n_explicit; i++) {
		r = os_auth_config_set(&a, c->explicit_keys[i].key, c->explicit_keys[i].value,
				       reterr_msg);
		if (r < 0) {
			os_auth_config_release(&a);
			return r;
		}
	}
	os_auth_config_release(&c->auth);
	c->auth = a;
	return 1;
}

/* [neutron_defaults] ovs_bridge, upstream's name, wins over [ovs] bridge. */
static const char *neutron_config_bridge(const void *cfg)
{
	const struct neutron_config *c = cfg;

	return *c->ovs_bridge ? c->ovs_bridge : NULL;
}

static const char *const *list_or_null(char *const *l)
{
	return l && *l ? (const char *const *)l : NULL;
}

static int neutron_driver_new(const void *cfg, const struct backend_env *env, struct backend **ret,
			      char **reterr_msg)
{
	const struct neutron_config *c = cfg;

	return backend_neutron_new(
	    &(struct neutron_opts){
		.auth = &c->auth,
		.project = c->project,
		.host = env->host,
		.timeout_ms = c->timeout_ms,
		.max_concurrent = c->max_concurrent,
		.pod_subnet = c->pod_subnet,
		.security_groups = list_or_null(c->pod_security_groups),
		.qos_policy = c->pod_qos_policy,
		.resource_tags = list_or_null(c->resource_tags),
		.bridge = env->bridge,
		.octavia_endpoint = c->octavia_endpoint,
	    },
	    ret, reterr_msg);
}

const struct backend_driver backend_neutron_driver = {
	.name = "neutron",
	.sections = (const char *const[]){ "neutron", "neutron_defaults", "octavia", NULL },
	.config_new = neutron_config_new,
	.config_set = neutron_config_set,
	.config_finish = neutron_config_finish,
	.config_free = neutron_config_free,
	.config_bridge = neutron_config_bridge,
	.new = neutron_driver_new,
	.start = backend_neutron_login,
};
