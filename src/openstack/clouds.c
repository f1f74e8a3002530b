/* SPDX-License-Identifier: Apache-2.0 */
/* clouds.yaml and secure.yaml, read with libyaml's document API: the file is
 * composed into nodes, then clouds.<cloud> and its auth mapping are looked
 * up. Aliases stay references to one node, never expanded copies. Messages
 * name files, lines and keys, and carry values only through
 * os_auth_config_set(), which never repeats a secret. */
#include <stdio.h>
#include <sys/stat.h>
#include <yaml.h>

#include "clouds.h"
#include "macro.h"

/* Far more than any clouds.yaml; bounds what one file can make us hold. */
#define CLOUDS_MAX_SIZE (1024 * 1024)

/* What the files said, across clouds.yaml and secure.yaml, applied once
 * both are read. */
struct load_state {
	const char *cloud;
	bool auth_type_set;
	bool has_password;
	bool has_appcred_secret;
	bool has_token;
	char *domain_name; /* auth.domain_name */
	char *domain_id;   /* auth.domain_id */
};

/* One document being applied. */
struct doc_ctx {
	struct load_state *st;
	yaml_document_t *doc;
	const char *name;
	struct os_auth_config *c;
	char **reterr_msg;
};

/* clouds.<cloud> keys we use, and the os_auth_config_set() key each sets. */
static const struct {
	const char *yaml;
	const char *key;
} cloud_keys[] = {
	{ "auth_type", "auth_type" },
	{ "region_name", "region_name" },
	{ "interface", "interface" },
	{ "cacert", "cafile" },
	{ "verify", "verify" },
	{ "insecure", "insecure" },
	{ "network_endpoint_override", "endpoint_override" },
};

/* clouds.<cloud>.auth keys we use: os_auth_config_set() keys, except the
 * domain_* shorthands. */
static const char *const auth_keys[] = {
	"auth_url",
	"username",
	"user_id",
	"password",
	"project_name",
	"project_id",
	"user_domain_name",
	"user_domain_id",
	"project_domain_name",
	"project_domain_id",
	"domain_name",
	"domain_id",
	"application_credential_id",
	"application_credential_name",
	"application_credential_secret",
	"token",
};

static bool scalar_is(const yaml_node_t *n, const char *s)
{
	size_t len = strlen(s);

	return n && n->type == YAML_SCALAR_NODE && n->data.scalar.length == len &&
	       memcmp(n->data.scalar.value, s, len) == 0;
}

/* A plain empty, "~" or "null" scalar: YAML's null, a key left unset. */
static bool is_null(const yaml_node_t *n)
{
	return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	       (n->data.scalar.length == 0 || scalar_is(n, "~") || scalar_is(n, "null") ||
		scalar_is(n, "Null") || scalar_is(n, "NULL"));
}

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "string";
	case YAML_SEQUENCE_NODE:
		return "list";
	case YAML_MAPPING_NODE:
		return "mapping";
	default:
		return "nothing";
	}
}

static size_t line_of(const yaml_node_t *n)
{
	return n->start_mark.line + 1;
}

/* The value of @key in mapping @map; the last one if it is repeated. */
static yaml_node_t *map_get(yaml_document_t *doc, const yaml_node_t *map, const char *key)
{
	yaml_node_t *found = NULL;

	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++)
		if (scalar_is(yaml_document_get_node(doc, p->key), key))
			found = yaml_document_get_node(doc, p->value);
	return found;
}

static int replace_str(char **dst, const char *s)
{
	char *n = strdup(s);

	if (!n)
		return -ENOMEM;
	free(*dst);
	*dst = n;
	return 0;
}

