/* SPDX-License-Identifier: Apache-2.0 */
/* One-line, key=value logging to stderr for the daemon and tools.
 * Libraries do not log: they return -errno and a message; the layer that
 * decides logs once, with context. */
#pragma once

#include <stdbool.h>

#include "macro.h"

enum log_level {
	LOG_LVL_ERR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

void log_set_level(enum log_level level);
/* Parse "error", "warning", "info", "debug"; -EINVAL if unknown. */
int log_level_from_string(const char *s, enum log_level *ret);
bool log_enabled(enum log_level level);
void log_emit(enum log_level level, const char *fmt, ...) _printf_(2, 3);

#define log_err(...)  log_emit(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_emit(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_emit(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                        \
	do {                                                  \
		if (log_enabled(LOG_LVL_DEBUG))               \
			log_emit(LOG_LVL_DEBUG, __VA_ARGS__); \
	} while (0)
