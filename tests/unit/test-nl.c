/* SPDX-License-Identifier: Apache-2.0 */
/* Real-kernel tests of the rtnetlink layer (src/nl). Everything is made inside
 * two network namespaces created for the run (kc-nltest-<pid>-a and -b) and
 * deleted at the end; every link is named "kct…" so leftovers are findable.
 * The root namespace is only ever read. Needs root (skips otherwise). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "macro.h"
#include "nl/nl.h"

enum {
	NS_A,
	NS_B,
	NS_COUNT
};

static struct testbed {
	char skip_reason[512]; /* the environment cannot run these tests */
	char setup_error[512]; /* our own code failed during setup */
	char name[NS_COUNT][64];
	char path[NS_COUNT][128];
	bool made[NS_COUNT];
	int fd[NS_COUNT];
	struct nl_sock *sk[NS_COUNT];
} tb = { .fd = { -1, -1 } };

static const uint8_t test_mac[6] = { 0x02, 0x6b, 0x63, 0x74, 0x00, 0x01 };

/* ---- helpers ------------------------------------------------------------ */

static void need_testbed(void)
{
	if (tb.skip_reason[0]) {
		printf("# skipped: %s\n", tb.skip_reason);
		fflush(stdout);
		skip();
	}
	if (tb.setup_error[0])
		fail_msg("testbed setup failed: %s", tb.setup_error);
}

static int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

