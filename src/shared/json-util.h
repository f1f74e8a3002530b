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

/* Append the items of array @more to @a, consuming @more (as
 * json_array_append_new does one item). */
static inline int json_array_extend_new(json_t *a, json_t *more)
{
	int r = json_array_extend(a, more);

	json_decref(more);
	return r;
}
