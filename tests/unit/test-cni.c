/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for the CNI spec helpers: version handling, CNI_IFNAME and
 * CNI_CONTAINERID validation, opening CNI_NETNS, error objects and the ADD
 * result as each supported cniVersion shapes it. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "cni/cni.h"
#include "json-util.h"
#include "macro.h"

/* ---- versions ---- */

static void test_supported_versions(void **state)
{
	_cleanup_json_ json_t *a = cni_supported_versions();

	assert_non_null(a);
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 3);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "0.4.0");
	assert_string_equal(json_string_value(json_array_get(a, 1)), "1.0.0");
	assert_string_equal(json_string_value(json_array_get(a, 2)), "1.1.0");
	/* The latest we advertise must be one we accept. */
	assert_true(cni_version_supported(CNI_VERSION_LATEST));
}

static void test_version_supported(void **state)
{
	assert_true(cni_version_supported("0.4.0"));
	assert_true(cni_version_supported("1.0.0"));
	assert_true(cni_version_supported("1.1.0"));

	assert_false(cni_version_supported(NULL));
	assert_false(cni_version_supported(""));
	assert_false(cni_version_supported("0.3.1"));
	assert_false(cni_version_supported("0.2.0"));
	assert_false(cni_version_supported("1.2.0"));
	assert_false(cni_version_supported("1.0"));
	assert_false(cni_version_supported("1.0.0 "));
	assert_false(cni_version_supported(" 1.0.0"));
	assert_false(cni_version_supported("v1.0.0"));
}

static void test_version_cmp(void **state)
{
	assert_int_equal(cni_version_cmp("1.0.0", "1.0.0"), 0);
	assert_int_equal(cni_version_cmp("0.4.0", "1.0.0"), -1);
	assert_int_equal(cni_version_cmp("1.0.0", "0.4.0"), 1);
	assert_int_equal(cni_version_cmp("1.0.0", "1.1.0"), -1);
	assert_int_equal(cni_version_cmp("1.1.0", "1.0.0"), 1);
	assert_int_equal(cni_version_cmp("1.1.0", "1.1.1"), -1);
	assert_int_equal(cni_version_cmp("1.1.1", "1.1.0"), 1);
	assert_int_equal(cni_version_cmp("0.3.1", "0.4.0"), -1);
	/* Numeric, not lexical. */
	assert_int_equal(cni_version_cmp("1.10.0", "1.9.0"), 1);
	assert_int_equal(cni_version_cmp("0.9.0", "0.10.0"), -1);
	assert_int_equal(cni_version_cmp("10.0.0", "9.9.9"), 1);
	/* Missing components count as zero. */
	assert_int_equal(cni_version_cmp("1.0", "1.0.0"), 0);
	assert_int_equal(cni_version_cmp("1", "1.0.0"), 0);
}

/* ---- CNI_IFNAME ---- */

/* Expect @name to be rejected with a message that contains @needle. */
static void expect_bad_ifname(const char *name, const char *needle)
{
	_cleanup_free_ char *msg = NULL;

	assert_int_equal(cni_ifname_check(name, &msg), -EINVAL);
	assert_non_null(msg);
	if (!strstr(msg, needle))
		fail_msg("ifname \"%s\": message \"%s\" does not mention \"%s\"",
			 name ? name : "(null)", msg, needle);
}

static void test_ifname_valid(void **state)
{
	_cleanup_free_ char *msg = NULL;

	assert_int_equal(cni_ifname_check("eth0", &msg), 0);
	assert_int_equal(cni_ifname_check("a", &msg), 0);
	assert_int_equal(cni_ifname_check("net1.100", &msg), 0);
	assert_int_equal(cni_ifname_check("eth-0_x", &msg), 0);
	assert_int_equal(cni_ifname_check("...", &msg), 0);
	assert_int_equal(cni_ifname_check(".a", &msg), 0);
	/* 15 bytes is the kernel's limit (IFNAMSIZ - 1). */
	assert_int_equal(cni_ifname_check("abcdefghijklmno", &msg), 0);
	assert_null(msg);
	/* A NULL message pointer is allowed. */
	assert_int_equal(cni_ifname_check("eth0", NULL), 0);
	assert_int_equal(cni_ifname_check("", NULL), -EINVAL);
}