static bool cmd_output_contains(const char *cmd, const char *needle)
{
	char line[512];
	bool found = false;
	FILE *f = popen(cmd, "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			found = true;
	pclose(f);
	return found;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Make veth @a in namespace A with its peer @b created in namespace B. */
static void veth_ab(const char *a, const char *b, const uint8_t *mac, uint32_t mtu)
{
	_cleanup_free_ char *err = NULL;
	int r = nl_veth_add(tb.sk[NS_A], a, b, tb.fd[NS_B], mac, mtu, &err);

	if (r != 0)
		fail_msg("nl_veth_add(%s, %s): %s (%s)", a, b, strerror(-r), err ? err : "-");
}

static struct nl_link_info link_get_ok(int ns, const char *name)
{
	struct nl_link_info l;
	int r = nl_link_get(tb.sk[ns], name, &l);

	if (r != 0)
		fail_msg("nl_link_get(%s) in ns %d: %s", name, ns, strerror(-r));
	assert_string_equal(l.name, name);
	return l;
}

static int del_kct_cb(const struct nl_link_info *l, void *userdata)
{
	struct nl_sock *s = userdata;
	int r;

	if (strncmp(l->name, "kct", 3) != 0)
		return 0;
	/* Deleting one end of a veth takes its peer with it. */
	r = nl_link_del(s, l->name, NULL);
	return r == -ENODEV ? 0 : r;
}

/* Per-test setup and teardown: no "kct" link survives a test, even one that
 * failed half-way. */
static int flush_links(void **state)
{
	for (int i = 0; i < NS_COUNT; i++)
		if (tb.sk[i] && nl_link_foreach(tb.sk[i], del_kct_cb, tb.sk[i]) < 0)
			return -1;
	return 0;
}

static int group_setup(void **state)
{
	if (geteuid() != 0) {
		snprintf(tb.skip_reason, sizeof(tb.skip_reason),
			 "needs root to create network namespaces (euid=%u)", (unsigned)geteuid());
		return 0;
	}
	for (int i = 0; i < NS_COUNT; i++) {
		char cmd[128];
		int r;

		snprintf(tb.name[i], sizeof(tb.name[i]), "kc-nltest-%d-%c", (int)getpid(), 'a' + i);
		snprintf(tb.path[i], sizeof(tb.path[i]), "/run/netns/%s", tb.name[i]);
		snprintf(cmd, sizeof(cmd), "ip netns add %s", tb.name[i]);
		if (system(cmd) != 0) {
			snprintf(tb.skip_reason, sizeof(tb.skip_reason),
				 "'%s' failed: no netns support or no iproute2", cmd);
			return 0;
		}
		tb.made[i] = true;
		r = nl_netns_open(tb.path[i], &tb.fd[i]);
		if (r == 0)
			r = nl_sock_open_netns(tb.fd[i], &tb.sk[i]);
		if (r < 0) {
			snprintf(tb.setup_error, sizeof(tb.setup_error), "netns %s: %s", tb.path[i],
				 strerror(-r));
			return 0;
		}
	}
	return 0;
}

static int group_teardown(void **state)
{
	int ret = 0;

	for (int i = 0; i < NS_COUNT; i++) {
		char cmd[256];

		nl_sock_free(tb.sk[i]);
		tb.sk[i] = NULL;
		if (tb.fd[i] >= 0)
			close(tb.fd[i]);
		tb.fd[i] = -1;
		if (!tb.made[i])
			continue;
		snprintf(cmd, sizeof(cmd), "ip netns del %s", tb.name[i]);
		if (system(cmd) != 0) {
			fprintf(stderr, "# could not delete netns %s\n", tb.name[i]);
			ret = -1;
		}
		tb.made[i] = false;
	}
	return ret;
}

/* ---- namespaces --------------------------------------------------------- */

static void test_netns_open(void **state)
{
	char tmpl[] = "/tmp/kct-nltest-XXXXXX";
	int fd = -1, free_fd, tmp;

	/* Needs no privileges: runs even when the rest is skipped. */
	assert_int_equal(nl_netns_open("/proc/self/ns/net", &fd), 0);
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	close(fd);

	fd = -1;
	free_fd = lowest_free_fd();
	assert_int_equal(nl_netns_open("/proc/self/ns/uts", &fd), -EINVAL);
	assert_int_equal(fd, -1);
	assert_int_equal(nl_netns_open("/nonexistent", &fd), -ENOENT);
	assert_int_equal(fd, -1);

	tmp = mkstemp(tmpl);
	assert_true(tmp >= 0);
	close(tmp);
	free_fd = lowest_free_fd();
	assert_int_equal(nl_netns_open(tmpl, &fd), -EINVAL);
	unlink(tmpl);
	assert_int_equal(fd, -1);
	/* The rejected file was closed again. */
	assert_int_equal(lowest_free_fd(), free_fd);

	assert_int_equal(nl_netns_open(NULL, &fd), -EINVAL);
}

static void test_open_netns_keeps_thread_netns(void **state)
{
	_cleanup_(nl_sock_freep) struct nl_sock *s = NULL, *root = NULL;
	struct stat before, after, target;
	struct nl_link_info l;
	_cleanup_close_ int uts = -1;

	need_testbed();
	assert_int_equal(stat("/proc/thread-self/ns/net", &before), 0);
	assert_int_equal(nl_sock_open_netns(tb.fd[NS_A], &s), 0);
	assert_int_equal(stat("/proc/thread-self/ns/net", &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(before.st_dev, after.st_dev);
	assert_int_equal(stat(tb.path[NS_A], &target), 0);
	assert_true(target.st_ino != before.st_ino);

	/* The socket really lives in A: what it makes is seen there, not in
	 * the caller's namespace (only read). */
	assert_int_equal(nl_veth_add(s, "kctp0", "kctp1", -1, NULL, 0, NULL), 0);
	link_get_ok(NS_A, "kctp0");
	link_get_ok(NS_A, "kctp1");
	assert_int_equal(nl_sock_open(&root), 0);
	assert_int_equal(nl_link_get(root, "kctp0", &l), -ENODEV);

	/* setns() refuses what is not a network namespace. */
	uts = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC);
	assert_true(uts >= 0);
	nl_sock_free(TAKE_PTR(s));
	assert_int_equal(nl_sock_open_netns(uts, &s), -EINVAL);
	assert_null(s);
	assert_int_equal(nl_sock_open_netns(-1, &s), -EINVAL);
}

/* How many mounts sit on @path in this mount namespace, hidden ones too. */
static int mounts_on(const char *path)
{
	char line[4096];
	int n = 0;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char mnt[1024];

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... */
		if (sscanf(line, "%*s %*s %*s %*s %1023s", mnt) == 1 && strcmp(mnt, path) == 0)
			n++;
	}
	fclose(f);
	return n;
}

/* The child's checks: print why, and make the child fail. */
#define CHILD_CHECK(cond, ...)                    \
	do {                                      \
		if (!(cond)) {                    \
			printf("# " __VA_ARGS__); \
			printf("\n");             \
			fflush(stdout);           \
			return 1;                 \
		}                                 \
	} while (0)

static int fresh_run_child(const char *ours, const char *other)
{
	char path[128], cmd[256];
	int fd = -1, r;

	snprintf(path, sizeof(path), "/run/netns/%s", ours);
	/* A machine whose /run/netns was never made a mount point: a tmpfs
	 * /run of our own, in a mount namespace that propagates nothing out. */
	CHILD_CHECK(unshare(CLONE_NEWNS) == 0, "unshare(CLONE_NEWNS): %m");
	CHILD_CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, "private /: %m");
	CHILD_CHECK(mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") == 0, "tmpfs on /run: %m");
	CHILD_CHECK(access("/run/netns", F_OK) < 0, "/run/netns exists on a fresh /run");

	r = nl_netns_create(ours, &fd);
	CHILD_CHECK(r == 0, "nl_netns_create(%s): %s", ours, strerror(-r));
	close(fd);
	/* A second create opens the one there. */
	r = nl_netns_create(ours, &fd);
	CHILD_CHECK(r == 0, "nl_netns_create(%s) again: %s", ours, strerror(-r));
	close(fd);

	/* iproute2 makes /run/netns a mount of its own when it is not yet
	 * one, which hid a namespace bind-mounted on the plain directory. */
	snprintf(cmd, sizeof(cmd), "ip netns add %s", other);
	CHILD_CHECK(system(cmd) == 0, "'%s' failed", cmd);
	snprintf(cmd, sizeof(cmd), "ip netns list | grep -qx '%s\\( .*\\)\\?'", ours);
	CHILD_CHECK(system(cmd) == 0, "'ip netns list' does not show %s", ours);
	snprintf(cmd, sizeof(cmd), "ip netns exec %s true", ours);
	CHILD_CHECK(system(cmd) == 0, "'%s' failed", cmd);
	snprintf(cmd, sizeof(cmd), "ip netns del %s", ours);
	CHILD_CHECK(system(cmd) == 0, "'%s' failed", cmd);
	CHILD_CHECK(mounts_on(path) == 0, "%d mounts left on %s after 'ip netns del'",
		    mounts_on(path), path);
	CHILD_CHECK(access(path, F_OK) < 0 && errno == ENOENT, "%s is left after 'ip netns del'",
		    path);
	snprintf(cmd, sizeof(cmd), "ip netns del %s", other);
	CHILD_CHECK(system(cmd) == 0, "'%s' failed", cmd);
	return 0;
}

/* A named namespace made on a fresh machine survives iproute2's first
 * "ip netns add" and is deleted by "ip netns del" without a trace. */
static void test_netns_create_fresh_run(void **state)
{
	char ours[64], other[64];
	int status;
	pid_t pid;

	need_testbed();
	snprintf(ours, sizeof(ours), "kc-nltest-%d-ours", (int)getpid());
	snprintf(other, sizeof(other), "kc-nltest-%d-other", (int)getpid());
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fresh_run_child(ours, other));
	/* Whatever the child leaves goes with its mount namespace. */
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- links -------------------------------------------------------------- */

static void test_veth_peer_in_target_netns(void **state)
{
	struct nl_link_info a, b, l;

	need_testbed();
	veth_ab("kct0a", "kct0b", test_mac, 1400);

	a = link_get_ok(NS_A, "kct0a");
	assert_true(a.ifindex > 0);
	assert_string_equal(a.kind, "veth");
	assert_int_equal(a.mtu, 1400);
	assert_false(a.up);
	assert_int_equal(a.group, 0);
	assert_int_equal(nl_link_get(tb.sk[NS_A], "kct0b", &l), -ENODEV);

	b = link_get_ok(NS_B, "kct0b");
	assert_string_equal(b.kind, "veth");
	assert_int_equal(b.mtu, 1400);
	assert_memory_equal(b.mac, test_mac, sizeof(test_mac));
	assert_false(b.up);
	assert_int_equal(nl_link_get(tb.sk[NS_B], "kct0a", &l), -ENODEV);
}

/* A sysctl is written as the target namespace has it, and only there. */
static void test_netns_sysctl_write(void **state)
{
	char cmd[256];

	need_testbed();
	veth_ab("kct0a", "kct0b", test_mac, 0);
	assert_int_equal(nl_netns_sysctl_write(tb.fd[NS_B], "net/ipv6/conf/kct0b/autoconf", "0"),
			 0);
	snprintf(cmd, sizeof(cmd), "ip netns exec %s cat /proc/sys/net/ipv6/conf/kct0b/autoconf",
		 tb.name[NS_B]);
	assert_true(cmd_output_contains(cmd, "0"));
	snprintf(cmd, sizeof(cmd), "ip netns exec %s cat /proc/sys/net/ipv6/conf/kct0a/autoconf",
		 tb.name[NS_A]);
	assert_true(cmd_output_contains(cmd, "1"));
	/* kct0b is not in A. */
	assert_int_equal(nl_netns_sysctl_write(tb.fd[NS_A], "net/ipv6/conf/kct0b/autoconf", "0"),
			 -ENOENT);
	assert_int_equal(nl_netns_sysctl_write(tb.fd[NS_B], "../etc/passwd", "0"), -EINVAL);
	assert_int_equal(nl_netns_sysctl_write(tb.fd[NS_B], "/net/ipv6", "0"), -EINVAL);
}

static void test_veth_duplicate_is_eexist(void **state)
{
	_cleanup_free_ char *err = NULL;
	struct nl_link_info l;

	need_testbed();
	veth_ab("kct1a", "kct1b", NULL, 0);
	l = link_get_ok(NS_B, "kct1b");
	assert_int_equal(l.mtu, 1500); /* mtu 0: the kernel's default */

	assert_int_equal(nl_veth_add(tb.sk[NS_A], "kct1a", "kct1b", tb.fd[NS_B], NULL, 0, &err),
			 -EEXIST);
	/* Either name taken is enough, and nothing half-made stays. */
	assert_int_equal(nl_veth_add(tb.sk[NS_A], "kct1c", "kct1b", tb.fd[NS_B], NULL, 0, &err),
			 -EEXIST);
	assert_int_equal(nl_link_get(tb.sk[NS_A], "kct1c", &l), -ENODEV);
	assert_int_equal(nl_veth_add(tb.sk[NS_A], "kct1a", "kct1d", tb.fd[NS_B], NULL, 0, &err),
			 -EEXIST);
	assert_int_equal(nl_link_get(tb.sk[NS_B], "kct1d", &l), -ENODEV);

	/* Names are per namespace. */
	veth_ab("kct1e", "kct1e", NULL, 0);
	/* Bad names never reach the kernel. */
	assert_int_equal(nl_veth_add(tb.sk[NS_A], "kct-name-too-long", "kct1f", -1, NULL, 0, NULL),
			 -EINVAL);
	assert_int_equal(nl_veth_add(tb.sk[NS_A], "", "kct1f", -1, NULL, 0, NULL), -EINVAL);
}

static void test_link_set_up(void **state)
{
	struct nl_link_info l;

	need_testbed();
	veth_ab("kct2a", "kct2b", NULL, 0);
	l = link_get_ok(NS_A, "kct2a");
	assert_false(l.up);

	assert_int_equal(nl_link_set_up(tb.sk[NS_A], l.ifindex, true, NULL), 0);
	assert_true(link_get_ok(NS_A, "kct2a").up);
	assert_false(link_get_ok(NS_B, "kct2b").up);
	assert_int_equal(nl_link_set_up(tb.sk[NS_A], l.ifindex, false, NULL), 0);
	assert_false(link_get_ok(NS_A, "kct2a").up);

	/* An ifindex that does not exist. */
	assert_int_equal(nl_link_set_up(tb.sk[NS_A], 0x7ffffff0, true, NULL), -ENODEV);
}

/* Transmit checksum offload of @name in namespace @ns, read with
 * ETHTOOL_GTXCSUM by a thread sent into it: 1, 0, or -errno. */
struct txcsum_read {
	int netns_fd;
	const char *name;
	int r;
};

static void *txcsum_read_thread(void *arg)
{
	struct txcsum_read *t = arg;
	struct ethtool_value v = { .cmd = ETHTOOL_GTXCSUM };
	struct ifreq ifr = { .ifr_data = (void *)&v };
	int fd;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->name);
	if (setns(t->netns_fd, CLONE_NEWNET) < 0 || (fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
		t->r = -errno;
		return NULL;
	}
	t->r = ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? -errno : (int)v.data;
	close(fd);
	return NULL;
}

static int txcsum_of(int ns, const char *name)
{
	struct txcsum_read t = { .netns_fd = tb.fd[ns], .name = name, .r = -EIO };
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, txcsum_read_thread, &t), 0);
	pthread_join(th, NULL);
	return t.r;
}