/* Apply clouds.<cloud>.@where = @v as @key. */
static int set_value(struct doc_ctx *x, const char *where, const char *key, const yaml_node_t *v)
{
	_cleanup_free_ char *msg = NULL;
	const char *s;
	int r;

	if (v->type != YAML_SCALAR_NODE) {
		set_errmsg(x->reterr_msg, "%s:%zu: clouds.%s.%s must be a string, not a %s",
			   x->name, line_of(v), x->st->cloud, where, node_kind(v));
		return -EINVAL;
	}
	if (is_null(v))
		return 0;
	s = (const char *)v->data.scalar.value;
	if (strlen(s) != v->data.scalar.length) {
		set_errmsg(x->reterr_msg, "%s:%zu: clouds.%s.%s contains a NUL character", x->name,
			   line_of(v), x->st->cloud, where);
		return -EINVAL;
	}
	if (streq(key, "domain_name"))
		return replace_str(&x->st->domain_name, s);
	if (streq(key, "domain_id"))
		return replace_str(&x->st->domain_id, s);

	r = os_auth_config_set(x->c, key, s, &msg);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		set_errmsg(x->reterr_msg, "%s:%zu: %s", x->name, line_of(v),
			   msg ? msg : strerror(-r));
		return -EINVAL;
	}
	if (streq(key, "auth_type"))
		x->st->auth_type_set = true;
	else if (streq(key, "password"))
		x->st->has_password = *s;
	else if (streq(key, "application_credential_secret"))
		x->st->has_appcred_secret = *s;
	else if (streq(key, "token"))
		x->st->has_token = *s;
	return 0;
}

static int apply_auth(struct doc_ctx *x, const yaml_node_t *map)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(x->doc, p->value);

		if (!k || !v)
			continue;
		for (size_t i = 0; i < ELEMENTSOF(auth_keys); i++)
			if (scalar_is(k, auth_keys[i])) {
				char where[64];
				int r;

				snprintf(where, sizeof(where), "auth.%s", auth_keys[i]);
				r = set_value(x, where, auth_keys[i], v);
				if (r < 0)
					return r;
				break;
			}
	}
	return 0;
}

static int apply_cloud(struct doc_ctx *x, const yaml_node_t *map)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(x->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(x->doc, p->value);
		int r = 0;

		if (!k || !v)
			continue;
		if (scalar_is(k, "auth")) {
			if (v->type == YAML_MAPPING_NODE)
				r = apply_auth(x, v);
			else if (!is_null(v)) {
				set_errmsg(x->reterr_msg,
					   "%s:%zu: clouds.%s.auth must be a mapping, not a %s",
					   x->name, line_of(v), x->st->cloud, node_kind(v));
				r = -EINVAL;
			}
		} else
			for (size_t i = 0; i < ELEMENTSOF(cloud_keys); i++)
				if (scalar_is(k, cloud_keys[i].yaml)) {
					r = set_value(x, cloud_keys[i].yaml, cloud_keys[i].key, v);
					break;
				}
		if (r < 0)
			return r;
	}
	return 0;
}

/* @required: the cloud must be in this file (clouds.yaml, not secure.yaml). */
static int apply_doc(struct doc_ctx *x, bool required)
{
	yaml_node_t *root, *clouds = NULL, *cloud = NULL;

	root = yaml_document_get_root_node(x->doc);
	if (root && root->type != YAML_MAPPING_NODE && !is_null(root)) {
		set_errmsg(x->reterr_msg, "%s:%zu: the top level must be a mapping, not a %s",
			   x->name, line_of(root), node_kind(root));
		return -EINVAL;
	}
	if (root && root->type == YAML_MAPPING_NODE)
		clouds = map_get(x->doc, root, "clouds");
	if (clouds && clouds->type != YAML_MAPPING_NODE && !is_null(clouds)) {
		set_errmsg(x->reterr_msg, "%s:%zu: clouds must be a mapping, not a %s", x->name,
			   line_of(clouds), node_kind(clouds));
		return -EINVAL;
	}
	if (clouds && clouds->type == YAML_MAPPING_NODE)
		cloud = map_get(x->doc, clouds, x->st->cloud);
	if (!cloud) {
		if (!required)
			return 0;
		set_errmsg(x->reterr_msg, "cloud \"%s\" is not in %s", x->st->cloud, x->name);
		return -ENOENT;
	}
	if (is_null(cloud))
		return 0;
	if (cloud->type != YAML_MAPPING_NODE) {
		set_errmsg(x->reterr_msg, "%s:%zu: clouds.%s must be a mapping, not a %s", x->name,
			   line_of(cloud), x->st->cloud, node_kind(cloud));
		return -EINVAL;
	}
	return apply_cloud(x, cloud);
}

