/* SPDX-License-Identifier: Apache-2.0 */
#include "binding.h"

void binding_ifname(const char *prefix, const char *port, char out[16])
{
	size_t n = 0;

	for (const char *p = prefix; *p && n < 2; p++)
		out[n++] = *p;
	for (const char *p = port; *p && n < 14; p++)
		if (*p != '-')
			out[n++] = *p;
	out[n] = 0;
}