static void test_link_tx_csum(void **state)
{
	char *err = NULL;

	need_testbed();
	veth_ab("kct6a", "kct6b", NULL, 0);
	assert_int_equal(txcsum_of(NS_B, "kct6b"), 1);

	/* Through the socket of the device's namespace, with no thread sent
	 * there; the peer keeps its own. */
	assert_int_equal(nl_link_set_tx_csum(tb.sk[NS_B], "kct6b", false, NULL), 0);
	assert_int_equal(txcsum_of(NS_B, "kct6b"), 0);
	assert_int_equal(txcsum_of(NS_A, "kct6a"), 1);
	assert_int_equal(nl_link_set_tx_csum(tb.sk[NS_B], "kct6b", true, NULL), 0);
	assert_int_equal(txcsum_of(NS_B, "kct6b"), 1);

	/* A name only the other namespace has. */
	assert_int_equal(nl_link_set_tx_csum(tb.sk[NS_A], "kct6b", false, &err), -ENODEV);
	assert_non_null(strstr(err, "kct6b"));
	free(err);
	assert_int_equal(nl_link_set_tx_csum(tb.sk[NS_A], "", false, NULL), -EINVAL);
}

static void test_link_rename_and_group(void **state)
{
	struct nl_link_info l, l2;

	need_testbed();
	veth_ab("kct3a", "kct3b", NULL, 0);
	l = link_get_ok(NS_A, "kct3a");
	assert_int_equal(nl_link_set_name(tb.sk[NS_A], l.ifindex, "kct3r", NULL), 0);
	l2 = link_get_ok(NS_A, "kct3r");
	assert_int_equal(l2.ifindex, l.ifindex);
	assert_int_equal(nl_link_get(tb.sk[NS_A], "kct3a", &l2), -ENODEV);

	assert_int_equal(nl_link_set_group(tb.sk[NS_A], l.ifindex, 7, NULL), 0);
	assert_int_equal(link_get_ok(NS_A, "kct3r").group, 7);

	/* Renaming onto a taken name. */
	veth_ab("kct3c", "kct3d", NULL, 0);
	assert_int_equal(nl_link_set_name(tb.sk[NS_A], l.ifindex, "kct3c", NULL), -EEXIST);
}

