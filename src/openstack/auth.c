/* SPDX-License-Identifier: Apache-2.0 */
/* keystoneauth's options as one struct: their names and aliases (kuryr.conf
 * and clouds.yaml spell some differently), and what each auth_type needs.
 * Secret values are wiped when replaced or released and never copied into
 * a message; only key names and non-secret values are. */
#include <stddef.h>
#include <stdio.h>
#include <strings.h>

#include "auth.h"
#include "macro.h"

struct str_field {
	const char *name;
	size_t offset;
	bool secret;
};

/* A field's name and where it is. */
#define FIELD(f) #f, offsetof(struct os_auth_config, f)

static const struct str_field str_fields[] = {
	{ FIELD(auth_url), false },
	{ FIELD(username), false },
	{ FIELD(user_id), false },
	{ FIELD(password), true },
	{ FIELD(user_domain_name), false },
	{ FIELD(user_domain_id), false },
	{ FIELD(project_name), false },
	{ FIELD(project_id), false },
	{ FIELD(project_domain_name), false },
	{ FIELD(project_domain_id), false },
	{ FIELD(application_credential_id), false },
	{ FIELD(application_credential_name), false },
	{ FIELD(application_credential_secret), true },
	{ FIELD(token), true },
	{ FIELD(region_name), false },
	{ FIELD(interface), false },
	{ FIELD(endpoint_override), false },
	{ FIELD(cafile), false },
};

static char **field_ptr(struct os_auth_config *c, const struct str_field *f)
{
	return (char **)((char *)c + f->offset);
}

static const struct str_field *find_field(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(str_fields); i++)
		if (streq(str_fields[i].name, name))
			return &str_fields[i];
	return NULL;
}

static void free_str(char **p, bool secret)
{
	if (*p && secret)
		explicit_bzero(*p, strlen(*p));
	free(*p);
	*p = NULL;
}

void os_auth_config_release(struct os_auth_config *c)
{
	for (size_t i = 0; i < ELEMENTSOF(str_fields); i++)
		free_str(field_ptr(c, &str_fields[i]), str_fields[i].secret);
	*c = (struct os_auth_config){ 0 };
}

int os_auth_config_init(struct os_auth_config *c)
{
	*c = (struct os_auth_config){ .auth_type = OS_AUTH_NONE };
	for (size_t i = 0; i < ELEMENTSOF(str_fields); i++) {
		char **p = field_ptr(c, &str_fields[i]);

		*p = strdup(streq(str_fields[i].name, "interface") ? "public" : "");
		if (!*p) {
			os_auth_config_release(c);
			return -ENOMEM;
		}
	}
	return 0;
}

