/* SPDX-License-Identifier: Apache-2.0 */
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>

#include "build-config.h"
#include "conf-value.h"
#include "binding/binding.h"
#include "config.h"
#include "macro.h"

int config_init(struct kuryr_config *c)
{
	*c = (struct kuryr_config){
		.backend = strdup("ovn"),
		.log_level = strdup("info"),
		.binding_driver = strdup("ovs"),
		.ovs_db = strdup("unix:/run/kuryr-c/ovs/db.sock"),
		.ovs_bridge = strdup("br-int"),
		.socket = strdup(KURYR_DEFAULT_SOCKET),
		.state_dir = strdup(KURYR_DEFAULT_STATE_DIR),
		.metrics_address = strdup(""),
		.port_up_timeout_ms = 10000,
		.workers = 32,
		.pool_enabled = true,
		.pool_prewire = true,
		.pool_min = 5,
		.pool_max = 0,
		.pool_batch = 10,
		.pool_update_ms = 20000,
		.holding_netns = strdup("kuryr-hold"),
		.docker_socket = strdup("/run/docker/plugins/kuryr.sock"),
		.docker_subnet_pool = strdup("10.10.0.0/16"),
		.bridge_mappings = strv_new_empty(),
	};
	if (!c->backend || !c->log_level || !c->binding_driver || !c->ovs_db || !c->ovs_bridge ||
	    !c->socket || !c->state_dir || !c->metrics_address || !c->holding_netns ||
	    !c->bridge_mappings || !c->docker_socket || !c->docker_subnet_pool)
		goto oom;
	for (size_t i = 0; backend_drivers[i] && i < CONFIG_MAX_BACKENDS; i++)
		if (backend_drivers[i]->config_new(&c->backends[i]) < 0)
			goto oom;
	return 0;
oom:
	config_release(c);
	return -ENOMEM;
}

void config_release(struct kuryr_config *c)
{
	free(c->backend);
	free(c->log_level);
	free(c->binding_driver);
	free(c->link_iface);
	free(c->host);
	free(c->ovs_db);
	free(c->ovs_bridge);
	strv_free(c->bridge_mappings);
	free(c->socket);
	free(c->state_dir);
	free(c->metrics_address);
	free(c->holding_netns);
	free(c->docker_socket);
	free(c->docker_subnet_pool);
	for (size_t i = 0; backend_drivers[i] && i < CONFIG_MAX_BACKENDS; i++)
		if (c->backends[i])
			backend_drivers[i]->config_free(c->backends[i]);
	*c = (struct kuryr_config){ 0 };
}

const struct backend_driver *config_backend_driver(const struct kuryr_config *c)
{
	return backend_driver_find(c->backend);
}

void *config_backend(const struct kuryr_config *c, const char *name)
{
	for (size_t i = 0; backend_drivers[i] && i < CONFIG_MAX_BACKENDS; i++)
		if (streq(backend_drivers[i]->name, name))
			return c->backends[i];
	return NULL;
}

const char *config_bridge(const struct kuryr_config *c)
{
	const struct backend_driver *drv = config_backend_driver(c);
	const char *b =
	    drv && drv->config_bridge ? drv->config_bridge(config_backend(c, drv->name)) : NULL;

	return b ? b : c->ovs_bridge;
}

int config_finish(struct kuryr_config *c, char **reterr_msg)
{
	const struct backend_driver *drv = config_backend_driver(c);

	if (!drv || !drv->config_finish)
		return 0;
	return drv->config_finish(config_backend(c, drv->name), reterr_msg);
}

struct parse_state {
	struct kuryr_config *c;
	FILE *f;
	int line;      /* lines read so far */
	int err_line;  /* line of the first error the handler found */
	int long_line; /* first line longer than inih's buffer */
	char *err;
};