static void test_ifname_empty(void **state)
{
	expect_bad_ifname("", "empty");
	expect_bad_ifname(NULL, "empty");
}

static void test_ifname_too_long(void **state)
{
	/* 16 bytes: one too many. The message names the length and limit. */
	expect_bad_ifname("abcdefghijklmnop", "16 bytes");
	expect_bad_ifname("abcdefghijklmnop", "15");
	expect_bad_ifname("abcdefghijklmnopqrstuvwxyz", "26 bytes");
}

static void test_ifname_dots(void **state)
{
	expect_bad_ifname(".", "not a valid interface name");
	expect_bad_ifname("..", "not a valid interface name");
	expect_bad_ifname("..", "\"..\"");
}

static void test_ifname_bad_chars(void **state)
{
	expect_bad_ifname("eth/0", "'/'");
	expect_bad_ifname("/", "'/'");
	expect_bad_ifname("eth0:1", "':'");
	expect_bad_ifname("eth 0", "' '");
	expect_bad_ifname(" eth0", "' '");
	expect_bad_ifname("eth0 ", "' '");
	expect_bad_ifname("eth\t0", "'\t'");
	expect_bad_ifname("eth\n0", "'\n'");
	/* The name itself is quoted in the message too. */
	expect_bad_ifname("eth/0", "\"eth/0\"");
}

/* ---- CNI_CONTAINERID ---- */

static void test_container_id(void **state)
{
	char id[300];
	_cleanup_free_ char *msg = NULL;

	assert_int_equal(cni_container_id_check("abc", NULL), 0);
	assert_int_equal(cni_container_id_check("0123456789abcdef", NULL), 0);
	assert_int_equal(cni_container_id_check("My_Container.1-2", NULL), 0);
	assert_int_equal(cni_container_id_check("a", NULL), 0);

	memset(id, 'a', sizeof(id));
	id[256] = '\0';
	assert_int_equal(cni_container_id_check(id, &msg), 0);
	assert_null(msg);

	id[256] = 'a';
	id[257] = '\0';
	assert_int_equal(cni_container_id_check(id, &msg), -EINVAL);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "257"));
	assert_non_null(strstr(msg, "256"));
	free(TAKE_PTR(msg));

	assert_int_equal(cni_container_id_check("", &msg), -EINVAL);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "empty"));
	free(TAKE_PTR(msg));

	assert_int_equal(cni_container_id_check(NULL, &msg), -EINVAL);
	assert_non_null(strstr(msg, "empty"));
	free(TAKE_PTR(msg));

	static const char *const bad[] = { "a/b",  "a b",  "a:b",  "a;b",  "a$b",
					   "a\nb", "a\\b", "../x", "a\"b", "a*b" };
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		char quoted[8];

		assert_int_equal(cni_container_id_check(bad[i], &msg), -EINVAL);
		assert_non_null(msg);
		snprintf(quoted, sizeof(quoted), "'%c'", strpbrk(bad[i], "/ :;$\n\\\"*")[0]);
		if (!strstr(msg, quoted))
			fail_msg("id \"%s\": message \"%s\" does not name %s", bad[i], msg, quoted);
		free(TAKE_PTR(msg));
	}
}

/* ---- error object ---- */

static void test_error_new(void **state)
{
	_cleanup_json_ json_t *e = cni_error_new("1.0.0", CNI_ERR_TRY_AGAIN, "busy", "try later");
	_cleanup_json_ json_t *e2 = NULL, *e3 = NULL;

	assert_non_null(e);
	assert_int_equal(json_object_size(e), 4);
	assert_string_equal(json_object_get_str(e, "cniVersion"), "1.0.0");
	assert_true(json_is_integer(json_object_get(e, "code")));
	assert_int_equal(json_integer_value(json_object_get(e, "code")), 11);
	assert_string_equal(json_object_get_str(e, "msg"), "busy");
	assert_string_equal(json_object_get_str(e, "details"), "try later");

	/* No version: the latest; no or empty details: no key. */
	e2 = cni_error_new(NULL, KURYR_ERR_BACKEND, "backend failed", NULL);
	assert_non_null(e2);
	assert_int_equal(json_object_size(e2), 3);
	assert_string_equal(json_object_get_str(e2, "cniVersion"), CNI_VERSION_LATEST);
	assert_int_equal(json_integer_value(json_object_get(e2, "code")), 102);
	assert_string_equal(json_object_get_str(e2, "msg"), "backend failed");
	assert_null(json_object_get(e2, "details"));

	e3 = cni_error_new("0.4.0", CNI_ERR_INCOMPATIBLE_VERSION, NULL, "");
	assert_non_null(e3);
	assert_string_equal(json_object_get_str(e3, "cniVersion"), "0.4.0");
	assert_int_equal(json_integer_value(json_object_get(e3, "code")), 1);
	assert_string_equal(json_object_get_str(e3, "msg"), "");
	assert_null(json_object_get(e3, "details"));
}