/* ---- addresses and routes ---------------------------------------------- */

struct addr_seen {
	bool v4, v6, other;
	int n;
};

static int addr_cb(int family, const void *addr, uint8_t prefixlen, void *userdata)
{
	static const uint8_t v4[4] = { 10, 99, 4, 1 };
	struct addr_seen *seen = userdata;
	uint8_t v6[16];

	inet_pton(AF_INET6, "fd00:99:4::1", v6);
	seen->n++;
	if (family == AF_INET && prefixlen == 24 && memcmp(addr, v4, 4) == 0)
		seen->v4 = true;
	else if (family == AF_INET6 && prefixlen == 64 && memcmp(addr, v6, 16) == 0)
		seen->v6 = true;
	else
		seen->other = true;
	return 0;
}

static void test_addr_add_and_dump(void **state)
{
	struct addr_seen seen = { 0 };
	_cleanup_free_ char *err = NULL;
	struct nl_link_info l;
	uint8_t v4[4], v6[16];
	char cmd[256];

	need_testbed();
	veth_ab("kct4a", "kct4b", NULL, 0);
	l = link_get_ok(NS_B, "kct4b");
	inet_pton(AF_INET, "10.99.4.1", v4);
	inet_pton(AF_INET6, "fd00:99:4::1", v6);

	assert_int_equal(nl_addr_add(tb.sk[NS_B], l.ifindex, AF_INET, v4, 24, &err), 0);
	assert_int_equal(nl_addr_add(tb.sk[NS_B], l.ifindex, AF_INET6, v6, 64, &err), 0);
	assert_int_equal(nl_addr_add(tb.sk[NS_B], l.ifindex, AF_INET, v4, 24, &err), -EEXIST);
	assert_int_equal(nl_addr_add(tb.sk[NS_B], l.ifindex, AF_INET, v4, 33, NULL), -EINVAL);
	assert_int_equal(nl_addr_add(tb.sk[NS_B], l.ifindex, AF_UNIX, v4, 8, NULL), -EAFNOSUPPORT);

	assert_int_equal(nl_addr_foreach(tb.sk[NS_B], l.ifindex, AF_UNSPEC, addr_cb, &seen), 0);
	assert_true(seen.v4);
	assert_true(seen.v6);
	assert_false(seen.other); /* the link is down: no fe80:: yet */

	seen = (struct addr_seen){ 0 };
	assert_int_equal(nl_addr_foreach(tb.sk[NS_B], l.ifindex, AF_INET, addr_cb, &seen), 0);
	assert_true(seen.v4);
	assert_false(seen.v6);
	assert_int_equal(seen.n, 1);

	/* Other links' addresses are not reported (lo has 127.0.0.1 once up,
	 * and kct4a has none). */
	seen = (struct addr_seen){ 0 };
	assert_int_equal(nl_addr_foreach(tb.sk[NS_A], link_get_ok(NS_A, "kct4a").ifindex, AF_UNSPEC,
					 addr_cb, &seen),
			 0);
	assert_int_equal(seen.n, 0);

	/* What iproute2 sees: the broadcast address and NODAD. */
	snprintf(cmd, sizeof(cmd), "ip -n %s -4 addr show dev kct4b", tb.name[NS_B]);
	assert_true(cmd_output_contains(cmd, "inet 10.99.4.1/24 brd 10.99.4.255"));
	snprintf(cmd, sizeof(cmd), "ip -n %s -6 addr show dev kct4b", tb.name[NS_B]);
	assert_true(cmd_output_contains(cmd, "nodad"));
}