/* inih's line reader, counting lines so the handler knows where it is, and
 * catching lines longer than inih's fixed buffer, which it would otherwise
 * split in two. */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_state *st = stream;
	size_t n;

	if (!fgets(str, num, st->f))
		return NULL;
	st->line++;
	n = strlen(str);
	if (n == (size_t)num - 1 && str[n - 1] != '\n' && !feof(st->f)) {
		int c;

		if (!st->long_line)
			st->long_line = st->line;
		while ((c = fgetc(st->f)) != EOF && c != '\n')
			;
	}
	return str;
}

/* "PHYSNET:BRIDGE[, ...]": names without blanks or more colons; a bridge
 * name fits a device name. */
static int set_mappings(char ***dst, const char *value)
{
	char **m = NULL;
	int r = conf_set_list(&m, value);

	for (char **p = m; r == 0 && *p; p++) {
		const char *colon = strchr(*p, ':');

		if (!colon || colon == *p || !colon[1] || strchr(colon + 1, ':') ||
		    strlen(colon + 1) > 15 || strpbrk(*p, " \t/"))
			r = -EINVAL;
	}
	if (r == 0) {
		strv_free(*dst);
		*dst = TAKE_PTR(m);
	}
	strv_free(m);
	return r;
}

static bool section_of_backend(const char *section)
{
	for (size_t i = 0; backend_drivers[i] && i < CONFIG_MAX_BACKENDS; i++)
		for (const char *const *s = backend_drivers[i]->sections; *s; s++)
			if (streq(*s, section))
				return true;
	return false;
}

/* Hand a key of a backend's section to every backend that reads the
 * section ([neutron_defaults] is shared): known if one knows it, and the
 * first failure other than "unknown" wins. */
