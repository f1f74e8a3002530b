/* SPDX-License-Identifier: Apache-2.0 */
/* Allowed address pairs as an operator writes them: "IP[/LEN][,MAC]" of
 * either family into canonical text (an address as inet_ntop() writes it,
 * a prefix without host bits, a lower-case unicast MAC), everything else
 * refused with a line naming what is wrong; the checks both backends
 * make on a port's pairs (how many, canonical, none twice); and a port's
 * addresses of both families as one list; an IPv6 host address in a
 * prefix; pairs added and removed several at once against a port's (a
 * container's, one per address family, as nested-macvlan changes them). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "backend/backend.h"
#include "macro.h"
#include "net-util.h"

static void test_canon(void **state)
{
	static const struct {
		const char *in, *out;
		int family;
	} good[] = {
		{ "10.0.0.5", "10.0.0.5", AF_INET },
		{ "10.0.0.0/24", "10.0.0.0/24", AF_INET },
		{ "10.0.0.5/32", "10.0.0.5/32", AF_INET },
		{ "0.0.0.0/0", "0.0.0.0/0", AF_INET },
		{ "FD00:0:0::1", "fd00::1", AF_INET6 },
		{ "fd00:1::/64", "fd00:1::/64", AF_INET6 },
	};
	static const char *const bad[] = {
		"",	      "10.0.0",	    "10.0.0.256",   "10.0.0.5/24", "10.0.0.0/33",
		"10.0.0.0/",  "10.0.0.0/x", "10.0.0.0/24/", " 10.0.0.5",   "10.0.0.5 ",
		"fd00::1/64", "fd00::/129", "fd00:::1",	    "host",	   "010.0.0.1",
	};
	char out[64];

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		int family = 0;

		if (ip_or_prefix_canon(good[i].in, out, sizeof(out), &family) < 0)
			fail_msg("\"%s\" refused", good[i].in);
		assert_string_equal(out, good[i].out);
		assert_int_equal(family, good[i].family);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++)
		if (ip_or_prefix_canon(bad[i], out, sizeof(out), NULL) != -EINVAL)
			fail_msg("\"%s\" taken", bad[i]);
	/* What does not fit is not cut short. */
	assert_int_equal(ip_or_prefix_canon("10.0.0.0/24", out, 8, NULL), -E2BIG);
}

static void test_ip6_in_prefix(void **state)
{
	char canon[46];

	assert_true(ip6_in_prefix("FD00:1::0005", "fd00:1::/64", canon));
	assert_string_equal(canon, "fd00:1::5");
	assert_true(ip6_in_prefix("fd00:1::ffff:ffff:ffff:ffff", "fd00:1::/64", NULL));
	assert_true(ip6_in_prefix("fd00:1:0:0:7fff::1", "fd00:1::/65", NULL));
	/* The subnet-router anycast address, outside, other family, junk. */
	assert_false(ip6_in_prefix("fd00:1::", "fd00:1::/64", NULL));
	assert_false(ip6_in_prefix("fd00:2::5", "fd00:1::/64", NULL));
	assert_false(ip6_in_prefix("fd00:1:0:0:8000::1", "fd00:1::/65", NULL));
	assert_false(ip6_in_prefix("10.0.0.5", "fd00:1::/64", NULL));
	assert_false(ip6_in_prefix("fd00:1::5/64", "fd00:1::/64", NULL));
	assert_false(ip6_in_prefix("fd00:1::5", "", NULL));
	assert_false(ip6_in_prefix("fd00:1::5", "fd00:1::/0", NULL));
	assert_false(ip6_in_prefix(NULL, "fd00:1::/64", NULL));
}

