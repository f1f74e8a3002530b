/* SPDX-License-Identifier: Apache-2.0 */
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>

#include "build-config.h"
#include "config.h"
#include "macro.h"
#include "openstack/clouds.h"

static char **strv_new_empty(void)
{
	return calloc(1, sizeof(char *));
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

int config_init(struct kuryr_config *c)
{
	*c = (struct kuryr_config){
		.backend = strdup("ovn"),
		.log_level = strdup("info"),
		.nb_connection = strdup("unix:/run/kuryr-c/ovn/nb.sock"),
		.ovs_db = strdup("unix:/run/kuryr-c/ovs/db.sock"),
		.ovs_bridge = strdup("br-int"),
		.socket = strdup(KURYR_DEFAULT_SOCKET),
		.state_dir = strdup(KURYR_DEFAULT_STATE_DIR),
		.metrics_address = strdup(""),
		.port_up_timeout_ms = 10000,
		.workers = 32,
		.host = NULL,
		.pool_enabled = true,
		.pool_prewire = true,
		.pool_min = 5,
		.pool_max = 0,
		.pool_batch = 10,
		.pool_update_ms = 20000,
		.holding_netns = strdup("kuryr-hold"),
		.neutron_cloud = strdup(""),
		.neutron_timeout_ms = 10000,
		.neutron_max_concurrent_requests = 8,
		.neutron_project = strdup(""),
		.neutron_pod_subnet = strdup(""),
		.neutron_pod_security_groups = strv_new_empty(),
		.neutron_ovs_bridge = strdup(""),
		.neutron_pod_qos_policy = strdup(""),
		.neutron_resource_tags = strv_new_empty(),
	};
	if (!c->backend || !c->log_level || !c->nb_connection || !c->ovs_db || !c->ovs_bridge ||
	    !c->socket || !c->state_dir || !c->metrics_address || !c->holding_netns ||
	    !c->neutron_cloud || !c->neutron_project || !c->neutron_pod_subnet ||
	    !c->neutron_pod_security_groups || !c->neutron_ovs_bridge ||
	    !c->neutron_pod_qos_policy || !c->neutron_resource_tags ||
	    os_auth_config_init(&c->neutron_auth) < 0) {
		config_release(c);
		return -ENOMEM;
	}
	return 0;
}

static void kv_release(struct config_kv *kv)
{
	/* The value may be a password. */
	explicit_bzero(kv->value, strlen(kv->value));
	free(kv->value);
	free(kv->key);
}

void config_release(struct kuryr_config *c)
{
	free(c->backend);
	free(c->log_level);
	free(c->nb_connection);
	free(c->ovs_db);
	free(c->ovs_bridge);
	free(c->socket);
	free(c->state_dir);
	free(c->metrics_address);
	free(c->host);
	free(c->holding_netns);
	os_auth_config_release(&c->neutron_auth);
	free(c->neutron_cloud);
	for (size_t i = 0; i < c->n_neutron_explicit; i++)
		kv_release(&c->neutron_explicit[i]);
	free(c->neutron_explicit);
	free(c->neutron_project);
	free(c->neutron_pod_subnet);
	strv_free(c->neutron_pod_security_groups);
	free(c->neutron_ovs_bridge);
	free(c->neutron_pod_qos_policy);
	strv_free(c->neutron_resource_tags);
	*c = (struct kuryr_config){ 0 };
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

static int set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int set_seconds_ms(int *dst, const char *v)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	/* Written so that NaN fails too. */
	if (errno || end == v || *end || !(d >= 0.001 && d <= 3600))
		return -EINVAL;
	*dst = (int)(d * 1000 + 0.5);
	return 0;
}

static int set_int(int *dst, const char *v, int min, int max)
{
	char *end;
	long l;

	errno = 0;
	l = strtol(v, &end, 10);
	if (errno || end == v || *end || l < min || l > max)
		return -EINVAL;
	*dst = (int)l;
	return 0;
}

static int set_bool(bool *dst, const char *v)
{
	if (streq(v, "true") || streq(v, "yes") || streq(v, "1"))
		*dst = true;
	else if (streq(v, "false") || streq(v, "no") || streq(v, "0"))
		*dst = false;
	else
		return -EINVAL;
	return 0;
}

/* A comma-separated list (oslo.config's ListOpt): blanks around items are
 * dropped, an empty item is an error, an empty value the empty list. */
static int set_list(char ***dst, const char *v)
{
	_cleanup_free_ char *copy = strdup(v);
	char **list, *p, *item;
	size_t n = 0, max = 2;

	if (!copy)
		return -ENOMEM;
	for (const char *q = v; *q; q++)
		max += *q == ',';
	list = calloc(max, sizeof(*list));
	if (!list)
		return -ENOMEM;
	p = copy[strspn(copy, " \t")] ? copy : NULL;
	while ((item = strsep(&p, ","))) {
		char *end;

		item += strspn(item, " \t");
		end = item + strlen(item);
		while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*item) {
			strv_free(list);
			return -EINVAL;
		}
		list[n] = strdup(item);
		if (!list[n++]) {
			strv_free(list);
			return -ENOMEM;
		}
	}
	strv_free(*dst);
	*dst = list;
	return 0;
}

/* Remember that the file set @key of neutron_auth, once, as the newest. */
static int remember_neutron_key(struct kuryr_config *c, const char *key, const char *value)
{
	struct config_kv kv = { strdup(key), strdup(value) }, *n;

	if (!kv.key || !kv.value) {
		free(kv.key);
		free(kv.value);
		return -ENOMEM;
	}
	n = realloc(c->neutron_explicit, (c->n_neutron_explicit + 1) * sizeof(*n));
	if (!n) {
		kv_release(&kv);
		return -ENOMEM;
	}
	c->neutron_explicit = n;
	for (size_t i = 0; i < c->n_neutron_explicit; i++)
		if (streq(n[i].key, key)) {
			kv_release(&n[i]);
			memmove(&n[i], &n[i + 1], (c->n_neutron_explicit - i - 1) * sizeof(*n));
			c->n_neutron_explicit--;
			break;
		}
	n[c->n_neutron_explicit++] = kv;
	return 0;
}

