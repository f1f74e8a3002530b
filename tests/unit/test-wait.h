/* SPDX-License-Identifier: Apache-2.0 */
/* For the suites that drive kuryrd's threads (test-pool, test-daemon):
 * waiting, bounded, for what a background thread does. */
#pragma once

#include "time-util.h"

/* Poll every 10 ms for up to @seconds until @cond holds; fail the test
 * if it never does. */
#define WAIT_UNTIL_S(cond, seconds)                                   \
	do {                                                          \
		for (int _i = 0; !(cond) && _i < (seconds)*100; _i++) \
			msleep(10);                                   \
		if (!(cond))                                          \
			fail_msg("timed out waiting for: %s", #cond); \
	} while (0)
