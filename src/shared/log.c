/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"

static enum log_level log_max = LOG_LVL_INFO;

void log_set_level(enum log_level level)
{
	log_max = level;
}

int log_level_from_string(const char *s, enum log_level *ret)
{
	static const char *const names[] = {
		[LOG_LVL_ERR] = "error",
		[LOG_LVL_WARN] = "warning",
		[LOG_LVL_INFO] = "info",
		[LOG_LVL_DEBUG] = "debug",
	};
	for (size_t i = 0; i < ELEMENTSOF(names); i++)
		if (streq(s, names[i])) {
			*ret = (enum log_level)i;
			return 0;
		}
	return -EINVAL;
}

bool log_enabled(enum log_level level)
{
	return level <= log_max;
}

void log_emit(enum log_level level, const char *fmt, ...)
{
	static const char *const tags[] = { "ERR", "WARN", "INFO", "DEBUG" };
	char line[2048];
	struct timespec ts;
	va_list ap;
	int n;

	if (!log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(line, sizeof(line), "%lld.%03ld level=%s ", (long long)ts.tv_sec,
		     ts.tv_nsec / 1000000, tags[level]);
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	/* One write per line so concurrent threads do not interleave. */
	fprintf(stderr, "%s\n", line);
}

void set_errmsg(char **reterr, const char *fmt, ...)
{
	va_list ap;
	char *m = NULL;

	if (!reterr)
		return;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	free(*reterr);
	*reterr = m;
}

char *strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

int fopen_regular(const char *path, FILE **ret, char **reterr_msg)
{
	struct stat sb;
	FILE *f;
	int r;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		set_errmsg(reterr_msg, "%s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fileno(f), &sb) < 0 || !S_ISREG(sb.st_mode)) {
		fclose(f);
		set_errmsg(reterr_msg, "%s: not a regular file", path);
		return -EINVAL;
	}
	*ret = f;
	return 0;
}
