/* SPDX-License-Identifier: Apache-2.0 */
/* Small language helpers shared by every module: cleanup attributes and
 * ownership transfer, in the style of systemd's macro.h. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((cleanup(f)))
#define _unused_       __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_     __attribute__((noreturn))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(closep)

/* Take ownership of a pointer or fd: return it and leave the source empty. */
#define TAKE_PTR(p)                      \
	({                               \
		__typeof__(p) _tp = (p); \
		(p) = NULL;              \
		_tp;                     \
	})
#define TAKE_FD(fd)             \
	({                      \
		int _tf = (fd); \
		(fd) = -1;      \
		_tf;            \
	})

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
	static inline void func##p(type *p)     \
	{                                       \
		if (*p)                         \
			func(*p);               \
	}

static inline bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}
#define streq(a, b) (strcmp((a), (b)) == 0)

/* Copy @src (NULL: "") into @dst of @size bytes, truncated, always
 * NUL-terminated. */
static inline void str_copy(char *dst, const char *src, size_t size)
{
	size_t n = src ? strnlen(src, size - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = 0;
}

/* Store a heap-allocated message in *reterr if the caller asked for one. */
void set_errmsg(char **reterr, const char *fmt, ...) _printf_(2, 3);
/* A heap-allocated formatted string, or NULL. */
char *strdup_printf(const char *fmt, ...) _printf_(1, 2);
/* Open @path for reading if it is a regular file: 0, or -errno with
 * "PATH: what" in *reterr_msg. */
int fopen_regular(const char *path, FILE **ret, char **reterr_msg);
