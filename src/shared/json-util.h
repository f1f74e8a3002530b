/* SPDX-License-Identifier: Apache-2.0 */
/* jansson conveniences shared by every module. */
#pragma once

#include <jansson.h>

#include "macro.h"

/* jansson provides json_decrefp() (NULL-safe) for its json_auto_t. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* The string value of @key in object @o, or NULL if absent or not a string. */
static inline const char *json_object_get_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}