static void test_parse(void **state)
{
	static const struct {
		const char *in, *ip, *mac;
	} good[] = {
		{ "10.0.0.5", "10.0.0.5", "" },
		{ "10.0.1.0/24,02:AA:bb:cc:dd:01", "10.0.1.0/24", "02:aa:bb:cc:dd:01" },
		{ "fd00::5,02:00:00:00:00:01", "fd00::5", "02:00:00:00:00:01" },
	};
	static const struct {
		const char *in, *msg;
	} bad[] = {
		{ "10.0.0.300",
		  "allowed address \"10.0.0.300\": \"10.0.0.300\" is not an IP address "
		  "or a CIDR without host bits" },
		{ "10.0.0.5/24,02:00:00:00:00:01",
		  "allowed address \"10.0.0.5/24,02:00:00:00:00:01\": \"10.0.0.5/24\" is not an IP "
		  "address or a CIDR without host bits" },
		{ ",02:00:00:00:00:01", "allowed address \",02:00:00:00:00:01\": \"\" is not an IP "
					"address or a CIDR without host bits" },
		{ "10.0.0.5,", "allowed address \"10.0.0.5,\": \"\" is not a unicast MAC address" },
		{ "10.0.0.5,zz:zz:zz:zz:zz:zz",
		  "allowed address \"10.0.0.5,zz:zz:zz:zz:zz:zz\": \"zz:zz:zz:zz:zz:zz\" is not a "
		  "unicast MAC address" },
		{ "10.0.0.5,02:00:00:00:00", "allowed address \"10.0.0.5,02:00:00:00:00\": "
					     "\"02:00:00:00:00\" is not a unicast MAC address" },
		{ "10.0.0.5,02:00:00:00:00:-1",
		  "allowed address \"10.0.0.5,02:00:00:00:00:-1\": "
		  "\"02:00:00:00:00:-1\" is not a unicast MAC address" },
		/* Multicast, broadcast. */
		{ "10.0.0.5,01:00:5e:00:00:01",
		  "allowed address \"10.0.0.5,01:00:5e:00:00:01\": "
		  "\"01:00:5e:00:00:01\" is not a unicast MAC address" },
		{ "10.0.0.5,ff:ff:ff:ff:ff:ff",
		  "allowed address \"10.0.0.5,ff:ff:ff:ff:ff:ff\": "
		  "\"ff:ff:ff:ff:ff:ff\" is not a unicast MAC address" },
		{ "10.0.0.5,02:00:00:00:00:01,x",
		  "allowed address \"10.0.0.5,02:00:00:00:00:01,x\": \"02:00:00:00:00:01,x\" is "
		  "not a "
		  "unicast MAC address" },
	};

	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		struct kuryr_addr_pair p;
		_cleanup_free_ char *msg = NULL;

		if (backend_addr_pair_parse(good[i].in, &p, &msg) < 0)
			fail_msg("\"%s\": %s", good[i].in, msg);
		assert_string_equal(p.ip, good[i].ip);
		assert_string_equal(p.mac, good[i].mac);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct kuryr_addr_pair p = { .ip = "untouched" };
		_cleanup_free_ char *msg = NULL;

		assert_int_equal(backend_addr_pair_parse(bad[i].in, &p, &msg), -EINVAL);
		if (!msg || !streq(msg, bad[i].msg))
			fail_msg("\"%s\":\n  expected %s\n       got %s", bad[i].in, bad[i].msg,
				 msg ?: "(none)");
		assert_string_equal(p.ip, "untouched");
	}
	assert_int_equal(backend_addr_pair_parse(NULL, &(struct kuryr_addr_pair){ 0 }, NULL),
			 -EINVAL);
}

static void test_check(void **state)
{
	struct kuryr_addr_pair pairs[KURYR_MAX_ADDR_PAIRS + 1] = {
		{ "10.0.0.5", "" },
		{ "10.0.0.5", "02:00:00:00:00:01" },
		{ "10.0.1.0/24", "02:00:00:00:00:01" },
	};
	_cleanup_free_ char *msg = NULL;

	/* The same address with another MAC is another pair. */
	assert_int_equal(backend_addr_pairs_check(pairs, 3, &msg), 0);
	assert_null(msg);
	assert_int_equal(backend_addr_pairs_check(NULL, 0, &msg), 0);

	pairs[3] = pairs[1];
	assert_int_equal(backend_addr_pairs_check(pairs, 4, &msg), -EINVAL);
	assert_string_equal(msg, "allowed address pair 10.0.0.5,02:00:00:00:00:01 is given twice");

	/* Only canonical text reaches a backend. */
	snprintf(pairs[3].ip, sizeof(pairs[3].ip), "10.0.0.05");
	assert_int_equal(backend_addr_pairs_check(pairs, 4, &msg), -EINVAL);
	snprintf(pairs[3].ip, sizeof(pairs[3].ip), "10.0.0.6 10.0.0.7");
	assert_int_equal(backend_addr_pairs_check(pairs, 4, &msg), -EINVAL);
	assert_string_equal(msg, "allowed address pair \"10.0.0.6 10.0.0.7,02:00:00:00:00:01\" is "
				 "malformed");
	snprintf(pairs[3].ip, sizeof(pairs[3].ip), "10.0.0.6");
	snprintf(pairs[3].mac, sizeof(pairs[3].mac), "02:00:00:00:00:0A");
	assert_int_equal(backend_addr_pairs_check(pairs, 4, &msg), -EINVAL);

	/* At most KURYR_MAX_ADDR_PAIRS. */
	for (unsigned i = 0; i < ELEMENTSOF(pairs); i++) {
		snprintf(pairs[i].ip, sizeof(pairs[i].ip), "10.0.2.%u", i + 1);
		*pairs[i].mac = 0;
	}
	assert_int_equal(backend_addr_pairs_check(pairs, KURYR_MAX_ADDR_PAIRS, &msg), 0);
	assert_int_equal(backend_addr_pairs_check(pairs, KURYR_MAX_ADDR_PAIRS + 1, &msg), -EINVAL);
	assert_string_equal(msg, "11 allowed address pairs: a port has at most 10");
}

