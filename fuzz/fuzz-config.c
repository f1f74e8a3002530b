/* SPDX-License-Identifier: Apache-2.0 */
/* kuryr.conf, as an operator might mistype it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kuryr_config c;
	char *err = NULL;
	FILE *f;

	if (size == 0 || config_init(&c) < 0)
		return 0;
	f = fmemopen((void *)data, size, "r");
	if (f) {
		(void)config_load_stream(&c, f, "fuzz.conf", &err);
		fclose(f);
	}
	free(err);
	config_release(&c);
	return 0;
}
