/* SPDX-License-Identifier: Apache-2.0 */
/* The kernel's share of a pre-wired ADD, measured from a warm process: what
 * kuryrd asks of netlink when it hands a pool entry to a pod, with nothing
 * else around it (no request, no store, no locks).
 *
 *   floor [-t] N   N iterations, each on a fresh netns made here
 *   floor [-t] -   one iteration per netns path read from stdin, one answer
 *                  line each (bench/add-del-latency.sh interleaves it so)
 *
 * Setup (untimed): a holding netns with a veth pair, both ends up, one end
 * (the stub) with the port's MAC and MTU, as a pre-wired pool entry has it.
 * Each iteration (timed): a passthru macvlan on the stub created directly
 * in the pod's netns with MAC and MTU, and up (nl_macvlan_passthru_add()
 * sets IFF_UP in the create request); a netlink socket inside the pod's
 * netns; the macvlan's ifindex; an IPv4 address; a default route. (The
 * "up" column stays, at 0, for the format: bringing it up is part of
 * "create".)
 * Then (untimed) the macvlan is deleted again to free the stub.
 *
 * The pod socket is opened by a setns() of this single-threaded process
 * there and back, the cheapest way there is; -t opens it the way kuryrd
 * does, with nl_sock_open_netns() (a helper thread per socket).
 *
 * Each iteration prints one line of microseconds:
 *   total create socket getlink addr up route */
#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "nl/nl.h"

#define POD_IFNAME "eth0"
#define STUB	   "flstub"
#define STUB_PEER  "flpeer"
#define MTU	   1442

static const uint8_t port_mac[6] = { 0x02, 0x6b, 0x63, 0x00, 0x00, 0x01 };

enum step {
	STEP_CREATE,
	STEP_SOCKET,
	STEP_GETLINK,
	STEP_ADDR,
	STEP_UP,
	STEP_ROUTE,
	STEP_COUNT
};

struct floor {
	int self_fd; /* the netns this process lives in */
	int hold_fd;
	struct nl_sock *hold;
	int stub_ifindex;
	bool use_thread;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* A new network namespace, made by unshare() in place and left again:
 * its fd in *ret_fd keeps it alive. */
static int netns_new(const struct floor *f, int *ret_fd)
{
	int fd;

	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = -errno;
	if (setns(f->self_fd, CLONE_NEWNET) < 0) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	if (fd < 0)
		return fd;
	*ret_fd = fd;
	return 0;
}

static int sock_in(const struct floor *f, int netns_fd, struct nl_sock **ret)
{
	int r;

	if (f->use_thread)
		return nl_sock_open_netns(netns_fd, ret);
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return -errno;
	r = nl_sock_open(ret);
	if (setns(f->self_fd, CLONE_NEWNET) < 0)
		return -errno; /* cannot happen: we were just there */
	return r;
}

static int link_up(struct nl_sock *s, const char *name)
{
	struct nl_link_info li;
	int r;

	r = nl_link_get(s, name, &li);
	return r < 0 ? r : nl_link_set_up(s, li.ifindex, true, NULL);
}

static int floor_setup(struct floor *f, char **reterr_msg)
{
	struct nl_link_info li;
	int r;

	f->self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (f->self_fd < 0)
		return -errno;
	r = netns_new(f, &f->hold_fd);
	if (r == 0)
		r = sock_in(f, f->hold_fd, &f->hold);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot make the holding netns");
		return r;
	}
	r = nl_veth_add(f->hold, STUB_PEER, STUB, -1, port_mac, MTU, reterr_msg);
	if (r == 0)
		r = link_up(f->hold, STUB_PEER);
	if (r == 0)
		r = link_up(f->hold, STUB);
	if (r == 0)
		r = nl_link_get(f->hold, STUB, &li);
	if (r < 0)
		return r;
	f->stub_ifindex = li.ifindex;
	return 0;
}

static void floor_teardown(struct floor *f)
{
	if (f->hold)
		(void)nl_link_del(f->hold, STUB_PEER, NULL);
	nl_sock_free(f->hold);
	closep(&f->hold_fd);
	closep(&f->self_fd);
}

/* One pre-wired ADD's netlink work into pod netns @pod_fd; the time of
 * each step in @us. */
