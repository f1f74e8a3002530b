/* SPDX-License-Identifier: Apache-2.0 */
/* The backend registry. */
#include "backend.h"
#include "macro.h"
#include "neutron.h"
#include "ovn.h"

const struct backend_driver *const backend_drivers[] = {
	&backend_ovn_driver,
	&backend_neutron_driver,
	NULL,
};

const struct backend_driver *backend_driver_find(const char *name)
{
	for (size_t i = 0; backend_drivers[i]; i++)
		if (streq(backend_drivers[i]->name, name))
			return backend_drivers[i];
	return NULL;
}