static int backends_config_set(struct kuryr_config *c, const char *section, const char *key,
			       const char *value, char **reterr_msg)
{
	int r = -ENOENT;

	for (size_t i = 0; backend_drivers[i] && i < CONFIG_MAX_BACKENDS; i++)
		for (const char *const *s = backend_drivers[i]->sections; *s; s++) {
			int k;

			if (!streq(*s, section))
				continue;
			k = backend_drivers[i]->config_set(c->backends[i], section, key, value,
							   reterr_msg);
			if (k < 0 && k != -ENOENT)
				return k;
			if (k == 0)
				r = 0;
		}
	return r;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	struct kuryr_config *c = st->c;
	_cleanup_free_ char *msg = NULL;
	int r = -ENOENT;

	if (st->err) /* report the first error only; inih keeps going */
		return 0;
	st->err_line = st->line;

	if (streq(section, "DEFAULT") || streq(section, "")) {
		if (streq(name, "backend")) {
			if (!backend_driver_find(value)) {
				set_errmsg(&st->err,
					   "backend \"%s\" is not supported (ovn, neutron)", value);
				return 0;
			}
			r = conf_set_str(&c->backend, value);
		} else if (streq(name, "log_level"))
			r = conf_set_str(&c->log_level, value);
		else if (streq(name, "host"))
			r = *value ? conf_set_str(&c->host, value) : -EINVAL;
	} else if (streq(section, "binding")) {
		if (streq(name, "driver")) {
			if (!binding_driver_find(value)) {
				set_errmsg(&st->err, "binding driver \"%s\" is not known", value);
				return 0;
			}
			r = conf_set_str(&c->binding_driver, value);
		} else if (streq(name, "link_iface"))
			r = *value && strlen(value) < IF_NAMESIZE
				? conf_set_str(&c->link_iface, value)
				: -EINVAL;
		else if (streq(name, "veth_tx_checksum")) {
			r = 0;
			if (streq(value, "auto"))
				c->veth_tx_csum = BINDING_TX_CSUM_AUTO;
			else if (streq(value, "on"))
				c->veth_tx_csum = BINDING_TX_CSUM_ON;
			else if (streq(value, "off"))
				c->veth_tx_csum = BINDING_TX_CSUM_OFF;
			else
				r = -EINVAL;
		}
	} else if (streq(section, "ovs")) {
		if (streq(name, "db_connection"))
			r = conf_set_str(&c->ovs_db, value);
		else if (streq(name, "bridge"))
			r = conf_set_str(&c->ovs_bridge, value);
		else if (streq(name, "bridge_mappings"))
			r = set_mappings(&c->bridge_mappings, value);
	} else if (streq(section, "daemon")) {
		if (streq(name, "socket"))
			r = conf_set_str(&c->socket, value);
		else if (streq(name, "state_dir"))
			r = conf_set_str(&c->state_dir, value);
		else if (streq(name, "metrics_address"))
			r = conf_set_str(&c->metrics_address, value);
		else if (streq(name, "port_up_timeout"))
			r = conf_set_seconds_ms(&c->port_up_timeout_ms, value);
		else if (streq(name, "workers"))
			r = conf_set_int(&c->workers, value, 1, 1024);
	} else if (streq(section, "vif_pool")) {
		if (streq(name, "enabled"))
			r = conf_set_bool(&c->pool_enabled, value);
		else if (streq(name, "prewire"))
			r = conf_set_bool(&c->pool_prewire, value);
		else if (streq(name, "ports_pool_min"))
			r = conf_set_int(&c->pool_min, value, 0, 100000);
		else if (streq(name, "ports_pool_max"))
			r = conf_set_int(&c->pool_max, value, 0, 100000);
		else if (streq(name, "ports_pool_batch"))
			r = conf_set_int(&c->pool_batch, value, 1, 1000);
		else if (streq(name, "ports_pool_update_frequency"))
			r = conf_set_seconds_ms(&c->pool_update_ms, value);
		else if (streq(name, "holding_netns"))
			r = *value && !strchr(value, '/') ? conf_set_str(&c->holding_netns, value)
							  : -EINVAL;
	} else if (streq(section, "docker")) {
		if (streq(name, "enabled"))
			r = conf_set_bool(&c->docker_enabled, value);
		else if (streq(name, "socket"))
			r = *value == '/' ? conf_set_str(&c->docker_socket, value) : -EINVAL;
		else if (streq(name, "subnet_pool"))
			r = conf_set_str(&c->docker_subnet_pool, value);
	} else if (section_of_backend(section)) {
		r = backends_config_set(c, section, name, value, &msg);
		/* A backend's own message: it knows which values are secret. */
		if (r == -EINVAL && msg) {
			st->err = TAKE_PTR(msg);
			return 0;
		}
	} else {
		set_errmsg(&st->err, "unknown section [%s]", section);
		return 0;
	}
	if (r == -ENOENT)
		set_errmsg(&st->err, "unknown key \"%s\" in [%s]", name, section);
	else if (r == -EINVAL)
		set_errmsg(&st->err, "invalid value \"%s\" for %s", value, name);
	return r == 0;
}

int config_load_stream(struct kuryr_config *c, FILE *f, const char *name, char **reterr_msg)
{
	struct parse_state st = { .c = c, .f = f };
	int line;

	line = ini_parse_stream(read_line, &st, handler, &st);
	/* inih returns the first failing line, which may be a syntax error
	 * before the handler's first complaint. */
	if (st.long_line && (line == 0 || st.long_line <= line)) {
		set_errmsg(reterr_msg, "%s:%d: line too long", name, st.long_line);
		free(st.err);
		return -EINVAL;
	}
	if (line != 0) {
		if (st.err && st.err_line == line)
			set_errmsg(reterr_msg, "%s:%d: %s", name, line, st.err);
		else
			set_errmsg(reterr_msg, "%s:%d: syntax error", name, line);
		free(st.err);
		return -EINVAL;
	}
	free(st.err);
	return 0;
}

int config_load(struct kuryr_config *c, const char *path, char **reterr_msg)
{
	FILE *f;
	int r;

	r = fopen_regular(path, &f, reterr_msg);
	if (r < 0)
		return r;
	r = config_load_stream(c, f, path, reterr_msg);
	fclose(f);
	return r;
}
