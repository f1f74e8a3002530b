/* SPDX-License-Identifier: Apache-2.0 */
/* clouds.yaml, as another tool or a careless hand might have written it.
 * The cloud looked up is "fuzz". */
#include <stdint.h>
#include <stdlib.h>

#include "openstack/clouds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct os_auth_config c;
	char *err = NULL;

	if (os_auth_config_init(&c) < 0)
		return 0;
	if (clouds_load_buffer("fuzz", (const char *)data, size, "fuzz.yaml", &c, &err) == 0)
		(void)os_auth_config_check(&c, &err);
	free(err);
	os_auth_config_release(&c);
	return 0;
}
