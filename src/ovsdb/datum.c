/* SPDX-License-Identifier: Apache-2.0 */
/* Building OVSDB operations and reading datums (RFC 7047 section 5.1). */
#include <stdio.h>

#include "macro.h"
#include "ovsdb.h"

static json_t *tagged_string(const char *tag, const char *s)
{
	json_t *a;

	if (!s)
		return NULL;
	a = json_array();
	if (!a || json_array_append_new(a, json_string(tag)) < 0 ||
	    json_array_append_new(a, json_string(s)) < 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

json_t *ovsdb_named_uuid(const char *name)
{
	return tagged_string("named-uuid", name);
}

json_t *ovsdb_uuid(const char *uuid)
{
	return tagged_string("uuid", uuid);
}

/* [tag, @inner] with @inner stolen. */
static json_t *tagged(const char *tag, json_t *inner)
{
	json_t *a;

	if (!inner)
		return NULL;
	a = json_array();
	if (!a || json_array_append_new(a, json_string(tag)) < 0 ||
	    json_array_append_new(a, inner) < 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

json_t *ovsdb_string_set(const char *const *strings)
{
	json_auto_t *elems = json_array();

	if (!elems)
		return NULL;
	for (size_t i = 0; strings && strings[i]; i++)
		if (json_array_append_new(elems, json_string(strings[i])) < 0)
			return NULL;
	return tagged("set", TAKE_PTR(elems));
}

json_t *ovsdb_string_map(const char *const *kv)
{
	json_auto_t *pairs = json_array();

	if (!pairs)
		return NULL;
	for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2) {
		json_t *pair = json_array();

		if (!pair || json_array_append_new(pair, json_string(kv[i])) < 0 ||
		    json_array_append_new(pair, json_string(kv[i + 1])) < 0 ||
		    json_array_size(pair) != 2) {
			json_decref(pair);
			return NULL;
		}
		if (json_array_append_new(pairs, pair) < 0)
			return NULL;
	}
	return tagged("map", TAKE_PTR(pairs));
}

json_t *ovsdb_cond(const char *column, const char *function, json_t *value)
{
	json_t *a;

	if (!column || !function || !value) {
		json_decref(value);
		return NULL;
	}
	a = json_array();
	if (!a || json_array_append_new(a, json_string(column)) < 0 ||
	    json_array_append_new(a, json_string(function)) < 0) {
		json_decref(a);
		json_decref(value);
		return NULL;
	}
	if (json_array_append_new(a, value) < 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* The payload of [tag, payload], or NULL if @datum is not that. */
static json_t *datum_tagged(json_t *datum, const char *tag)
{
	json_t *t = json_array_get(datum, 0);

	if (json_array_size(datum) != 2 || !json_is_string(t) || !streq(json_string_value(t), tag))
		return NULL;
	return json_array_get(datum, 1);
}

size_t ovsdb_datum_strings(json_t *datum, const char **out, size_t max)
{
	json_t *elems, *e;
	size_t i, n = 0;

	if (json_is_string(datum)) {
		if (out && max > 0)
			out[0] = json_string_value(datum);
		return 1;
	}
	elems = datum_tagged(datum, "set");
	if (!json_is_array(elems))
		return 0;
	json_array_foreach(elems, i, e) {
		if (!json_is_string(e))
			continue;
		if (out && n < max)
			out[n] = json_string_value(e);
		n++;
	}
	return n;
}

const char *ovsdb_map_get(json_t *datum, const char *key)
{
	json_t *pairs = datum_tagged(datum, "map"), *pair;
	size_t i;

	if (!key || !json_is_array(pairs))
		return NULL;
	json_array_foreach(pairs, i, pair) {
		json_t *k = json_array_get(pair, 0), *v = json_array_get(pair, 1);

		if (json_is_string(k) && json_is_string(v) && streq(json_string_value(k), key))
			return json_string_value(v);
	}
	return NULL;
}

const char *ovsdb_datum_uuid(json_t *datum)
{
	json_t *u = datum_tagged(datum, "uuid");

	return json_is_string(u) ? json_string_value(u) : NULL;
}
