/* SPDX-License-Identifier: Apache-2.0 */
/* How kuryrd reaches an OpenStack cloud: keystoneauth's options, filled from
 * kuryr.conf [neutron] (upstream Kuryr's key names) or from a clouds.yaml
 * entry (OS_CLOUD). Strings are malloc'ed, "" when unset, never NULL once
 * os_auth_config_init() succeeded. password, application_credential_secret
 * and token are secrets: they never appear in a log line or error message. */
#pragma once

#include <stdbool.h>

enum os_auth_type {
	OS_AUTH_NONE,	  /* "none" / "noauth": explicit endpoint, no token */
	OS_AUTH_PASSWORD, /* "password" / "v3password" */
	OS_AUTH_APPCRED,  /* "v3applicationcredential" / "applicationcredential" */
	/* "token" / "v3token": a token someone else got, rescoped to the
	 * project; renewal works only as long as that token lives. */
	OS_AUTH_TOKEN,
};

struct os_auth_config {
	enum os_auth_type auth_type;
	char *auth_url; /* Keystone, e.g. "http://ks:5000/v3" or ".../" */
	char *username;
	char *user_id;
	char *password;
	char *user_domain_name; /* default "Default" when a name needs it */
	char *user_domain_id;
	char *project_name;
	char *project_id;
	char *project_domain_name;
	char *project_domain_id;
	char *application_credential_id;
	char *application_credential_name;
	char *application_credential_secret;
	char *token;		 /* auth_type token */
	char *region_name;	 /* "" = any region */
	char *interface;	 /* "public" (default), "internal", "admin" */
	char *endpoint_override; /* Neutron's URL; "" = from the catalog */
	char *cafile;		 /* "" = system CAs */
	bool insecure;		 /* do not verify the server's certificate */
};

/* Defaults: auth_type none, interface "public", everything else "". */
int os_auth_config_init(struct os_auth_config *c);
void os_auth_config_release(struct os_auth_config *c);
/* Set one field by keystoneauth/clouds.yaml/upstream-kuryr name (e.g.
 * "auth_url", "username", "application_credential_secret", "auth_type",
 * "region_name", "interface", "endpoint_override", "cafile"/"cacert",
 * "insecure", "verify" (inverted)). -EINVAL for a bad value (an unknown
 * auth_type, a non-boolean), -ENOENT for an unknown key. The message in
 * *reterr_msg never contains the value of a secret key. */
int os_auth_config_set(struct os_auth_config *c, const char *key, const char *value,
		       char **reterr_msg);
/* Make @dst, uninitialized, a copy of @src. 0 or -ENOMEM (then @dst is
 * left empty, safe to release). */
int os_auth_config_copy(struct os_auth_config *dst, const struct os_auth_config *src);
/* Parse an auth_type name. -EINVAL if unknown. */
int os_auth_type_parse(const char *s, enum os_auth_type *ret);
/* The canonical name of @t: "none", "password", "v3applicationcredential",
 * "token". */
const char *os_auth_type_to_string(enum os_auth_type t);
/* Check that @c has what its auth_type needs (auth_url and a user and
 * password, or an application credential id/name and secret, or a token;
 * for none, an endpoint_override). -EINVAL with what is missing. */
int os_auth_config_check(const struct os_auth_config *c, char **reterr_msg);
