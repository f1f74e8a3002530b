/* SPDX-License-Identifier: Apache-2.0 */
/* MAC addresses, UUIDs and IPv4 prefixes as text: the one place that
 * parses and formats them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAC_STR_LEN  18 /* "xx:xx:xx:xx:xx:xx" and NUL */
#define UUID_STR_LEN 37

/* A random locally administered unicast MAC. */
void mac_random(char out[MAC_STR_LEN]);
/* Parse "xx:xx:xx:xx:xx:xx" (exactly 17 characters): 0 or -EINVAL. */
int mac_parse(const char *s, uint8_t out[6]);
/* Format @mac as lower-case "xx:xx:xx:xx:xx:xx"; returns @out. */
char *mac_format(const uint8_t mac[6], char out[MAC_STR_LEN]);

/* A random UUID v4. */
void uuid_random(char out[UUID_STR_LEN]);
/* true if @s has a UUID's shape: 8-4-4-4-12 hex digits, either case. */
bool uuid_is_valid(const char *s);

/* Parse "a.b.c.d/len" (IPv4, len 1..30) into network address (host order)
 * and prefix length; -EINVAL if malformed or host bits are set. */
int cidr4_parse(const char *cidr, uint32_t *ret_net, uint8_t *ret_len);
/* true if IPv4 @ip (host order) is a usable host address in @net/@len: not
 * the network or broadcast address. */
bool ip4_in_subnet(uint32_t ip, uint32_t net, uint8_t len);

/* Split "ADDR/LEN" into @ip (NUL-terminated, at most @size - 1 bytes) and
 * the prefix length; "ADDR" alone gives *ret_len = 0. -EINVAL if ADDR does
 * not fit or LEN is not a number of 0..128. */
int addr_split(const char *s, char *ip, size_t size, uint8_t *ret_len);
/* "ADDR" or "ADDR/LEN" of @family (AF_INET, AF_INET6) as "NET/LEN", host
 * bits cleared ("ADDR" alone: a host prefix), as Neutron stores a remote
 * IP prefix. -EINVAL if it is not one. */
int ip_prefix_normalize(const char *s, int family, char *out, size_t size);
/* true if IPv6 @ip is a host address of prefix @cidr6 ("NET/LEN"): inside
 * it and not its subnet-router anycast address (NET itself). @canon (may
 * be NULL) gets the address as inet_ntop() writes it. */
bool ip6_in_prefix(const char *ip, const char *cidr6, char canon[46]);
/* "ADDR" or "NET/LEN" of either family in canonical text: the address as
 * inet_ntop() writes it, "NET/LEN" with the prefix length in range and no
 * host bits set (Neutron refuses such a CIDR too). -EINVAL if @s is
 * neither; *ret_family (may be NULL) is AF_INET or AF_INET6. */
int ip_or_prefix_canon(const char *s, char *out, size_t size, int *ret_family);
