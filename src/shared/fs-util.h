/* SPDX-License-Identifier: Apache-2.0 */
/* Files and directories. */
#pragma once

#include <sys/types.h>

/* Create directory @path with @mode, and any of its parents that are
 * missing with 0755, as mkdir -p does; directories already there are
 * left as they are. 0 or -errno (-ENOTDIR: a component is a file). */
int mkdir_p(const char *path, mode_t mode);