struct route_want {
	int family;
	uint8_t dst[16];
	uint8_t dst_len;
	bool has_gw;
	uint8_t gw[16];
	int oif;
	uint8_t scope;
	bool found;
};

static int route_cb(const struct nl_route_info *r, void *userdata)
{
	struct route_want *w = userdata;
	size_t alen = w->family == AF_INET ? 4 : 16;

	if (r->family != w->family || r->table != RT_TABLE_MAIN || r->dst_len != w->dst_len ||
	    r->oif != w->oif || r->has_gw != w->has_gw)
		return 0;
	if (memcmp(r->dst, w->dst, alen) != 0 || (w->has_gw && memcmp(r->gw, w->gw, alen) != 0))
		return 0;
	if (r->protocol != RTPROT_BOOT || r->type != RTN_UNICAST || r->scope != w->scope)
		return 0;
	w->found = true;
	return 0;
}

static void test_route_add_and_dump(void **state)
{
	_cleanup_free_ char *err = NULL;
	struct nl_link_info a, b;
	uint8_t v4[4], gw4[4], net4[4], v6[16], gw6[16];
	struct route_want w;
	char cmd[256];
	int r;

	need_testbed();
	veth_ab("kct5a", "kct5b", NULL, 0);
	a = link_get_ok(NS_A, "kct5a");
	b = link_get_ok(NS_B, "kct5b");
	assert_int_equal(nl_link_set_up(tb.sk[NS_A], a.ifindex, true, NULL), 0);
	assert_int_equal(nl_link_set_up(tb.sk[NS_B], b.ifindex, true, NULL), 0);
	inet_pton(AF_INET, "10.99.5.1", v4);
	inet_pton(AF_INET, "10.99.5.254", gw4);
	inet_pton(AF_INET, "192.0.2.0", net4);
	inet_pton(AF_INET6, "fd00:99:5::1", v6);
	inet_pton(AF_INET6, "fd00:99:5::fe", gw6);
	assert_int_equal(nl_addr_add(tb.sk[NS_B], b.ifindex, AF_INET, v4, 24, NULL), 0);
	assert_int_equal(nl_addr_add(tb.sk[NS_B], b.ifindex, AF_INET6, v6, 64, NULL), 0);

	r = nl_route_add(tb.sk[NS_B], b.ifindex, AF_INET, NULL, 0, gw4, &err);
	if (r != 0)
		fail_msg("default route: %s (%s)", strerror(-r), err ? err : "-");
	assert_int_equal(nl_route_add(tb.sk[NS_B], b.ifindex, AF_INET, NULL, 0, gw4, NULL),
			 -EEXIST);
	r = nl_route_add(tb.sk[NS_B], b.ifindex, AF_INET6, NULL, 0, gw6, &err);
	if (r != 0)
		fail_msg("default v6 route: %s (%s)", strerror(-r), err ? err : "-");
	assert_int_equal(nl_route_add(tb.sk[NS_B], b.ifindex, AF_INET, net4, 24, NULL, NULL), 0);
	assert_int_equal(nl_route_add(tb.sk[NS_B], b.ifindex, AF_INET, NULL, 8, gw4, NULL),
			 -EINVAL);

	w = (struct route_want){
		.family = AF_INET, .has_gw = true, .oif = b.ifindex, .scope = RT_SCOPE_UNIVERSE
	};
	memcpy(w.gw, gw4, 4);
	assert_int_equal(nl_route_foreach(tb.sk[NS_B], AF_UNSPEC, route_cb, &w), 0);
	assert_true(w.found);

	w = (struct route_want){
		.family = AF_INET6, .has_gw = true, .oif = b.ifindex, .scope = RT_SCOPE_UNIVERSE
	};
	memcpy(w.gw, gw6, 16);
	assert_int_equal(nl_route_foreach(tb.sk[NS_B], AF_INET6, route_cb, &w), 0);
	assert_true(w.found);

	w = (struct route_want){
		.family = AF_INET, .dst_len = 24, .oif = b.ifindex, .scope = RT_SCOPE_LINK
	};
	memcpy(w.dst, net4, 4);
	assert_int_equal(nl_route_foreach(tb.sk[NS_B], AF_INET, route_cb, &w), 0);
	assert_true(w.found);

	/* Nothing of it in A. */
	w = (struct route_want){
		.family = AF_INET, .has_gw = true, .oif = b.ifindex, .scope = RT_SCOPE_UNIVERSE
	};
	memcpy(w.gw, gw4, 4);
	assert_int_equal(nl_route_foreach(tb.sk[NS_A], AF_INET, route_cb, &w), 0);
	assert_false(w.found);

	/* And iproute2 agrees (-d: it hides "proto boot" otherwise). */
	snprintf(cmd, sizeof(cmd), "ip -d -n %s route show default", tb.name[NS_B]);
	assert_true(cmd_output_contains(
	    cmd, "unicast default via 10.99.5.254 dev kct5b proto boot scope global"));
}

