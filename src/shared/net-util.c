/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <sys/random.h>

#include "macro.h"
#include "net-util.h"

static void random_bytes(void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = getrandom((char *)buf + done, n - done, 0);

		if (r > 0)
			done += (size_t)r;
	}
}

void mac_random(char out[MAC_STR_LEN])
{
	uint8_t m[6];

	random_bytes(m, sizeof(m));
	m[0] = (uint8_t)((m[0] & 0xfe) | 0x02); /* unicast, locally administered */
	mac_format(m, out);
}

char *mac_format(const uint8_t m[6], char out[MAC_STR_LEN])
{
	snprintf(out, MAC_STR_LEN, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
		 m[5]);
	return out;
}

int mac_parse(const char *s, uint8_t out[6])
{
	unsigned m[6];

	if (!s || strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		out[i] = (uint8_t)m[i];
	return 0;
}

void uuid_random(char out[UUID_STR_LEN])
{
	uint8_t u[16];

	random_bytes(u, sizeof(u));
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	snprintf(out, UUID_STR_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1],
		 u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14],
		 u[15]);
}

bool uuid_is_valid(const char *s)
{
	if (strlen(s) != UUID_STR_LEN - 1)
		return false;
	for (int i = 0; i < UUID_STR_LEN - 1; i++)
		if (i == 8 || i == 13 || i == 18 || i == 23 ? s[i] != '-'
							    : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

int cidr4_parse(const char *cidr, uint32_t *ret_net, uint8_t *ret_len)
{
	char buf[32];
	const char *slash = strchr(cidr, '/');
	struct in_addr a;
	char *end;
	uint32_t mask;
	long len;

	if (!slash || (size_t)(slash - cidr) >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, cidr, (size_t)(slash - cidr));
	buf[slash - cidr] = 0;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -EINVAL;
	errno = 0;
	len = strtol(slash + 1, &end, 10);
	if (errno || end == slash + 1 || *end || len < 1 || len > 30)
		return -EINVAL;
	mask = len == 32 ? 0xffffffffu : ~(0xffffffffu >> len);
	if (ntohl(a.s_addr) & ~mask)
		return -EINVAL;
	*ret_net = ntohl(a.s_addr);
	*ret_len = (uint8_t)len;
	return 0;
}

bool ip4_in_subnet(uint32_t ip, uint32_t net, uint8_t len)
{
	uint32_t mask = ~(0xffffffffu >> len);

	return (ip & mask) == net && ip != net && ip != (net | ~mask);
}

int addr_split(const char *s, char *ip, size_t size, uint8_t *ret_len)
{
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long len = 0;
	char *end;

	if (n >= size)
		return -EINVAL;
	if (slash) {
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || len > 128)
			return -EINVAL;
	}
	memcpy(ip, s, n);
	ip[n] = 0;
	*ret_len = (uint8_t)len;
	return 0;
}

int ip_prefix_normalize(const char *s, int family, char *out, size_t size)
{
	unsigned max = family == AF_INET6 ? 128 : 32;
	unsigned char a[16];
	char ip[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN];
	uint8_t len;

	if (addr_split(s, ip, sizeof(ip), &len) < 0 || inet_pton(family, ip, a) != 1)
		return -EINVAL;
	if (!strchr(s, '/'))
		len = (uint8_t)max;
	if (len > max)
		return -EINVAL;
	for (unsigned bit = len; bit < max; bit++)
		a[bit / 8] &= (unsigned char)~(0x80u >> (bit % 8));
	if (!inet_ntop(family, a, text, sizeof(text)))
		return -EINVAL;
	return (size_t)snprintf(out, size, "%s/%u", text, len) < size ? 0 : -E2BIG;
}

int ip_or_prefix_canon(const char *s, char *out, size_t size, int *ret_family)
{
	char ip[INET6_ADDRSTRLEN], text[INET6_ADDRSTRLEN], norm[INET6_ADDRSTRLEN + 4];
	unsigned char a[16];
	int family = AF_INET, n;
	uint8_t len;

	if (!s || addr_split(s, ip, sizeof(ip), &len) < 0)
		return -EINVAL;
	if (inet_pton(AF_INET, ip, a) != 1) {
		family = AF_INET6;
		if (inet_pton(AF_INET6, ip, a) != 1)
			return -EINVAL;
	}
	if (!inet_ntop(family, a, text, sizeof(text)))
		return -EINVAL;
	if (!strchr(s, '/'))
		n = snprintf(out, size, "%s", text);
	else {
		/* Host bits set: the prefix's network differs from the address. */
		if (ip_prefix_normalize(s, family, norm, sizeof(norm)) < 0)
			return -EINVAL;
		n = snprintf(out, size, "%s/%u", text, len);
		if (n >= 0 && (size_t)n < size && !streq(out, norm))
			return -EINVAL;
	}
	if (n < 0 || (size_t)n >= size)
		return -E2BIG;
	if (ret_family)
		*ret_family = family;
	return 0;
}

bool ip6_in_prefix(const char *ip, const char *cidr6, char canon[46])
{
	char net[INET6_ADDRSTRLEN];
	unsigned char a[16], n[16];
	uint8_t len;

	if (!ip || strchr(ip, '/') || inet_pton(AF_INET6, ip, a) != 1 || !cidr6 ||
	    addr_split(cidr6, net, sizeof(net), &len) < 0 || inet_pton(AF_INET6, net, n) != 1 ||
	    len == 0 || memcmp(a, n, 16) == 0)
		return false;
	for (unsigned i = 0; i < len; i++)
		if ((a[i / 8] ^ n[i / 8]) & (0x80 >> (i % 8)))
			return false;
	if (canon)
		inet_ntop(AF_INET6, a, canon, 46);
	return true;
}
