/* SPDX-License-Identifier: Apache-2.0 */
/* Deadlines for pthread_cond_timedwait on CLOCK_MONOTONIC condvars. */
#pragma once

#include <errno.h>
#include <time.h>

/* *ts = now (CLOCK_MONOTONIC) + @ms milliseconds. */
static inline void timespec_deadline_ms(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Sleep @ms milliseconds (restarting after signals). */
static inline void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