static int yaml_error(const yaml_parser_t *p, const char *buf, const char *name, char **reterr_msg)
{
	size_t line = p->problem_mark.line + 1;

	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	/* A token the scanner could not finish (a quoted string, a key
	 * without its ':') is wrong where it starts, not where input ran
	 * out. */
	if (p->error == YAML_SCANNER_ERROR && p->context)
		line = p->context_mark.line + 1;
	/* The reader (bad encoding) reports an offset, not a mark. */
	if (p->error == YAML_READER_ERROR) {
		line = 1;
		for (size_t i = 0; i < p->problem_offset; i++)
			line += buf[i] == '\n';
	}
	set_errmsg(reterr_msg, "%s:%zu: YAML: %s%s%s", name, line,
		   p->problem ? p->problem : "syntax error", p->context ? " " : "",
		   p->context ? p->context : "");
	return -EINVAL;
}

static int load_one(struct load_state *st, const char *buf, size_t len, const char *name,
		    bool required, struct os_auth_config *c, char **reterr_msg)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	struct doc_ctx x = {
		.st = st, .doc = &doc, .name = name, .c = c, .reterr_msg = reterr_msg
	};
	int r;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		r = yaml_error(&parser, buf, name, reterr_msg);
		yaml_parser_delete(&parser);
		return r;
	}
	yaml_parser_delete(&parser);
	r = apply_doc(&x, required);
	yaml_document_delete(&doc);
	return r;
}

/* The shorthands and the inferred auth_type, once every file is read. */
static int finish(struct load_state *st, struct os_auth_config *c)
{
	static const struct {
		size_t offset;
		const char *key;
	} dom[] = {
		{ offsetof(struct load_state, domain_name), "user_domain_name" },
		{ offsetof(struct load_state, domain_name), "project_domain_name" },
		{ offsetof(struct load_state, domain_id), "user_domain_id" },
		{ offsetof(struct load_state, domain_id), "project_domain_id" },
	};
	const char *cur[] = { c->user_domain_name, c->project_domain_name, c->user_domain_id,
			      c->project_domain_id };

	for (size_t i = 0; i < ELEMENTSOF(dom); i++) {
		const char *v = *(char **)((char *)st + dom[i].offset);
		int r;

		if (!v || *cur[i])
			continue;
		r = os_auth_config_set(c, dom[i].key, v, NULL);
		if (r < 0)
			return r;
	}
	if (!st->auth_type_set) {
		if (st->has_appcred_secret)
			c->auth_type = OS_AUTH_APPCRED;
		else if (st->has_password)
			c->auth_type = OS_AUTH_PASSWORD;
		else if (st->has_token)
			c->auth_type = OS_AUTH_TOKEN;
	}
	return 0;
}

static void load_state_release(struct load_state *st)
{
	free(st->domain_name);
	free(st->domain_id);
}

int clouds_load_buffer(const char *cloud, const char *buf, size_t len, const char *name,
		       struct os_auth_config *c, char **reterr_msg)
{
	_cleanup_(load_state_release) struct load_state st = { .cloud = cloud };
	struct os_auth_config tmp;
	int r;

	r = os_auth_config_copy(&tmp, c);
	if (r < 0)
		return r;
	r = load_one(&st, buf, len, name, true, &tmp, reterr_msg);
	if (r >= 0)
		r = finish(&st, &tmp);
	if (r < 0) {
		os_auth_config_release(&tmp);
		return r;
	}
	os_auth_config_release(c);
	*c = tmp;
	return 0;
}

/* ---- files ---- */

static int read_file(const char *path, char **ret, size_t *ret_len, char **reterr_msg)
{
	_cleanup_free_ char *buf = NULL;
	size_t n;
	FILE *f;
	int r;

	r = fopen_regular(path, &f, reterr_msg);
	if (r < 0)
		return r;
	buf = malloc(CLOUDS_MAX_SIZE + 1);
	if (!buf) {
		fclose(f);
		return -ENOMEM;
	}
	n = fread(buf, 1, CLOUDS_MAX_SIZE + 1, f);
	r = ferror(f) ? -EIO : 0;
	fclose(f);
	if (r < 0) {
		set_errmsg(reterr_msg, "%s: %s", path, strerror(-r));
		return r;
	}
	if (n > CLOUDS_MAX_SIZE) {
		set_errmsg(reterr_msg, "%s: larger than %d bytes", path, CLOUDS_MAX_SIZE);
		return -EFBIG;
	}
	*ret = TAKE_PTR(buf);
	*ret_len = n;
	return 0;
}

