/* SPDX-License-Identifier: Apache-2.0 */
/* Allowed address pairs as an operator writes them ("IP[/LEN][,MAC]") and
 * the checks every backend makes before it sends any, so that both refuse
 * the same input with the same words. Addresses of either family parse:
 * IPv6 pairs need nothing more here. */
#include <ctype.h>
#include <stdio.h>
#include <strings.h>

#include "backend.h"
#include "macro.h"

/* "xx:xx:xx:xx:xx:xx", hex digits and colons only (mac_parse's sscanf
 * would take a sign or a space in a digit's place). */
static bool mac_text_valid(const char *s)
{
	if (strlen(s) != MAC_STR_LEN - 1)
		return false;
	for (size_t i = 0; i < MAC_STR_LEN - 1; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* A unicast MAC in lower case into @out; -EINVAL. */
static int mac_canon(const char *s, char out[MAC_STR_LEN])
{
	uint8_t m[6];

	if (!mac_text_valid(s) || mac_parse(s, m) < 0 || (m[0] & 1))
		return -EINVAL;
	mac_format(m, out);
	return 0;
}

int backend_addr_pair_parse(const char *s, struct kuryr_addr_pair *ret, char **reterr_msg)
{
	struct kuryr_addr_pair p = { 0 };
	const char *comma = s ? strchr(s, ',') : NULL;
	char ip[sizeof(p.ip)];
	size_t n;

	if (!s) {
		set_errmsg(reterr_msg, "an allowed address is IP[/LEN][,MAC]");
		return -EINVAL;
	}
	n = comma ? (size_t)(comma - s) : strlen(s);
	if (n < sizeof(ip)) {
		memcpy(ip, s, n);
		ip[n] = 0;
	}
	if (n >= sizeof(ip) || ip_or_prefix_canon(ip, p.ip, sizeof(p.ip), NULL) < 0) {
		set_errmsg(reterr_msg,
			   "allowed address \"%s\": \"%.*s\" is not an IP address or a CIDR "
			   "without host bits",
			   s, (int)(n < 64 ? n : 64), s);
		return -EINVAL;
	}
	if (comma && mac_canon(comma + 1, p.mac) < 0) {
		set_errmsg(reterr_msg,
			   "allowed address \"%s\": \"%s\" is not a unicast MAC address", s,
			   comma + 1);
		return -EINVAL;
	}
	*ret = p;
	return 0;
}

int backend_addr_pairs_check(const struct kuryr_addr_pair *pairs, unsigned n, char **reterr_msg)
{
	if (n > KURYR_MAX_ADDR_PAIRS) {
		set_errmsg(reterr_msg, "%u allowed address pairs: a port has at most %d", n,
			   KURYR_MAX_ADDR_PAIRS);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		char ip[sizeof(pairs[i].ip)], mac[MAC_STR_LEN];

		if (ip_or_prefix_canon(pairs[i].ip, ip, sizeof(ip), NULL) < 0 ||
		    !streq(ip, pairs[i].ip) ||
		    (*pairs[i].mac &&
		     (mac_canon(pairs[i].mac, mac) < 0 || !streq(mac, pairs[i].mac)))) {
			set_errmsg(reterr_msg, "allowed address pair \"%s,%s\" is malformed",
				   pairs[i].ip, pairs[i].mac);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++)
			if (streq(pairs[i].ip, pairs[j].ip) && streq(pairs[i].mac, pairs[j].mac)) {
				set_errmsg(reterr_msg, "allowed address pair %s%s%s is given twice",
					   pairs[i].ip, *pairs[i].mac ? "," : "", pairs[i].mac);
				return -EINVAL;
			}
	}
	return 0;
}

static bool pair_is(const struct kuryr_addr_pair *p, const char *ip, const char *mac)
{
	return strcasecmp(p->mac, mac) == 0 && (!*ip || streq(p->ip, ip));
}

/* @in[0..n) canonical into @out; an IP is needed where @need_ip. */
static int pairs_canon(const struct kuryr_addr_pair *in, unsigned n, bool need_ip,
		       struct kuryr_addr_pair *out, char **reterr_msg)
{
	if (n > KURYR_MAX_ADDR_PAIRS || (n && !in)) {
		set_errmsg(reterr_msg, "%u allowed address pairs to change: at most %d", n,
			   KURYR_MAX_ADDR_PAIRS);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++) {
		out[i] = (struct kuryr_addr_pair){ 0 };
		if ((*in[i].ip &&
		     ip_or_prefix_canon(in[i].ip, out[i].ip, sizeof(out[i].ip), NULL) < 0) ||
		    mac_canon(in[i].mac, out[i].mac) < 0 || (need_ip && !*out[i].ip)) {
			set_errmsg(reterr_msg, "allowed address pair \"%s,%s\" is malformed",
				   in[i].ip, in[i].mac);
			return -EINVAL;
		}
	}
	return 0;
}

int backend_pairs_apply(const char *port, const struct kuryr_addr_pair *cur, unsigned n,
			const struct port_update *u, struct kuryr_addr_pair *out, unsigned *ret_n,
			bool *ret_changed, char **reterr_msg)
{
	struct kuryr_addr_pair add[KURYR_MAX_ADDR_PAIRS], del[KURYR_MAX_ADDR_PAIRS];
	bool changed = false;
	unsigned k = 0;
	int r;

	if (u->set_pairs || (!u->n_add && !u->n_del)) {
		const struct kuryr_addr_pair *src = u->set_pairs ? u->pairs : cur;
		unsigned m = u->set_pairs ? u->n_pairs : n;

		if (m > KURYR_MAX_ADDR_PAIRS)
			return backend_addr_pairs_check(src, m, reterr_msg);
		memcpy(out, src, m * sizeof(*out));
		*ret_n = m;
		*ret_changed = u->set_pairs;
		return 0;
	}
	r = pairs_canon(u->del_pairs, u->n_del, false, del, reterr_msg);
	if (r == 0)
		r = pairs_canon(u->add_pairs, u->n_add, true, add, reterr_msg);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n && i < KURYR_MAX_ADDR_PAIRS; i++) {
		bool gone = false;

		for (unsigned j = 0; j < u->n_del && !gone; j++)
			gone = pair_is(&cur[i], del[j].ip, del[j].mac);
		if (gone)
			changed = true;
		else
			out[k++] = cur[i];
	}
	for (unsigned j = 0; j < u->n_add; j++) {
		bool there = false;

		for (unsigned i = 0; i < k && !there; i++)
			there = pair_is(&out[i], add[j].ip, add[j].mac);
		if (there)
			continue;
		if (k >= KURYR_MAX_ADDR_PAIRS) {
			set_errmsg(
			    reterr_msg,
			    "port %s would have more than %d allowed address pairs, the most "
			    "it may",
			    port, KURYR_MAX_ADDR_PAIRS);
			return -ENOSPC;
		}
		out[k++] = add[j];
		changed = true;
	}
	*ret_n = k;
	*ret_changed = changed;
	return 0;
}