int os_auth_config_copy(struct os_auth_config *dst, const struct os_auth_config *src)
{
	*dst = (struct os_auth_config){ .auth_type = src->auth_type, .insecure = src->insecure };
	for (size_t i = 0; i < ELEMENTSOF(str_fields); i++) {
		char **p = field_ptr(dst, &str_fields[i]);

		*p = strdup(*field_ptr((struct os_auth_config *)src, &str_fields[i]));
		if (!*p) {
			os_auth_config_release(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

int os_auth_type_parse(const char *s, enum os_auth_type *ret)
{
	static const struct {
		const char *name;
		enum os_auth_type type;
	} names[] = {
		{ "none", OS_AUTH_NONE },
		{ "noauth", OS_AUTH_NONE },
		{ "password", OS_AUTH_PASSWORD },
		{ "v3password", OS_AUTH_PASSWORD },
		{ "v3applicationcredential", OS_AUTH_APPCRED },
		{ "applicationcredential", OS_AUTH_APPCRED },
		{ "token", OS_AUTH_TOKEN },
		{ "v3token", OS_AUTH_TOKEN },
	};

	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (streq(s, names[i].name)) {
			*ret = names[i].type;
			return 0;
		}
	return -EINVAL;
}

const char *os_auth_type_to_string(enum os_auth_type t)
{
	switch (t) {
	case OS_AUTH_NONE:
		return "none";
	case OS_AUTH_PASSWORD:
		return "password";
	case OS_AUTH_APPCRED:
		return "v3applicationcredential";
	case OS_AUTH_TOKEN:
		return "token";
	}
	return "?";
}

static int parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };

	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* keystoneauth takes the old catalog names too. */
static const char *parse_interface(const char *v)
{
	static const char *const names[] = { "public", "internal", "admin" };

	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		size_t n = strlen(names[i]);

		if (strcasecmp(v, names[i]) == 0 ||
		    (strncasecmp(v, names[i], n) == 0 && strcasecmp(v + n, "URL") == 0))
			return names[i];
	}
	return NULL;
}

int os_auth_config_set(struct os_auth_config *c, const char *key, const char *value,
		       char **reterr_msg)
{
	const struct str_field *f;
	char *s, **p;
	bool b;

	if (streq(key, "auth_type")) {
		enum os_auth_type t;

		if (os_auth_type_parse(value, &t) < 0) {
			set_errmsg(reterr_msg,
				   "auth_type \"%s\" is not supported (none, password, "
				   "v3applicationcredential, token)",
				   value);
			return -EINVAL;
		}
		c->auth_type = t;
		return 0;
	}
	if (streq(key, "insecure") || streq(key, "verify")) {
		if (parse_bool(value, &b) < 0) {
			set_errmsg(reterr_msg, "invalid value \"%s\" for %s (true or false)", value,
				   key);
			return -EINVAL;
		}
		c->insecure = streq(key, "verify") ? !b : b;
		return 0;
	}
	if (streq(key, "interface")) {
		const char *v = parse_interface(value);

		if (!v) {
			set_errmsg(reterr_msg,
				   "invalid value \"%s\" for interface (public, internal, admin)",
				   value);
			return -EINVAL;
		}
		value = v;
	} else if (streq(key, "cacert"))
		key = "cafile";

	f = find_field(key);
	if (!f) {
		set_errmsg(reterr_msg, "unknown key \"%s\"", key);
		return -ENOENT;
	}
	s = strdup(value);
	if (!s)
		return -ENOMEM;
	p = field_ptr(c, f);
	free_str(p, f->secret);
	*p = s;
	return 0;
}

/* Appends "what" to the list of what is missing. */
static void need(char *buf, size_t size, const char *what)
{
	size_t n = strlen(buf);

	snprintf(buf + n, size - n, "%s%s", n ? ", " : "", what);
}

int os_auth_config_check(const struct os_auth_config *c, char **reterr_msg)
{
	char missing[512] = "";

	switch (c->auth_type) {
	case OS_AUTH_NONE:
		if (!*c->endpoint_override)
			need(missing, sizeof(missing), "endpoint_override");
		break;
	case OS_AUTH_PASSWORD:
		if (!*c->auth_url)
			need(missing, sizeof(missing), "auth_url");
		if (!*c->username && !*c->user_id)
			need(missing, sizeof(missing), "username (or user_id)");
		if (!*c->password)
			need(missing, sizeof(missing), "password");
		if (!*c->project_name && !*c->project_id)
			need(missing, sizeof(missing), "project_name (or project_id)");
		break;
	case OS_AUTH_APPCRED:
		if (!*c->auth_url)
			need(missing, sizeof(missing), "auth_url");
		if (!*c->application_credential_secret)
			need(missing, sizeof(missing), "application_credential_secret");
		if (!*c->application_credential_id && !*c->application_credential_name)
			need(missing, sizeof(missing),
			     "application_credential_id (or application_credential_name with "
			     "username or user_id)");
		else if (!*c->application_credential_id && !*c->username && !*c->user_id)
			need(missing, sizeof(missing),
			     "username (or user_id) with application_credential_name");
		break;
	case OS_AUTH_TOKEN:
		if (!*c->auth_url)
			need(missing, sizeof(missing), "auth_url");
		if (!*c->token)
			need(missing, sizeof(missing), "token");
		if (!*c->project_name && !*c->project_id)
			need(missing, sizeof(missing), "project_name (or project_id)");
		break;
	}
	if (*missing) {
		set_errmsg(reterr_msg, "auth_type %s needs %s",
			   os_auth_type_to_string(c->auth_type), missing);
		return -EINVAL;
	}
	return 0;
}