static void test_link_del_removes_both_ends(void **state)
{
	struct nl_link_info l;

	need_testbed();
	veth_ab("kct6a", "kct6b", NULL, 0);
	assert_int_equal(nl_link_del(tb.sk[NS_A], "kct6a", NULL), 0);
	assert_int_equal(nl_link_get(tb.sk[NS_A], "kct6a", &l), -ENODEV);
	assert_int_equal(nl_link_get(tb.sk[NS_B], "kct6b", &l), -ENODEV);
	assert_int_equal(nl_link_del(tb.sk[NS_A], "kct6a", NULL), -ENODEV);

	/* From the peer's side as well. */
	veth_ab("kct6c", "kct6d", NULL, 0);
	assert_int_equal(nl_link_del(tb.sk[NS_B], "kct6d", NULL), 0);
	assert_int_equal(nl_link_get(tb.sk[NS_A], "kct6c", &l), -ENODEV);
	assert_int_equal(nl_link_get(tb.sk[NS_B], "kct6d", &l), -ENODEV);
}

/* A passthru macvlan in another netns, up, holds its lower device in
 * promiscuous mode: IFLA_PROMISCUITY counts it, ifi_flags do not show it.
 * nl_macvlan_passthru_add() makes it up, so it holds the stub from birth.
 * (Pool recovery tells a stub still in use from a free one by this.) */
static void test_macvlan_holds_promiscuity(void **state)
{
	struct nl_link_info stub, mv;

	need_testbed();
	veth_ab("kct7a", "kct7b", NULL, 0);
	stub = link_get_ok(NS_A, "kct7a");
	assert_int_equal(nl_link_set_up(tb.sk[NS_A], stub.ifindex, true, NULL), 0);
	assert_int_equal(link_get_ok(NS_A, "kct7a").promiscuity, 0);

	assert_int_equal(nl_macvlan_passthru_add(tb.sk[NS_A], "kct7m", stub.ifindex, tb.fd[NS_B],
						 test_mac, 0, true, NULL),
			 0);
	mv = link_get_ok(NS_B, "kct7m");
	assert_string_equal(mv.kind, "macvlan");
	assert_true(mv.up);
	assert_int_equal(link_get_ok(NS_A, "kct7a").promiscuity, 1); /* from birth */
	assert_int_equal(nl_link_set_up(tb.sk[NS_B], mv.ifindex, false, NULL), 0);
	assert_int_equal(link_get_ok(NS_A, "kct7a").promiscuity, 0); /* down: none */
	assert_int_equal(nl_link_set_up(tb.sk[NS_B], mv.ifindex, true, NULL), 0);
	assert_int_equal(link_get_ok(NS_A, "kct7a").promiscuity, 1);
	assert_false(link_get_ok(NS_A, "kct7a").flags & IFF_PROMISC);

	assert_int_equal(nl_link_del(tb.sk[NS_B], "kct7m", NULL), 0);
	assert_int_equal(link_get_ok(NS_A, "kct7a").promiscuity, 0);
}

static void test_extack_message(void **state)
{
	_cleanup_free_ char *err = NULL;
	struct nl_link_info l;
	uint8_t gw[4], dst[4];
	int r;

	need_testbed();
	/* veth's validator refuses MTU 10 with a bare -EINVAL (no text on
	 * this kernel); nothing may be left half-made. */
	r = nl_veth_add(tb.sk[NS_A], "kct7a", "kct7b", tb.fd[NS_B], NULL, 10, &err);
	assert_int_equal(r, -EINVAL);
	printf("# veth mtu 10: %s, extack: %s\n", strerror(-r), err ? err : "(none)");
	assert_int_equal(nl_link_get(tb.sk[NS_A], "kct7a", &l), -ENODEV);
	assert_int_equal(nl_link_get(tb.sk[NS_B], "kct7b", &l), -ENODEV);

	/* A gateway with no route to it. */
	free(TAKE_PTR(err));
	veth_ab("kct7c", "kct7d", NULL, 0);
	l = link_get_ok(NS_A, "kct7c");
	inet_pton(AF_INET, "203.0.113.1", gw);
	r = nl_route_add(tb.sk[NS_A], l.ifindex, AF_INET, NULL, 0, gw, &err);
	assert_true(r < 0 && r >= -4095); /* -ENETUNREACH here; kernels differ */
	assert_non_null(err);
	printf("# unreachable gateway: %s, extack: %s\n", strerror(-r), err);

	/* Host bits set in a route's destination. */
	free(TAKE_PTR(err));
	inet_pton(AF_INET, "192.0.2.1", dst);
	r = nl_route_add(tb.sk[NS_A], l.ifindex, AF_INET, dst, 24, NULL, &err);
	assert_int_equal(r, -EINVAL);
	assert_non_null(err);
	assert_string_equal(err, "Invalid prefix for given prefix length");

	/* Success leaves *reterr_msg alone. */
	free(TAKE_PTR(err));
	dst[3] = 0;
	assert_int_equal(nl_link_set_up(tb.sk[NS_A], l.ifindex, true, NULL), 0);
	assert_int_equal(nl_route_add(tb.sk[NS_A], l.ifindex, AF_INET, dst, 24, NULL, &err), 0);
	assert_null(err);
}