/* A neutron_auth key: its own message on a bad value, which never holds a
 * secret (the handler's generic one would print the value). */
static int set_neutron_auth(struct parse_state *st, const char *name, const char *value)
{
	_cleanup_free_ char *msg = NULL;
	int r;

	r = os_auth_config_set(&st->c->neutron_auth, name, value, &msg);
	/* -EBADMSG: the message is already in st->err. */
	if (r == -EINVAL) {
		set_errmsg(&st->err, "%s", msg ? msg : "invalid value");
		return -EBADMSG;
	}
	if (r < 0)
		return r;
	return remember_neutron_key(st->c, name, value);
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	struct kuryr_config *c = st->c;
	int r = -ENOENT;

	if (st->err) /* report the first error only; inih keeps going */
		return 0;
	st->err_line = st->line;

	if (streq(section, "DEFAULT") || streq(section, "")) {
		if (streq(name, "backend")) {
			if (!streq(value, "ovn") && !streq(value, "neutron")) {
				set_errmsg(&st->err,
					   "backend \"%s\" is not supported (ovn, neutron)", value);
				return 0;
			}
			r = set_str(&c->backend, value);
		} else if (streq(name, "log_level"))
			r = set_str(&c->log_level, value);
		else if (streq(name, "host"))
			r = *value ? set_str(&c->host, value) : -EINVAL;
	} else if (streq(section, "ovn")) {
		if (streq(name, "nb_connection"))
			r = set_str(&c->nb_connection, value);
	} else if (streq(section, "ovs")) {
		if (streq(name, "db_connection"))
			r = set_str(&c->ovs_db, value);
		else if (streq(name, "bridge"))
			r = set_str(&c->ovs_bridge, value);
	} else if (streq(section, "daemon")) {
		if (streq(name, "socket"))
			r = set_str(&c->socket, value);
		else if (streq(name, "state_dir"))
			r = set_str(&c->state_dir, value);
		else if (streq(name, "metrics_address"))
			r = set_str(&c->metrics_address, value);
		else if (streq(name, "port_up_timeout"))
			r = set_seconds_ms(&c->port_up_timeout_ms, value);
		else if (streq(name, "workers"))
			r = set_int(&c->workers, value, 1, 1024);
	} else if (streq(section, "neutron")) {
		if (streq(name, "cloud"))
			r = set_str(&c->neutron_cloud, value);
		else if (streq(name, "timeout"))
			r = set_seconds_ms(&c->neutron_timeout_ms, value);
		else if (streq(name, "max_concurrent_requests"))
			r = set_int(&c->neutron_max_concurrent_requests, value, 1, 256);
		else {
			r = set_neutron_auth(st, name, value);
			if (r == -EBADMSG)
				return 0;
		}
	} else if (streq(section, "neutron_defaults")) {
		if (streq(name, "project"))
			r = set_str(&c->neutron_project, value);
		else if (streq(name, "pod_subnet"))
			r = set_str(&c->neutron_pod_subnet, value);
		else if (streq(name, "pod_security_groups"))
			r = set_list(&c->neutron_pod_security_groups, value);
		else if (streq(name, "ovs_bridge"))
			r = set_str(&c->neutron_ovs_bridge, value);
		else if (streq(name, "pod_qos_policy"))
			r = set_str(&c->neutron_pod_qos_policy, value);
		else if (streq(name, "resource_tags"))
			r = set_list(&c->neutron_resource_tags, value);
	} else if (streq(section, "vif_pool")) {
		if (streq(name, "enabled"))
			r = set_bool(&c->pool_enabled, value);
		else if (streq(name, "prewire"))
			r = set_bool(&c->pool_prewire, value);
		else if (streq(name, "ports_pool_min"))
			r = set_int(&c->pool_min, value, 0, 100000);
		else if (streq(name, "ports_pool_max"))
			r = set_int(&c->pool_max, value, 0, 100000);
		else if (streq(name, "ports_pool_batch"))
			r = set_int(&c->pool_batch, value, 1, 1000);
		else if (streq(name, "ports_pool_update_frequency"))
			r = set_seconds_ms(&c->pool_update_ms, value);
		else if (streq(name, "holding_netns"))
			r = *value && !strchr(value, '/') ? set_str(&c->holding_netns, value)
							  : -EINVAL;
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

int config_apply_cloud(struct kuryr_config *c, char **reterr_msg)
{
	const char *cloud = *c->neutron_cloud ? c->neutron_cloud : getenv("OS_CLOUD");
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
		if (*c->neutron_cloud)
			set_errmsg(reterr_msg, "[neutron] cloud %s: %s", cloud,
				   msg ? msg : strerror(-r));
		else
			set_errmsg(reterr_msg, "OS_CLOUD=%s: %s", cloud, msg ? msg : strerror(-r));
		os_auth_config_release(&a);
		return r;
	}
	/* Each was accepted when the file was read; only memory can fail. */
	for (size_t i = 0; i < c->n_neutron_explicit; i++) {
		r = os_auth_config_set(&a, c->neutron_explicit[i].key, c->neutron_explicit[i].value,
				       reterr_msg);
		if (r < 0) {
			os_auth_config_release(&a);
			return r;
		}
	}
	os_auth_config_release(&c->neutron_auth);
	c->neutron_auth = a;
	return 1;
}
