/* SPDX-License-Identifier: Apache-2.0 */
/* clouds.yaml, the OpenStack client configuration that openstacksdk and the
 * openstack CLI read (OS_CLOUD=NAME): one cloud's credentials into a
 * struct os_auth_config. Keys of other services and tools are ignored; a
 * key we use with a value of the wrong YAML type is an error. */
#pragma once

#include <stddef.h>

#include "openstack/auth.h"

/* Read clouds.<@cloud> over @c from clouds.yaml, then the same cloud from
 * secure.yaml (if there is one) over that.
 *
 * @path: the clouds.yaml to read, with secure.yaml looked for in the same
 * directory; NULL searches the standard places and uses the first file that
 * exists: $OS_CLIENT_CONFIG_FILE, ./clouds.yaml,
 * $XDG_CONFIG_HOME/openstack/clouds.yaml (or ~/.config/openstack/...),
 * /etc/openstack/clouds.yaml; secure.yaml likewise ($OS_CLIENT_SECURE_FILE,
 * then the same directories).
 *
 * Without auth_type, an application_credential_secret means
 * v3applicationcredential and a password means password. auth.domain_name
 * (domain_id) stands for user_domain_name and project_domain_name
 * (..._id) where @c has none.
 *
 * Returns 0; -ENOENT when no clouds.yaml exists or @cloud is not in it;
 * -EINVAL for a YAML syntax error, a value of the wrong type or a bad value,
 * with "PATH:LINE: what" in *reterr_msg; another -errno if a file cannot be
 * read. No secret's value is ever in *reterr_msg. @c is unchanged on
 * failure. */
int clouds_load(const char *cloud, const char *path, struct os_auth_config *c, char **reterr_msg);

/* The same for one file already in memory (@len bytes, need not be
 * NUL-terminated), named @name in messages; no secure.yaml. */
int clouds_load_buffer(const char *cloud, const char *buf, size_t len, const char *name,
		       struct os_auth_config *c, char **reterr_msg);