/* ---- many links, dumps, groups ----------------------------------------- */

#define MANY_PAIRS 60
#define MANY_GROUP 4242

static int count_prefix_cb(const struct nl_link_info *l, void *userdata)
{
	int *n = userdata;

	if (strncmp(l->name, "kctm", 4) == 0)
		(*n)++;
	return 0;
}

static void make_many(void)
{
	for (int i = 0; i < MANY_PAIRS; i++) {
		char a[IF_NAMESIZE], b[IF_NAMESIZE];
		struct nl_link_info l;

		snprintf(a, sizeof(a), "kctm%02da", i);
		snprintf(b, sizeof(b), "kctm%02db", i);
		assert_int_equal(nl_veth_add(tb.sk[NS_A], a, b, -1, NULL, 0, NULL), 0);
		l = link_get_ok(NS_A, a);
		assert_int_equal(nl_link_set_group(tb.sk[NS_A], l.ifindex, MANY_GROUP, NULL), 0);
		l = link_get_ok(NS_A, b);
		assert_int_equal(nl_link_set_group(tb.sk[NS_A], l.ifindex, MANY_GROUP, NULL), 0);
	}
}

static int stop_at_third_cb(const struct nl_link_info *l, void *userdata)
{
	int *n = userdata;

	return ++*n == 3 ? 42 : 0;
}

