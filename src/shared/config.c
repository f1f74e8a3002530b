/* SPDX-License-Identifier: Apache-2.0 */
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "build-config.h"
#include "config.h"
#include "macro.h"

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
		.neutron_endpoint = strdup(""),
		.neutron_project = strdup("kuryr"),
	};
	{
		char h[256] = "localhost";

		(void)gethostname(h, sizeof(h) - 1);
		c->host = strdup(h);
	}
	if (!c->backend || !c->log_level || !c->nb_connection || !c->ovs_db || !c->ovs_bridge ||
	    !c->socket || !c->state_dir || !c->metrics_address || !c->host || !c->holding_netns ||
	    !c->neutron_endpoint || !c->neutron_project) {
		config_release(c);
		return -ENOMEM;
	}
	return 0;
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
	free(c->neutron_endpoint);
	free(c->neutron_project);
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
		if (streq(name, "endpoint_override"))
			r = set_str(&c->neutron_endpoint, value);
		else if (streq(name, "auth_type")) {
			if (!streq(value, "none")) {
				set_errmsg(&st->err, "auth_type \"%s\" is not supported yet (none)",
					   value);
				return 0;
			}
			r = 0;
		}
	} else if (streq(section, "neutron_defaults")) {
		if (streq(name, "project"))
			r = *value ? set_str(&c->neutron_project, value) : -EINVAL;
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
	struct stat sb;
	FILE *f;
	int r;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		set_errmsg(reterr_msg, "%s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fileno(f), &sb) < 0 || !S_ISREG(sb.st_mode)) {
		fclose(f);
		set_errmsg(reterr_msg, "%s: not a regular file", path);
		return -EINVAL;
	}
	r = config_load_stream(c, f, path, reterr_msg);
	fclose(f);
	return r;
}