/* A port's addresses as one list, IPv4 first, each with its subnet's
 * gateway; as OVN lists them after the MAC. */
static void test_port_addrs(void **state)
{
	struct kuryr_network net = { .gateway = "10.1.0.1", .gateway6 = "" };
	struct kuryr_port p = { .ip = "10.1.0.5", .prefixlen = 24 };
	struct kuryr_addr a[2];
	char text[100];

	assert_int_equal(kuryr_port_addrs(&p, &net, a), 1);
	assert_int_equal(a[0].family, AF_INET);
	assert_string_equal(a[0].gateway, "10.1.0.1");
	kuryr_port_ips_text(&p, text, sizeof(text));
	assert_string_equal(text, "10.1.0.5");

	strcpy(p.ip6, "fd00:1::5");
	p.prefixlen6 = 64;
	assert_true(kuryr_port_has_ip(&p));
	assert_int_equal(kuryr_port_addrs(&p, &net, a), 2);
	assert_int_equal(a[1].family, AF_INET6);
	assert_string_equal(a[1].ip, "fd00:1::5");
	assert_int_equal(a[1].prefixlen, 64);
	assert_string_equal(a[1].gateway, "");
	kuryr_port_ips_text(&p, text, sizeof(text));
	assert_string_equal(text, "10.1.0.5 fd00:1::5");

	/* IPv6 only; no network: no gateways. */
	p.ip[0] = 0;
	assert_int_equal(kuryr_port_addrs(&p, NULL, a), 1);
	assert_int_equal(a[0].family, AF_INET6);
	assert_string_equal(a[0].gateway, "");
	kuryr_port_ips_text(&p, text, sizeof(text));
	assert_string_equal(text, "fd00:1::5");

	p.ip6[0] = 0;
	assert_false(kuryr_port_has_ip(&p));
	assert_int_equal(kuryr_port_addrs(&p, &net, a), 0);
	kuryr_port_ips_text(&p, text, sizeof(text));
	assert_string_equal(text, "");
}

/* Several pairs added or removed in one change, against the pairs the
 * port has: all of it or nothing. */
static void test_pairs_apply(void **state)
{
	const struct kuryr_addr_pair cur[] = {
		{ .ip = "10.0.0.9", .mac = "" },
		{ .ip = "10.0.0.5", .mac = "02:00:00:00:00:01" },
	};
	const struct kuryr_addr_pair mine[] = {
		{ .ip = "10.0.0.7", .mac = "02:00:00:00:00:07" },
		{ .ip = "FD00:1::7", .mac = "02:00:00:00:00:07" },
	};
	const struct kuryr_addr_pair bad[] = {
		mine[0],
		{ .ip = "fd00:1::7", .mac = "01:00:00:00:00:07" },
	};
	struct kuryr_addr_pair out[KURYR_MAX_ADDR_PAIRS], full[KURYR_MAX_ADDR_PAIRS];
	_cleanup_free_ char *msg = NULL;
	unsigned n = 0;
	bool changed = false;

	/* Both families of a container on at once, canonical. */
	assert_int_equal(backend_pairs_apply("p", cur, 2,
					     &(struct port_update){ .add_pairs = mine, .n_add = 2 },
					     out, &n, &changed, &msg),
			 0);
	assert_int_equal(n, 4);
	assert_true(changed);
	assert_string_equal(out[0].ip, "10.0.0.9");
	assert_string_equal(out[2].ip, "10.0.0.7");
	assert_string_equal(out[3].ip, "fd00:1::7");
	assert_string_equal(out[3].mac, "02:00:00:00:00:07");
	memcpy(full, out, sizeof(out));
	/* There already (one, or both): only what is missing goes on. */
	assert_int_equal(backend_pairs_apply("p", full, 3,
					     &(struct port_update){ .add_pairs = mine, .n_add = 2 },
					     out, &n, &changed, &msg),
			 0);
	assert_int_equal(n, 4);
	assert_true(changed);
	assert_int_equal(backend_pairs_apply("p", full, 4,
					     &(struct port_update){ .add_pairs = mine, .n_add = 2 },
					     out, &n, &changed, &msg),
			 0);
	assert_int_equal(n, 4);
	assert_false(changed);
	/* Both off at once; the others stay, in their order. */
	assert_int_equal(backend_pairs_apply("p", full, 4,
					     &(struct port_update){ .del_pairs = mine, .n_del = 2 },
					     out, &n, &changed, &msg),
			 0);
	assert_int_equal(n, 2);
	assert_true(changed);
	assert_memory_equal(out, cur, sizeof(cur));
	assert_int_equal(backend_pairs_apply("p", cur, 2,
					     &(struct port_update){ .del_pairs = mine, .n_del = 2 },
					     out, &n, &changed, &msg),
			 0);
	assert_false(changed);
	/* Room for one of the two: neither goes on. */
	for (unsigned i = 0; i < KURYR_MAX_ADDR_PAIRS; i++) {
		snprintf(full[i].ip, sizeof(full[i].ip), "10.0.2.%u", i + 1);
		*full[i].mac = 0;
	}
	assert_int_equal(backend_pairs_apply("p", full, KURYR_MAX_ADDR_PAIRS - 1,
					     &(struct port_update){ .add_pairs = mine, .n_add = 2 },
					     out, &n, &changed, &msg),
			 -ENOSPC);
	assert_non_null(strstr(msg, "more than 10 allowed address pairs"));
	/* A malformed one of the two (a multicast MAC): nothing. */
	n = 99;
	assert_int_equal(backend_pairs_apply("p", cur, 2,
					     &(struct port_update){ .add_pairs = bad, .n_add = 2 },
					     out, &n, &changed, &msg),
			 -EINVAL);
	assert_int_equal(n, 99);
}