static void test_multipart_dump_and_group_delete(void **state)
{
	int n = 0;
	double t0;

	need_testbed();
	make_many();
	/* 120 links are several dump parts of MNL_SOCKET_DUMP_SIZE. */
	assert_int_equal(nl_link_foreach(tb.sk[NS_A], count_prefix_cb, &n), 0);
	assert_int_equal(n, 2 * MANY_PAIRS);
	n = 0;
	assert_int_equal(nl_link_foreach(tb.sk[NS_A], stop_at_third_cb, &n), 42);
	assert_int_equal(n, 3);

	assert_int_equal(nl_link_del_group(tb.sk[NS_A], 0, NULL), -EINVAL);
	t0 = now_ms();
	assert_int_equal(nl_link_del_group(tb.sk[NS_A], MANY_GROUP, NULL), 0);
	printf("# deleting %d links as one group: %.1f ms\n", 2 * MANY_PAIRS, now_ms() - t0);
	n = 0;
	assert_int_equal(nl_link_foreach(tb.sk[NS_A], count_prefix_cb, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(nl_link_del_group(tb.sk[NS_A], MANY_GROUP, NULL), -ENODEV);
}

struct churn {
	atomic_bool stop;
	int rounds;
	int errors;
	int first_error;
};

static void *churn_thread(void *userdata)
{
	struct churn *c = userdata;
	struct nl_sock *s = NULL;
	struct nl_link_info l;
	int r;

	r = nl_sock_open_netns(tb.fd[NS_A], &s);
	if (r < 0) {
		c->errors++;
		c->first_error = r;
		return NULL;
	}
	/* Renames change the namespace's link list at ~0.3 ms each; adding
	 * and deleting would be paced by RCU grace periods (~16 ms). */
	r = nl_veth_add(s, "kctz0", "kctzp", -1, NULL, 0, NULL);
	if (r == 0)
		r = nl_link_get(s, "kctz0", &l);
	while (r == 0 && !atomic_load(&c->stop)) {
		r = nl_link_set_name(s, l.ifindex, c->rounds % 2 ? "kctz0" : "kctz1", NULL);
		c->rounds++;
	}
	if (r < 0) {
		c->errors++;
		c->first_error = r;
	}
	nl_sock_free(s);
	return NULL;
}

/* Dumps while another thread keeps changing the link list of the same
 * namespace: each dump is either complete and consistent or -EAGAIN (the
 * kernel flagged it NLM_F_DUMP_INTR twice). */
static void test_dump_under_churn(void **state)
{
	struct churn c = { .stop = false };
	int consistent = 0, again = 0;
	pthread_t t;

	need_testbed();
	make_many();
	assert_int_equal(pthread_create(&t, NULL, churn_thread, &c), 0);
	for (int i = 0; i < 200; i++) {
		int n = 0, r = nl_link_foreach(tb.sk[NS_A], count_prefix_cb, &n);

		if (r == -EAGAIN) {
			again++;
			continue;
		}
		if (r != 0 || n != 2 * MANY_PAIRS) {
			atomic_store(&c.stop, true);
			pthread_join(t, NULL);
			fail_msg("dump %d: r=%d links=%d", i, r, n);
		}
		consistent++;
	}
	atomic_store(&c.stop, true);
	assert_int_equal(pthread_join(t, NULL), 0);
	printf("# 200 link dumps during %d renames: %d consistent, %d -EAGAIN\n", c.rounds,
	       consistent, again);
	if (c.errors)
		fail_msg("churn thread: %d errors, first %s", c.errors, strerror(-c.first_error));
	assert_int_equal(nl_link_del_group(tb.sk[NS_A], MANY_GROUP, NULL), 0);
}

/* ---- concurrency and cost ---------------------------------------------- */

struct worker {
	int id;
	int errors;
	char what[128];
};

#define WORKER_ROUNDS 20

static void *worker_thread(void *userdata)
{
	struct worker *w = userdata;
	struct nl_sock *s = NULL;
	int r = nl_sock_open_netns(tb.fd[NS_A], &s);

	for (int i = 0; r == 0 && i < WORKER_ROUNDS; i++) {
		char a[IF_NAMESIZE], b[IF_NAMESIZE];
		struct nl_link_info l;

		snprintf(a, sizeof(a), "kctw%d-%02da", w->id, i);
		snprintf(b, sizeof(b), "kctw%d-%02db", w->id, i);
		r = nl_veth_add(s, a, b, tb.fd[NS_B], NULL, 1400, NULL);
		if (r == 0)
			r = nl_link_get(s, a, &l);
		if (r == 0 && (l.mtu != 1400 || !streq(l.kind, "veth")))
			r = -EBADMSG;
		if (r == 0)
			r = nl_link_del(s, a, NULL);
		if (r < 0)
			snprintf(w->what, sizeof(w->what), "%s: %s", a, strerror(-r));
	}
	if (r < 0)
		w->errors++;
	nl_sock_free(s);
	return NULL;
}

static void test_concurrent_socks(void **state)
{
	struct worker w[4];
	pthread_t t[4];

	need_testbed();
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .id = i };
		assert_int_equal(pthread_create(&t[i], NULL, worker_thread, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	for (int i = 0; i < 4; i++)
		if (w[i].errors)
			fail_msg("worker %d: %s", i, w[i].what);
}

#define TIMING_ROUNDS 100

static void test_veth_timing(void **state)
{
	double create[TIMING_ROUNDS], del[TIMING_ROUNDS], total[TIMING_ROUNDS];
	double open_ns[TIMING_ROUNDS];

	need_testbed();
	for (int i = 0; i < TIMING_ROUNDS; i++) {
		struct nl_sock *s = NULL;
		double t0 = now_ms();

		assert_int_equal(nl_sock_open_netns(tb.fd[NS_B], &s), 0);
		nl_sock_free(s);
		open_ns[i] = now_ms() - t0;
	}
	printf("# nl_sock_open_netns + free, median of %d: %.3f ms\n", TIMING_ROUNDS,
	       median(open_ns, TIMING_ROUNDS));
	for (int i = 0; i < TIMING_ROUNDS; i++) {
		double t0 = now_ms(), t1, t2;

		assert_int_equal(
		    nl_veth_add(tb.sk[NS_A], "kctt0", "kctt1", tb.fd[NS_B], test_mac, 1400, NULL),
		    0);
		t1 = now_ms();
		assert_int_equal(nl_link_del(tb.sk[NS_A], "kctt0", NULL), 0);
		t2 = now_ms();
		create[i] = t1 - t0;
		del[i] = t2 - t1;
		total[i] = t2 - t0;
	}
	printf("# veth with peer in netns, median of %d: create %.3f ms, delete %.3f ms, "
	       "create+delete %.3f ms\n",
	       TIMING_ROUNDS, median(create, TIMING_ROUNDS), median(del, TIMING_ROUNDS),
	       median(total, TIMING_ROUNDS));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netns_open),
		cmocka_unit_test_setup_teardown(test_open_netns_keeps_thread_netns, flush_links,
						flush_links),
		cmocka_unit_test(test_netns_create_fresh_run),
		cmocka_unit_test_setup_teardown(test_veth_peer_in_target_netns, flush_links,
						flush_links),
		cmocka_unit_test_setup_teardown(test_netns_sysctl_write, flush_links, flush_links),
		cmocka_unit_test_setup_teardown(test_veth_duplicate_is_eexist, flush_links,
						flush_links),
		cmocka_unit_test_setup_teardown(test_link_set_up, flush_links, flush_links),
		cmocka_unit_test_setup_teardown(test_link_tx_csum, flush_links, flush_links),
		cmocka_unit_test_setup_teardown(test_link_rename_and_group, flush_links,
						flush_links),
		cmocka_unit_test_setup_teardown(test_addr_add_and_dump, flush_links, flush_links),
		cmocka_unit_test_setup_teardown(test_route_add_and_dump, flush_links, flush_links),
		cmocka_unit_test_setup_teardown(test_link_del_removes_both_ends, flush_links,
						flush_links),
		cmocka_unit_test_setup_teardown(test_macvlan_holds_promiscuity, flush_links,
						flush_links),
		cmocka_unit_test_setup_teardown(test_extack_message, flush_links, flush_links),
		cmocka_unit_test_setup_teardown(test_multipart_dump_and_group_delete, flush_links,
						flush_links),
		cmocka_unit_test_setup_teardown(test_dump_under_churn, flush_links, flush_links),
		cmocka_unit_test_setup_teardown(test_concurrent_socks, flush_links, flush_links),
		cmocka_unit_test_setup_teardown(test_veth_timing, flush_links, flush_links),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
