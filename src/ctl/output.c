/* SPDX-License-Identifier: Apache-2.0 */
/* How kuryrctl prints kuryrd's answers: a listing as a table with the
 * command's columns, an object as key/value lines, or with -o json the
 * JSON as kuryrd sent it, for scripts. */
#include <ctype.h>

#include "ctl.h"
#include "json-util.h"

static void print_value(FILE *f, const json_t *v)
{
	if (json_is_string(v))
		fputs(json_string_value(v), f);
	else if (json_is_integer(v))
		fprintf(f, "%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		fputs(json_is_true(v) ? "yes" : "no", f);
	else if (json_is_null(v) || !v)
		fputs("-", f);
	else {
		_cleanup_free_ char *s = json_dumps(v, JSON_COMPACT);

		fputs(s ? s : "?", f);
	}
}

static int value_width(const json_t *v)
{
	char buf[64];

	if (json_is_string(v))
		return (int)strlen(json_string_value(v));
	if (json_is_integer(v))
		return snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	if (json_is_boolean(v))
		return json_is_true(v) ? 3 : 2;
	return 1;
}

/* A table of @rows (objects) with @cols as headers. */
static void print_table(FILE *f, const json_t *rows, const char *const *cols)
{
	int w[16] = { 0 };
	size_t nc = 0;

	while (cols[nc] && nc < ELEMENTSOF(w)) {
		w[nc] = (int)strlen(cols[nc]);
		nc++;
	}
	for (size_t i = 0; i < json_array_size(rows); i++)
		for (size_t c = 0; c < nc; c++) {
			int n = value_width(json_object_get(json_array_get(rows, i), cols[c]));

			if (n > w[c])
				w[c] = n;
		}
	for (size_t c = 0; c < nc; c++) {
		for (const char *p = cols[c]; *p; p++)
			fputc(*p == '_' ? ' ' : toupper((unsigned char)*p), f);
		fprintf(f, "%*s", c + 1 < nc ? w[c] - (int)strlen(cols[c]) + 2 : 0, "");
	}
	fputc('\n', f);
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *row = json_array_get(rows, i);

		for (size_t c = 0; c < nc; c++) {
			json_t *v = json_object_get(row, cols[c]);

			print_value(f, v);
			if (c + 1 < nc)
				fprintf(f, "%*s", w[c] - value_width(v) + 2, "");
		}
		fputc('\n', f);
	}
}

static void print_object(FILE *f, const json_t *o)
{
	const char *k;
	json_t *v;
	int w = 0;

	json_object_foreach((json_t *)o, k, v)
		if ((int)strlen(k) > w)
			w = (int)strlen(k);
	json_object_foreach((json_t *)o, k, v) {
		fprintf(f, "%-*s  ", w, k);
		print_value(f, v);
		fputc('\n', f);
	}
}

void ctl_output(FILE *f, const struct ctl_options *opts, const json_t *result)
{
	const struct ctl_command *c = opts->command;

	if (c && c->silent)
		return;
	if (opts->format == CTL_FORMAT_JSON) {
		if (result && !json_is_null(result)) {
			json_dumpf(result, f, JSON_INDENT(2));
			fputc('\n', f);
		}
		return;
	}
	if (json_is_array(result)) {
		/* No command lists without columns; should kuryrd answer one
		 * with a list anyway, one value a line beats nothing. */
		if (c && c->columns)
			print_table(f, result, c->columns);
		else
			for (size_t i = 0; i < json_array_size(result); i++) {
				print_value(f, json_array_get(result, i));
				fputc('\n', f);
			}
	} else if (json_is_object(result))
		print_object(f, result);
}