static void test_error_codes(void **state)
{
	/* Fixed by the CNI spec; runtimes interpret them. */
	assert_int_equal(CNI_ERR_INCOMPATIBLE_VERSION, 1);
	assert_int_equal(CNI_ERR_UNSUPPORTED_FIELD, 2);
	assert_int_equal(CNI_ERR_UNKNOWN_CONTAINER, 3);
	assert_int_equal(CNI_ERR_INVALID_ENV, 4);
	assert_int_equal(CNI_ERR_IO, 5);
	assert_int_equal(CNI_ERR_DECODE, 6);
	assert_int_equal(CNI_ERR_INVALID_CONFIG, 7);
	assert_int_equal(CNI_ERR_TRY_AGAIN, 11);
	assert_int_equal(CNI_ERR_NOT_AVAILABLE, 50);
	assert_int_equal(CNI_ERR_LIMITED_CONNECTIVITY, 51);
	assert_true(KURYR_ERR_ALREADY_ATTACHED >= 100);
}

/* ---- ADD result ---- */

static struct cni_attach_result sample_v4(bool gateway)
{
	struct cni_attach_result a = {
		.host_ifname = "tap0123456789a",
		.host_mac = "02:00:00:00:00:01",
		.ifname = "eth0",
		.mac = "02:00:00:00:00:02",
		.mtu = 1442,
		.sandbox = "/var/run/netns/cni-1234",
		.ips = { { .family = AF_INET, .address = "10.0.0.5/24" } },
		.n_ips = 1,
	};

	if (gateway)
		strcpy(a.ips[0].gateway, "10.0.0.1");
	return a;
}

static struct cni_attach_result sample_v6(void)
{
	struct cni_attach_result a = {
		.host_ifname = "tapv6",
		.host_mac = "02:00:00:00:00:11",
		.ifname = "net1",
		.mac = "02:00:00:00:00:12",
		.mtu = 1400,
		.sandbox = "/proc/4242/ns/net",
		.ips = { { .family = AF_INET6, .address = "fd00::5/64", .gateway = "fd00::1" } },
		.n_ips = 1,
	};

	return a;
}

/* Checks shared by every version. */
static void check_result_common(const json_t *r, const char *version,
				const struct cni_attach_result *a)
{
	json_t *ifs, *host, *cont, *ips, *ip;

	assert_non_null(r);
	assert_string_equal(json_object_get_str(r, "cniVersion"), version);

	ifs = json_object_get(r, "interfaces");
	assert_true(json_is_array(ifs));
	assert_int_equal(json_array_size(ifs), 2);
	host = json_array_get(ifs, 0);
	cont = json_array_get(ifs, 1);
	assert_string_equal(json_object_get_str(host, "name"), a->host_ifname);
	assert_string_equal(json_object_get_str(host, "mac"), a->host_mac);
	/* The host side is not in a sandbox; the container side is. */
	assert_null(json_object_get(host, "sandbox"));
	assert_string_equal(json_object_get_str(cont, "name"), a->ifname);
	assert_string_equal(json_object_get_str(cont, "mac"), a->mac);
	assert_string_equal(json_object_get_str(cont, "sandbox"), a->sandbox);

	ips = json_object_get(r, "ips");
	assert_true(json_is_array(ips));
	assert_int_equal(json_array_size(ips), a->n_ips);
	for (unsigned i = 0; i < a->n_ips; i++) {
		ip = json_array_get(ips, i);
		assert_string_equal(json_object_get_str(ip, "address"), a->ips[i].address);
		/* Index into interfaces[]: the container side. */
		assert_true(json_is_integer(json_object_get(ip, "interface")));
		assert_int_equal(json_integer_value(json_object_get(ip, "interface")), 1);
	}

	assert_true(json_is_array(json_object_get(r, "routes")));
	assert_true(json_is_object(json_object_get(r, "dns")));
}

