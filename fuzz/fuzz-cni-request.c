/* SPDX-License-Identifier: Apache-2.0 */
/* kuryr-cni's input: the network configuration on stdin, untrusted. The
 * first byte picks the CNI command and which variables are set. */
#include <stdint.h>

#include "cni/cni.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const cmds[] = { "ADD", "DEL", "CHECK", "STATUS", "GC", "", "FROB" };
	struct cni_env env = { 0 };
	json_t *out = NULL;
	uint8_t sel = size ? data[0] : 0;

	env.command = cmds[sel % 7];
	if (!(sel & 0x08))
		env.container_id = "fuzz-container";
	if (!(sel & 0x10))
		env.ifname = (sel & 0x40) ? "a-very-long-interface-name" : "eth0";
	if (!(sel & 0x20))
		env.netns = "/run/netns/fuzz";
	cni_request_build(&env, (const char *)data + (size ? 1 : 0), size ? size - 1 : 0, &out);
	json_decref(out);
	return 0;
}