static void span_text(const struct ip4_span *s, unsigned n, char *out, size_t size)
{
	size_t off = 0;

	*out = 0;
	for (unsigned i = 0; i < n; i++) {
		char t[40];

		ip4_span_format(&s[i], "..", t, sizeof(t));
		off += (size_t)snprintf(out + off, size - off, "%s%s", off ? " " : "", t);
	}
}

/* An IP range as handed-out spans and the rest, around the gateway. */
static void test_ip_range(void **state)
{
	struct ip4_span al[2], ex[3];
	unsigned na, ne;
	char a[128], e[128];

	assert_int_equal(
	    backend_ip_range("10.0.0.0/24", "10.0.0.128/25", "10.0.0.1", al, &na, ex, &ne, NULL),
	    0);
	span_text(al, na, a, sizeof(a));
	span_text(ex, ne, e, sizeof(e));
	assert_string_equal(a, "10.0.0.128..10.0.0.254");
	assert_string_equal(e, "10.0.0.1..10.0.0.127");
	/* The gateway inside the range: handed out around it. */
	assert_int_equal(
	    backend_ip_range("10.0.0.0/24", "10.0.0.0/25", "10.0.0.1", al, &na, ex, &ne, NULL), 0);
	span_text(al, na, a, sizeof(a));
	span_text(ex, ne, e, sizeof(e));
	assert_string_equal(a, "10.0.0.2..10.0.0.127");
	assert_string_equal(e, "10.0.0.1 10.0.0.128..10.0.0.254");
	assert_int_equal(
	    backend_ip_range("10.0.0.0/24", "10.0.0.64/26", "10.0.0.70", al, &na, ex, &ne, NULL),
	    0);
	span_text(al, na, a, sizeof(a));
	span_text(ex, ne, e, sizeof(e));
	assert_string_equal(a, "10.0.0.64..10.0.0.69 10.0.0.71..10.0.0.127");
	assert_string_equal(e, "10.0.0.70 10.0.0.1..10.0.0.63 10.0.0.128..10.0.0.254");
	/* Not within the subnet, wider than it, or nothing to hand out. */
	assert_int_equal(
	    backend_ip_range("10.0.0.0/24", "10.0.1.0/25", NULL, al, &na, ex, &ne, NULL), -EINVAL);
	assert_int_equal(
	    backend_ip_range("10.0.0.0/24", "10.0.0.0/23", NULL, al, &na, ex, &ne, NULL), -EINVAL);
	assert_int_equal(
	    backend_ip_range("10.0.0.0/24", "10.0.0.255/32", NULL, al, &na, ex, &ne, NULL),
	    -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canon),	   cmocka_unit_test(test_ip6_in_prefix),
		cmocka_unit_test(test_parse),	   cmocka_unit_test(test_check),
		cmocka_unit_test(test_port_addrs), cmocka_unit_test(test_pairs_apply),
		cmocka_unit_test(test_ip_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