static void check_no_mtu(const json_t *r)
{
	json_t *ifs = json_object_get(r, "interfaces");

	assert_null(json_object_get(json_array_get(ifs, 0), "mtu"));
	assert_null(json_object_get(json_array_get(ifs, 1), "mtu"));
}

static void check_default_route(const json_t *r, const char *dst, const char *gw)
{
	json_t *routes = json_object_get(r, "routes");
	json_t *rt;

	assert_int_equal(json_array_size(routes), 1);
	rt = json_array_get(routes, 0);
	assert_int_equal(json_object_size(rt), 2);
	assert_string_equal(json_object_get_str(rt, "dst"), dst);
	assert_string_equal(json_object_get_str(rt, "gw"), gw);
	assert_string_equal(
	    json_object_get_str(json_array_get(json_object_get(r, "ips"), 0), "gateway"), gw);
}

static void test_result_040(void **state)
{
	struct cni_attach_result a = sample_v4(true);
	_cleanup_json_ json_t *r = cni_result_new("0.4.0", &a, NULL);
	json_t *ip;

	check_result_common(r, "0.4.0", &a);
	ip = json_array_get(json_object_get(r, "ips"), 0);
	assert_string_equal(json_object_get_str(ip, "version"), "4");
	check_no_mtu(r);
	check_default_route(r, "0.0.0.0/0", "10.0.0.1");
	/* No dns given: an empty object. */
	assert_int_equal(json_object_size(json_object_get(r, "dns")), 0);
}

static void test_result_040_v6(void **state)
{
	struct cni_attach_result a = sample_v6();
	_cleanup_json_ json_t *r = cni_result_new("0.4.0", &a, NULL);
	json_t *ip;

	check_result_common(r, "0.4.0", &a);
	ip = json_array_get(json_object_get(r, "ips"), 0);
	assert_string_equal(json_object_get_str(ip, "version"), "6");
	check_default_route(r, "::/0", "fd00::1");
}

static void test_result_100(void **state)
{
	struct cni_attach_result a = sample_v4(true);
	_cleanup_json_ json_t *r = cni_result_new("1.0.0", &a, NULL);
	json_t *ip;

	check_result_common(r, "1.0.0", &a);
	ip = json_array_get(json_object_get(r, "ips"), 0);
	assert_null(json_object_get(ip, "version"));
	check_no_mtu(r);
	check_default_route(r, "0.0.0.0/0", "10.0.0.1");
}

static void test_result_110(void **state)
{
	struct cni_attach_result a = sample_v4(true);
	_cleanup_json_ json_t *r = cni_result_new("1.1.0", &a, NULL);
	json_t *ifs, *ip;

	check_result_common(r, "1.1.0", &a);
	ip = json_array_get(json_object_get(r, "ips"), 0);
	assert_null(json_object_get(ip, "version"));
	ifs = json_object_get(r, "interfaces");
	for (size_t i = 0; i < 2; i++) {
		json_t *mtu = json_object_get(json_array_get(ifs, i), "mtu");

		assert_true(json_is_integer(mtu));
		assert_int_equal(json_integer_value(mtu), 1442);
	}
	check_default_route(r, "0.0.0.0/0", "10.0.0.1");
}

static void test_result_110_v6(void **state)
{
	struct cni_attach_result a = sample_v6();
	_cleanup_json_ json_t *r = cni_result_new("1.1.0", &a, NULL);

	check_result_common(r, "1.1.0", &a);
	assert_null(json_object_get(json_array_get(json_object_get(r, "ips"), 0), "version"));
	assert_int_equal(json_integer_value(json_object_get(
			     json_array_get(json_object_get(r, "interfaces"), 1), "mtu")),
			 1400);
	check_default_route(r, "::/0", "fd00::1");
}

