/* SPDX-License-Identifier: Apache-2.0 */
/* A monotonic time stamp for shells that have none: prints CLOCK_MONOTONIC
 * in microseconds (one integer line). The guest of scripts/vm.sh runs
 * busybox sh, which has no $EPOCHREALTIME, and its date has no %N, so
 * bench/nested-add.sh stamps each plugin call with t=$(mono) on both
 * sides. The stamp costs a fork of the shell and an exec of this program;
 * the benchmark times two stamps with nothing between them and reports
 * that overhead beside the figures. Linked statically where a static libc
 * exists, so that no dynamic loader runs inside the stamp. */
#include <stdio.h>
#include <time.h>

int main(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 1;
	printf("%lld\n", (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000);
	return 0;
}
