/* SPDX-License-Identifier: Apache-2.0 */
/* TCP throughput and round trips over one connection, for
 * bench/nested-vs-overlay.sh (busybox nc stops after a few KB of a bulk
 * transfer in the guest of scripts/vm.sh, and the guest has nothing else).
 *
 *   tcp-pump sink PORT            accept one connection, read it to EOF,
 *                                 reply with one byte, close, exit
 *   tcp-pump echo PORT            accept one connection, send back every
 *                                 byte it reads until EOF, exit
 *   tcp-pump send HOST PORT MB    connect (retrying while refused), send MB MiB, shut down the
 * write side and wait for the sink's byte (all of it arrived); prints "bytes seconds bytes/s"
 *   tcp-pump rr HOST PORT N       connect, N times send one byte and wait for
 *                                 it to come back; prints one line
 *                                 "N median_us p99_us min_us"
 *
 * Servers give up after 120 s without a connection (alarm), so a failed
 * run leaves no process behind. Times come from CLOCK_MONOTONIC. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_port(const char *s)
{
	char *end;
	long p = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || p <= 0 || p > 65535)
		return -EINVAL;
	return (int)p;
}

/* The accepted connection's fd, or -errno. */
static int accept_one(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, l, c;

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0)
		return -errno;
	if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0) {
		c = -errno;
		close(l);
		return c;
	}
	alarm(120);
	c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		c = -errno;
	alarm(0);
	close(l);
	return c;
}

/* The connected fd, or -errno. */
static int connect_to(const char *host, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, fd, r;

	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		return -EINVAL;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* The server may still be starting (the guest is slow): retry a
	 * refused connection for up to 20 s. */
	for (int i = 0; connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0; i++) {
		r = -errno;
		if (r != -ECONNREFUSED || i >= 200) {
			close(fd);
			return r;
		}
		usleep(100 * 1000);
	}
	return fd;
}

static int write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

static int serve(int port, bool echo)
{
	static char buf[CHUNK];
	int fd = accept_one(port), r = 0;
	ssize_t n;

	if (fd < 0)
		return fd;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (echo && (r = write_all(fd, buf, (size_t)n)) < 0)
			break;
	}
	if (r == 0 && !echo)
		r = write_all(fd, "k", 1);
	close(fd);
	return r;
}

static int send_bulk(const char *host, int port, long mb)
{
	static char buf[CHUNK];
	long long total = (long long)mb * 1024 * 1024, left = total;
	double t0, t;
	char ack;
	int fd, r;

	memset(buf, 'x', sizeof(buf));
	t0 = now_s();
	fd = connect_to(host, port);
	if (fd < 0)
		return fd;
	while (left > 0) {
		size_t n = left < CHUNK ? (size_t)left : CHUNK;

		if ((r = write_all(fd, buf, n)) < 0)
			goto out;
		left -= (long long)n;
	}
	if (shutdown(fd, SHUT_WR) < 0 || read(fd, &ack, 1) != 1) {
		r = -EPIPE;
		goto out;
	}
	t = now_s() - t0;
	printf("%lld %.6f %.0f\n", total, t, (double)total / t);
	r = 0;
out:
	close(fd);
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int round_trips(const char *host, int port, long n)
{
	double *us, t0;
	char c = 'p';
	int fd, r = 0;
	long i;

	us = calloc((size_t)n, sizeof(*us));
	if (!us)
		return -ENOMEM;
	fd = connect_to(host, port);
	if (fd < 0) {
		free(us);
		return fd;
	}
	for (i = 0; i < n; i++) {
		t0 = now_s();
		if ((r = write_all(fd, &c, 1)) < 0)
			break;
		if (read(fd, &c, 1) != 1) {
			r = -EPIPE;
			break;
		}
		us[i] = (now_s() - t0) * 1e6;
	}
	close(fd);
	if (r == 0) {
		qsort(us, (size_t)n, sizeof(*us), cmp_double);
		printf("%ld %.1f %.1f %.1f\n", n, us[n / 2],
		       us[(long)((double)(n - 1) * 0.99 + 0.5)], us[0]);
	}
	free(us);
	return r;
}

int main(int argc, char **argv)
{
	int port, r;
	long n;

	if (argc == 3 && (strcmp(argv[1], "sink") == 0 || strcmp(argv[1], "echo") == 0)) {
		if ((port = parse_port(argv[2])) < 0)
			goto usage;
		r = serve(port, argv[1][0] == 'e');
	} else if (argc == 5 && (strcmp(argv[1], "send") == 0 || strcmp(argv[1], "rr") == 0)) {
		if ((port = parse_port(argv[3])) < 0)
			goto usage;
		n = strtol(argv[4], NULL, 10);
		if (n <= 0)
			goto usage;
		r = argv[1][0] == 's' ? send_bulk(argv[2], port, n) : round_trips(argv[2], port, n);
	} else {
		goto usage;
	}
	if (r < 0) {
		fprintf(stderr, "tcp-pump %s: %s\n", argv[1], strerror(-r));
		return 1;
	}
	return 0;
usage:
	fprintf(stderr, "usage: tcp-pump sink|echo PORT | send HOST PORT MB | rr HOST PORT N\n");
	return 2;
}
