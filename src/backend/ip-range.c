/* SPDX-License-Identifier: Apache-2.0 */
/* An IPv4 subnet allocated from only part of it (network_spec.ip_range),
 * as both backends say it: OVN as the addresses its IPAM must not hand
 * out, Neutron as allocation pools. */
#include <arpa/inet.h>
#include <stdio.h>

#include "backend.h"
#include "macro.h"

int backend_ip_range(const char *cidr, const char *range, const char *gateway,
		     struct ip4_span alloc[2], unsigned *ret_n_alloc, struct ip4_span excl[3],
		     unsigned *ret_n_excl, char **reterr_msg)
{
	uint32_t net, rnet, first, last, lo, hi, gw = 0;
	uint8_t len, rlen;
	struct in_addr a;
	unsigned na = 0, ne = 0;

	if (cidr4_parse(cidr, &net, &len) < 0 || cidr4_parse(range, &rnet, &rlen) < 0 ||
	    rlen < len || (rnet & ~(0xffffffffu >> len)) != net) {
		set_errmsg(reterr_msg, "IP range %s is not a prefix within subnet %s", range, cidr);
		return -EINVAL;
	}
	if (gateway && *gateway && inet_pton(AF_INET, gateway, &a) == 1)
		gw = ntohl(a.s_addr);
	first = net + 1;
	last = net + (0xffffffffu >> len) - 1;
	lo = rnet > first ? rnet : first;
	hi = rnet + (0xffffffffu >> rlen);
	if (hi > last)
		hi = last;
	if (lo > hi || (lo == hi && lo == gw)) {
		set_errmsg(reterr_msg, "IP range %s has no host address of %s to hand out", range,
			   cidr);
		return -EINVAL;
	}
	/* What is handed out: [lo, hi] without the gateway. */
	if (gw >= lo && gw <= hi) {
		if (gw > lo)
			alloc[na++] = (struct ip4_span){ lo, gw - 1 };
		if (gw < hi)
			alloc[na++] = (struct ip4_span){ gw + 1, hi };
		excl[ne++] = (struct ip4_span){ gw, gw };
	} else
		alloc[na++] = (struct ip4_span){ lo, hi };
	/* What is not: the subnet's other hosts. */
	if (lo > first)
		excl[ne++] = (struct ip4_span){ first, lo - 1 };
	if (hi < last)
		excl[ne++] = (struct ip4_span){ hi + 1, last };
	*ret_n_alloc = na;
	*ret_n_excl = ne;
	return 0;
}

void ip4_span_format(const struct ip4_span *s, const char *sep, char *out, size_t size)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &(struct in_addr){ .s_addr = htonl(s->first) }, a, sizeof(a));
	inet_ntop(AF_INET, &(struct in_addr){ .s_addr = htonl(s->last) }, b, sizeof(b));
	if (s->first == s->last)
		snprintf(out, size, "%s", a);
	else
		snprintf(out, size, "%s%s%s", a, sep, b);
}