static int load_file(struct load_state *st, const char *path, bool required,
		     struct os_auth_config *c, char **reterr_msg)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int r;

	r = read_file(path, &buf, &len, reterr_msg);
	if (r < 0)
		return r;
	return load_one(st, buf, len, path, required, c, reterr_msg);
}

struct search {
	char *paths[4];
	size_t n;
};

static void search_release(struct search *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->paths[i]);
	s->n = 0;
}

/* Where openstacksdk looks for @file ("clouds.yaml" or "secure.yaml"), in
 * order, after the file named by environment variable @env. */
static int search_init(struct search *s, const char *file, const char *env)
{
	const char *e = getenv(env), *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	_cleanup_free_ char *cwd = get_current_dir_name();

	*s = (struct search){ 0 };
	if (e && *e)
		s->paths[s->n++] = strdup(e);
	s->paths[s->n++] = strdup_printf("%s/%s", cwd ? cwd : ".", file);
	if (xdg && *xdg)
		s->paths[s->n++] = strdup_printf("%s/openstack/%s", xdg, file);
	else if (home && *home)
		s->paths[s->n++] = strdup_printf("%s/.config/openstack/%s", home, file);
	s->paths[s->n++] = strdup_printf("/etc/openstack/%s", file);
	for (size_t i = 0; i < s->n; i++)
		if (!s->paths[i]) {
			search_release(s);
			return -ENOMEM;
		}
	return 0;
}

/* The first path that exists (or that cannot be looked at: reading it will
 * say why), or NULL. */
static const char *search_first(const struct search *s)
{
	for (size_t i = 0; i < s->n; i++) {
		struct stat sb;

		if (stat(s->paths[i], &sb) == 0 || (errno != ENOENT && errno != ENOTDIR))
			return s->paths[i];
	}
	return NULL;
}

static int clouds_load_files(struct load_state *st, const char *path, struct os_auth_config *c,
			     char **reterr_msg)
{
	_cleanup_(search_release) struct search cs = { 0 }, ss = { 0 };
	_cleanup_free_ char *secure = NULL;
	const char *clouds_path = path, *secure_path;
	struct stat sb;
	int r;

	if (!path) {
		r = search_init(&cs, "clouds.yaml", "OS_CLIENT_CONFIG_FILE");
		if (r < 0)
			return r;
		clouds_path = search_first(&cs);
		if (!clouds_path) {
			char list[4096] = "";

			for (size_t i = 0; i < cs.n; i++) {
				size_t n = strlen(list);

				snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
					 cs.paths[i]);
			}
			set_errmsg(reterr_msg, "no clouds.yaml in: %s", list);
			return -ENOENT;
		}
		r = search_init(&ss, "secure.yaml", "OS_CLIENT_SECURE_FILE");
		if (r < 0)
			return r;
		secure_path = search_first(&ss);
	} else {
		const char *slash = strrchr(path, '/');

		secure = slash ? strdup_printf("%.*s/secure.yaml", (int)(slash - path), path)
			       : strdup("secure.yaml");
		if (!secure)
			return -ENOMEM;
		secure_path = stat(secure, &sb) == 0 || errno != ENOENT ? secure : NULL;
	}

	r = load_file(st, clouds_path, true, c, reterr_msg);
	if (r >= 0 && secure_path)
		r = load_file(st, secure_path, false, c, reterr_msg);
	return r;
}

int clouds_load(const char *cloud, const char *path, struct os_auth_config *c, char **reterr_msg)
{
	_cleanup_(load_state_release) struct load_state st = { .cloud = cloud };
	struct os_auth_config tmp;
	int r;

	r = os_auth_config_copy(&tmp, c);
	if (r < 0)
		return r;
	r = clouds_load_files(&st, path, &tmp, reterr_msg);
	if (r >= 0)
		r = finish(&st, &tmp);
	if (r < 0) {
		os_auth_config_release(&tmp);
		return r;
	}
	os_auth_config_release(c);
	*c = tmp;
	return 0;
}
