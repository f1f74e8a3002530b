/* SPDX-License-Identifier: Apache-2.0 */
/* The cheapest possible CNI plugin: read the netconf from stdin and exit 0.
 * bench/add-del-latency.sh execs it exactly like the real plugins (same
 * environment, stdin and namespace), so its time is what any plugin pays
 * before doing any work: fork, exec, dynamic linking of libc, exit, wait.
 * Linked like kuryr-cni (dynamically) but against libc alone. */
#include <unistd.h>

int main(void)
{
	char buf[4096];

	while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
		;
	return 0;
}