/* Dual stack: one "ips" entry per family on the same interface, each with
 * its gateway; a default route per family that has one (0.4.0 also says
 * which family each is). */
static void test_result_dual_stack(void **state)
{
	static const char *const versions[] = { "0.4.0", "1.0.0", "1.1.0" };

	for (size_t i = 0; i < ELEMENTSOF(versions); i++) {
		struct cni_attach_result a = sample_v4(true);
		_cleanup_json_ json_t *r = NULL;
		json_t *ips, *routes;

		a.ips[1] = (struct cni_ip){ .family = AF_INET6,
					    .address = "fd00:1::5/64",
					    .gateway = "fd00:1::1" };
		a.n_ips = 2;
		r = cni_result_new(versions[i], &a, NULL);
		check_result_common(r, versions[i], &a);
		ips = json_object_get(r, "ips");
		assert_string_equal(json_object_get_str(json_array_get(ips, 1), "gateway"),
				    "fd00:1::1");
		if (i == 0) {
			assert_string_equal(json_object_get_str(json_array_get(ips, 0), "version"),
					    "4");
			assert_string_equal(json_object_get_str(json_array_get(ips, 1), "version"),
					    "6");
		} else
			assert_null(json_object_get(json_array_get(ips, 1), "version"));
		routes = json_object_get(r, "routes");
		assert_int_equal(json_array_size(routes), 2);
		assert_string_equal(json_object_get_str(json_array_get(routes, 0), "dst"),
				    "0.0.0.0/0");
		assert_string_equal(json_object_get_str(json_array_get(routes, 1), "dst"), "::/0");
		assert_string_equal(json_object_get_str(json_array_get(routes, 1), "gw"),
				    "fd00:1::1");

		/* An IPv6 subnet without a gateway: its address, no route. */
		a.ips[1].gateway[0] = 0;
		json_decref(r);
		r = cni_result_new(versions[i], &a, NULL);
		assert_int_equal(json_array_size(json_object_get(r, "ips")), 2);
		assert_null(
		    json_object_get(json_array_get(json_object_get(r, "ips"), 1), "gateway"));
		assert_int_equal(json_array_size(json_object_get(r, "routes")), 1);
	}
}

static void test_result_110_no_mtu(void **state)
{
	struct cni_attach_result a = sample_v4(true);
	_cleanup_json_ json_t *r = NULL;

	/* An unknown MTU is left out rather than reported as 0. */
	a.mtu = 0;
	r = cni_result_new("1.1.0", &a, NULL);
	check_result_common(r, "1.1.0", &a);
	check_no_mtu(r);
}

static void test_result_no_gateway(void **state)
{
	static const char *const versions[] = { "0.4.0", "1.0.0", "1.1.0" };

	for (size_t i = 0; i < ELEMENTSOF(versions); i++) {
		struct cni_attach_result a = sample_v4(false);
		_cleanup_json_ json_t *r = cni_result_new(versions[i], &a, NULL);
		json_t *ip;

		check_result_common(r, versions[i], &a);
		assert_int_equal(json_array_size(json_object_get(r, "routes")), 0);
		ip = json_array_get(json_object_get(r, "ips"), 0);
		assert_null(json_object_get(ip, "gateway"));
	}
}

static void test_result_dns_copied(void **state)
{
	struct cni_attach_result a = sample_v4(true);
	_cleanup_json_ json_t *dns =
	    json_pack("{s:[s,s], s:s, s:[s]}", "nameservers", "10.0.0.2", "10.0.0.3", "domain",
		      "cluster.local", "search", "svc.cluster.local");
	_cleanup_json_ json_t *r = NULL, *expect = NULL;
	json_t *got;

	assert_non_null(dns);
	expect = json_deep_copy(dns);
	r = cni_result_new("1.0.0", &a, dns);
	check_result_common(r, "1.0.0", &a);
	got = json_object_get(r, "dns");
	assert_true(json_equal(got, expect));
	/* A copy, not a reference: the caller's object is neither shared nor
	 * changed by later edits to the result. */
	assert_ptr_not_equal(got, dns);
	json_object_set_new(got, "domain", json_string("changed"));
	assert_string_equal(json_object_get_str(dns, "domain"), "cluster.local");
}

