/* SPDX-License-Identifier: Apache-2.0 */
/* kuryr.conf's value syntax, for every module that owns a section: each
 * setter parses @v into *dst, replacing what was there, and returns 0,
 * -EINVAL (a bad value) or -ENOMEM; *dst is unchanged on failure. */
#pragma once

#include <stdbool.h>

int conf_set_str(char **dst, const char *v);
/* Seconds (0.001 to 3600, fractions allowed) into milliseconds. */
int conf_set_seconds_ms(int *dst, const char *v);
int conf_set_int(int *dst, const char *v, int min, int max);
/* true/yes/1, false/no/0. */
int conf_set_bool(bool *dst, const char *v);
/* A comma-separated list (oslo.config's ListOpt) into a NULL-terminated
 * array: blanks around items dropped, an empty item an error, an empty
 * value the empty list. */
int conf_set_list(char ***dst, const char *v);

/* An empty NULL-terminated list, and freeing one (NULL is fine). */
char **strv_new_empty(void);
void strv_free(char **v);
