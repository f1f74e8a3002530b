/* SPDX-License-Identifier: Apache-2.0 */
/* Files and directories, and the unix sockets bound in them. */
#pragma once

#include <sys/types.h>

/* Create directory @path with @mode, and any of its parents that are
 * missing with 0755, as mkdir -p does; directories already there are
 * left as they are. 0 or -errno (-ENOTDIR: a component is a file). */
int mkdir_p(const char *path, mode_t mode);

/* A listening unix socket of @type (SOCK_STREAM, SOCK_SEQPACKET; close on
 * exec) bound at @path, with its directory made if missing and any socket
 * left there replaced; mode 0600 (root only: it hands out network access).
 * Its descriptor, or -errno with "what and where" in *reterr_msg. */
int unix_listen(const char *path, int type, int backlog, char **reterr_msg);