/* ---- CNI_NETNS ---- */

static void test_netns_open_ok(void **state)
{
	_cleanup_free_ char *msg = NULL;
	_cleanup_close_ int fd = -1;
	struct stat want, got;

	/* The netns this test runs in, by identity. */
	assert_int_equal(cni_netns_open("/proc/self/ns/net", &fd, &msg), 0);
	assert_null(msg);
	assert_true(fd >= 0);
	assert_int_equal(stat("/proc/self/ns/net", &want), 0);
	assert_int_equal(fstat(fd, &got), 0);
	assert_int_equal(want.st_dev, got.st_dev);
	assert_int_equal(want.st_ino, got.st_ino);
	/* Not inherited by anything kuryr-cni might exec. */
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(cni_netns_check(fd, &msg), 0);
	assert_null(msg);
}

/* cni_netns_open(@path) fails with @err and a message containing @want,
 * leaving the out-parameter alone. */
static void expect_netns_fail(const char *path, int err, const char *want)
{
	_cleanup_free_ char *msg = NULL;
	int fd = 1234;

	assert_int_equal(cni_netns_open(path, &fd, &msg), err);
	assert_int_equal(fd, 1234);
	assert_non_null(msg);
	if (!strstr(msg, want))
		fail_msg("%s: message \"%s\" lacks \"%s\"", path ? path : "(null)", msg, want);
}

static void test_netns_open_bad(void **state)
{
	char dir[] = "/tmp/kuryr-test-cni-XXXXXX", path[64];
	int fd;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing", dir);
	expect_netns_fail(path, -ENOENT, "path does not exist");

	/* A regular file, as a runtime's stale path might be. */
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	expect_netns_fail(path, -EINVAL, "not a network namespace");
	assert_int_equal(unlink(path), 0);

	/* A FIFO: refused, without waiting for a writer. */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	expect_netns_fail(path, -EINVAL, "not a network namespace");
	assert_int_equal(unlink(path), 0);

	/* A directory, and namespaces of other kinds (nsfs, not CLONE_NEWNET). */
	expect_netns_fail(dir, -EINVAL, "not a network namespace");
	assert_int_equal(rmdir(dir), 0);
	expect_netns_fail("/proc/self/ns/mnt", -EINVAL, "not a network namespace");
	expect_netns_fail("/proc/self/ns/uts", -EINVAL, "not a network namespace");

	expect_netns_fail("", -EINVAL, "not set");
	expect_netns_fail(NULL, -EINVAL, "not set");
}

static void test_netns_check_fd(void **state)
{
	_cleanup_free_ char *msg = NULL;
	int p[2];

	/* What kuryrd checks on a descriptor it was passed. */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(cni_netns_check(p[0], &msg), -EINVAL);
	assert_non_null(msg);
	assert_string_equal(msg, "not a network namespace");
	close(p[0]);
	close(p[1]);
	assert_int_equal(cni_netns_check(p[0], NULL), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_supported_versions), cmocka_unit_test(test_version_supported),
		cmocka_unit_test(test_version_cmp),	   cmocka_unit_test(test_ifname_valid),
		cmocka_unit_test(test_ifname_empty),	   cmocka_unit_test(test_ifname_too_long),
		cmocka_unit_test(test_ifname_dots),	   cmocka_unit_test(test_ifname_bad_chars),
		cmocka_unit_test(test_container_id),	   cmocka_unit_test(test_error_new),
		cmocka_unit_test(test_error_codes),	   cmocka_unit_test(test_result_040),
		cmocka_unit_test(test_result_040_v6),	   cmocka_unit_test(test_result_100),
		cmocka_unit_test(test_result_110),	   cmocka_unit_test(test_result_110_v6),
		cmocka_unit_test(test_result_110_no_mtu),  cmocka_unit_test(test_result_dual_stack),
		cmocka_unit_test(test_result_no_gateway),  cmocka_unit_test(test_result_dns_copied),
		cmocka_unit_test(test_netns_open_ok),	   cmocka_unit_test(test_netns_open_bad),
		cmocka_unit_test(test_netns_check_fd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
