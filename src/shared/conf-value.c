/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>

#include "conf-value.h"
#include "macro.h"

char **strv_new_empty(void)
{
	return calloc(1, sizeof(char *));
}

void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

int conf_set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

int conf_set_seconds_ms(int *dst, const char *v)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	/* Written so that NaN fails too. */
	if (errno || end == v || *end || !(d >= 0.001 && d <= 3600))
		return -EINVAL;
	*dst = (int)(d * 1000 + 0.5);
	return 0;
}

int conf_set_int(int *dst, const char *v, int min, int max)
{
	char *end;
	long l;

	errno = 0;
	l = strtol(v, &end, 10);
	if (errno || end == v || *end || l < min || l > max)
		return -EINVAL;
	*dst = (int)l;
	return 0;
}

int conf_set_bool(bool *dst, const char *v)
{
	if (streq(v, "true") || streq(v, "yes") || streq(v, "1"))
		*dst = true;
	else if (streq(v, "false") || streq(v, "no") || streq(v, "0"))
		*dst = false;
	else
		return -EINVAL;
	return 0;
}

int conf_set_list(char ***dst, const char *v)
{
	_cleanup_free_ char *copy = strdup(v);
	char **list, *p, *item;
	size_t n = 0, max = 2;

	if (!copy)
		return -ENOMEM;
	for (const char *q = v; *q; q++)
		max += *q == ',';
	list = calloc(max, sizeof(*list));
	if (!list)
		return -ENOMEM;
	p = copy[strspn(copy, " \t")] ? copy : NULL;
	while ((item = strsep(&p, ","))) {
		char *end;

		item += strspn(item, " \t");
		end = item + strlen(item);
		while (end > item && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*item) {
			strv_free(list);
			return -EINVAL;
		}
		list[n] = strdup(item);
		if (!list[n++]) {
			strv_free(list);
			return -ENOMEM;
		}
	}
	strv_free(*dst);
	*dst = list;
	return 0;
}