static int floor_once(const struct floor *f, int pod_fd, double us[STEP_COUNT], char **reterr_msg)
{
	_cleanup_(nl_sock_freep) struct nl_sock *pod = NULL;
	const uint8_t ip[4] = { 10, 99, 0, 2 }, gw[4] = { 10, 99, 0, 1 };
	struct nl_link_info li;
	double t[STEP_COUNT + 1];
	int r;

	t[0] = now_us();
	r = nl_macvlan_passthru_add(f->hold, POD_IFNAME, f->stub_ifindex, pod_fd, port_mac, MTU,
				    true, reterr_msg);
	if (r < 0)
		return r;
	t[1] = now_us();
	r = sock_in(f, pod_fd, &pod);
	t[2] = now_us();
	if (r == 0)
		r = nl_link_get(pod, POD_IFNAME, &li);
	t[3] = now_us();
	if (r == 0)
		r = nl_addr_add(pod, li.ifindex, AF_INET, ip, 24, reterr_msg);
	t[4] = now_us();
	t[5] = t[4]; /* up: born so */
	if (r == 0)
		r = nl_route_add(pod, li.ifindex, AF_INET, NULL, 0, gw, reterr_msg);
	t[6] = now_us();
	for (int i = 0; i < STEP_COUNT; i++)
		us[i] = t[i + 1] - t[i];
	/* Free the stub for the next pod (passthru: one macvlan per lower
	 * device). After a failure the process exits, and the pod's netns
	 * takes the macvlan with it. */
	if (pod)
		(void)nl_link_del(pod, POD_IFNAME, NULL);
	return r;
}

static int report(const struct floor *f, int pod_fd)
{
	_cleanup_free_ char *err = NULL;
	double us[STEP_COUNT], total = 0;
	int r;

	r = floor_once(f, pod_fd, us, &err);
	if (r < 0) {
		fprintf(stderr, "floor: %s%s%s\n", strerror(-r), err ? ": " : "", err ? err : "");
		return r;
	}
	for (int i = 0; i < STEP_COUNT; i++)
		total += us[i];
	printf("%.1f", total);
	for (int i = 0; i < STEP_COUNT; i++)
		printf(" %.1f", us[i]);
	putchar('\n');
	fflush(stdout);
	return 0;
}

static int run_stdin(const struct floor *f)
{
	char line[4096];

	while (fgets(line, sizeof(line), stdin)) {
		_cleanup_close_ int fd = -1;
		int r;

		line[strcspn(line, "\n")] = '\0';
		r = nl_netns_open(line, &fd);
		if (r < 0) {
			fprintf(stderr, "floor: %s: %s\n", line, strerror(-r));
			return r;
		}
		r = report(f, fd);
		if (r < 0)
			return r;
	}
	return 0;
}

static int run_own(const struct floor *f, long n)
{
	for (long i = 0; i < n; i++) {
		_cleanup_close_ int fd = -1;
		int r;

		r = netns_new(f, &fd);
		if (r < 0) {
			fprintf(stderr, "floor: cannot make a netns: %s\n", strerror(-r));
			return r;
		}
		r = report(f, fd);
		if (r < 0)
			return r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	_cleanup_free_ char *err = NULL;
	struct floor f = { .self_fd = -1, .hold_fd = -1 };
	const char *what;
	char *end;
	long n = 0;
	int r;

	if (argc > 1 && streq(argv[1], "-t")) {
		f.use_thread = true;
		argc--, argv++;
	}
	what = argc == 2 ? argv[1] : "";
	if (!streq(what, "-")) {
		n = strtol(what, &end, 10);
		if (!*what || *end || n <= 0) {
			fprintf(stderr, "usage: floor [-t] ITERATIONS | floor [-t] -\n");
			return 2;
		}
	}
	r = floor_setup(&f, &err);
	if (r < 0) {
		fprintf(stderr, "floor: setup: %s%s%s\n", strerror(-r), err ? ": " : "",
			err ? err : "");
		floor_teardown(&f);
		return 1;
	}
	r = n ? run_own(&f, n) : run_stdin(&f);
	floor_teardown(&f);
	return r < 0 ? 1 : 0;
}
