/* SPDX-License-Identifier: Apache-2.0 */
/* The backend registry, and the model's small helpers. */
#include <stdio.h>
#include <sys/socket.h>

#include "backend.h"
#include "macro.h"
#include "net-util.h"
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

unsigned kuryr_port_addrs(const struct kuryr_port *p, const struct kuryr_network *net,
			  struct kuryr_addr out[2])
{
	unsigned n = 0;

	if (*p->ip)
		out[n++] = (struct kuryr_addr){ .family = AF_INET,
						.ip = p->ip,
						.prefixlen = p->prefixlen,
						.gateway = net ? net->gateway : "" };
	if (*p->ip6)
		out[n++] = (struct kuryr_addr){ .family = AF_INET6,
						.ip = p->ip6,
						.prefixlen = p->prefixlen6,
						.gateway = net ? net->gateway6 : "" };
	return n;
}

int kuryr_port_prefixes(struct kuryr_port *p, const struct kuryr_network *net)
{
	char ip[48];

	if (*p->ip && addr_split(net->cidr, ip, sizeof(ip), &p->prefixlen) < 0)
		return -EINVAL;
	if (*p->ip6 && addr_split(net->cidr6, ip, sizeof(ip), &p->prefixlen6) < 0)
		return -EINVAL;
	return 0;
}

void kuryr_port_ips_text(const struct kuryr_port *p, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s", p->ip, *p->ip && *p->ip6 ? " " : "", p->ip6);
}
