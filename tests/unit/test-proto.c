/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for the kuryrd request/reply protocol: send/recv over a
 * SOCK_SEQPACKET socketpair (round trip, boundaries, size limit, timeout,
 * EOF, malformed input, a passed descriptor), and proto_call against a
 * small listener on /tmp/kuryr-test-proto-XXXXXX/sock run in a thread,
 * scripted per test. */
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cmocka.h>

#include "json-util.h"
#include "macro.h"
#include "proto/proto.h"

/* Long enough never to fire on a loaded machine; only the outcome is
 * checked, never the time taken. */
#define REPLY_TIMEOUT_MS 10000

struct fixture {
	int fd[2];
	char dir[64];
	char path[128];
};

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path) < 0 ? -errno : 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->fd) < 0) {
		free(f);
		return -1;
	}
	strcpy(f->dir, "/tmp/kuryr-test-proto-XXXXXX");
	if (!mkdtemp(f->dir)) {
		close(f->fd[0]);
		close(f->fd[1]);
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/sock", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r;

	closep(&f->fd[0]);
	closep(&f->fd[1]);
	r = nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return r == 0 ? 0 : -1;
}

/* A JSON object whose compact encoding is exactly @len bytes. */
static json_t *object_of_size(size_t len)
{
	/* {"k":"..."} is 8 bytes around the string. */
	_cleanup_free_ char *s = malloc(len - 8 + 1);
	json_t *o;

	assert_non_null(s);
	memset(s, 'x', len - 8);
	s[len - 8] = '\0';
	o = json_pack("{s:s}", "k", s);
	assert_non_null(o);
	return o;
}

static size_t dumped_len(const json_t *o)
{
	_cleanup_free_ char *s = json_dumps(o, JSON_COMPACT);

	assert_non_null(s);
	return strlen(s);
}

/* ---- send / recv ---- */

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *req = NULL, *got = NULL;
	_cleanup_free_ char *msg = NULL;

	req = json_pack("{s:s, s:{s:s, s:s}, s:{s:s, s:[i,b,n]}, s:{}}", "op", "add", "env",
			"CNI_CONTAINERID", "abc", "CNI_IFNAME", "eth0", "config", "name",
			"réseau ✓", "list", 1, 1, "args");
	assert_non_null(req);
	assert_int_equal(proto_send(f->fd[0], req), 0);
	assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got, &msg), 0);
	assert_null(msg);
	assert_non_null(got);
	assert_true(json_equal(req, got));
	assert_ptr_not_equal(req, got);
	assert_string_equal(json_object_get_str(json_object_get(got, "config"), "name"),
			    "réseau ✓");

	/* Both directions. */
	json_decref(TAKE_PTR(got));
	assert_int_equal(proto_send(f->fd[1], req), 0);
	assert_int_equal(proto_recv(f->fd[0], REPLY_TIMEOUT_MS, &got, NULL), 0);
	assert_true(json_equal(req, got));
}

static void test_boundaries(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *a = json_pack("{s:i}", "n", 1), *b = json_pack("{s:i}", "n", 2);
	_cleanup_json_ json_t *got1 = NULL, *got2 = NULL, *got3 = NULL;

	/* Two messages queued back to back arrive as two. */
	assert_int_equal(proto_send(f->fd[0], a), 0);
	assert_int_equal(proto_send(f->fd[0], b), 0);
	assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got1, NULL), 0);
	assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got2, NULL), 0);
	assert_true(json_equal(got1, a));
	assert_true(json_equal(got2, b));
	assert_int_equal(proto_recv(f->fd[1], 0, &got3, NULL), -ETIMEDOUT);
	assert_null(got3);
}

static void test_recv_timeout(void **state)
{
	struct fixture *f = *state;
	json_t *sentinel = (json_t *)0x1, *got = sentinel;
	_cleanup_free_ char *msg = NULL;

	assert_int_equal(proto_recv(f->fd[1], 0, &got, &msg), -ETIMEDOUT);
	assert_int_equal(proto_recv(f->fd[1], 20, &got, &msg), -ETIMEDOUT);
	/* ret_ untouched on failure. */
	assert_ptr_equal(got, sentinel);
}

static void test_recv_eof(void **state)
{
	struct fixture *f = *state;
	json_t *sentinel = (json_t *)0x1, *got = sentinel;

	closep(&f->fd[0]);
	f->fd[0] = -1;
	assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got, NULL), -ECONNRESET);
	assert_ptr_equal(got, sentinel);
}

static void test_recv_eof_after_message(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *a = json_pack("{s:s}", "op", "status"), *got = NULL;
	json_t *none = NULL;

	/* A message sent before close is still delivered, then EOF. */
	assert_int_equal(proto_send(f->fd[0], a), 0);
	closep(&f->fd[0]);
	f->fd[0] = -1;
	assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got, NULL), 0);
	assert_true(json_equal(a, got));
	assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &none, NULL), -ECONNRESET);
	assert_null(none);
}

static void send_raw(int fd, const char *s, size_t len)
{
	assert_int_equal(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void test_recv_not_json(void **state)
{
	struct fixture *f = *state;
	json_t *sentinel = (json_t *)0x1, *got = sentinel;
	_cleanup_free_ char *msg = NULL;

	send_raw(f->fd[0], "hello, daemon", 13);
	assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got, &msg), -EBADMSG);
	assert_ptr_equal(got, sentinel);
	assert_non_null(msg);
	/* Where it went wrong, from the JSON parser. */
	if (!strstr(msg, "line 1"))
		fail_msg("message \"%s\" has no position", msg);
	free(TAKE_PTR(msg));

	/* Truncated JSON. */
	send_raw(f->fd[0], "{\"op\": \"add\"", 12);
	assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got, &msg), -EBADMSG);
	assert_non_null(msg);
	free(TAKE_PTR(msg));

	/* Two objects in one message. */
	send_raw(f->fd[0], "{}{}", 4);
	assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got, &msg), -EBADMSG);
	assert_non_null(msg);
	free(TAKE_PTR(msg));

	/* A NUL inside. */
	send_raw(f->fd[0], "{\"a\":1}\0", 8);
	assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got, NULL), -EBADMSG);
	assert_ptr_equal(got, sentinel);

	/* The socket is still usable after a bad message. */
	send_raw(f->fd[0], "{\"ok\":true}", 11);
	assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got, NULL), 0);
	assert_true(json_is_true(json_object_get(got, "ok")));
	json_decref(got);
}

static void test_recv_not_object(void **state)
{
	static const char *const inputs[] = { "[1,2,3]", "[]", "[{\"op\":\"add\"}]" };
	struct fixture *f = *state;

	for (size_t i = 0; i < ELEMENTSOF(inputs); i++) {
		json_t *sentinel = (json_t *)0x1, *got = sentinel;
		_cleanup_free_ char *msg = NULL;

		send_raw(f->fd[0], inputs[i], strlen(inputs[i]));
		assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got, &msg), -EBADMSG);
		assert_ptr_equal(got, sentinel);
		assert_non_null(msg);
		if (!strstr(msg, "object"))
			fail_msg("input %s: message \"%s\" does not say an object is wanted",
				 inputs[i], msg);
	}

	/* Bare scalars are not accepted either. */
	static const char *const scalars[] = { "42", "\"add\"", "null", "true" };
	for (size_t i = 0; i < ELEMENTSOF(scalars); i++) {
		json_t *sentinel = (json_t *)0x1, *got = sentinel;

		send_raw(f->fd[0], scalars[i], strlen(scalars[i]));
		assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got, NULL), -EBADMSG);
		assert_ptr_equal(got, sentinel);
	}
}

static void test_size_limit(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *max = object_of_size(PROTO_MSG_MAX);
	_cleanup_json_ json_t *over = object_of_size(PROTO_MSG_MAX + 1);
	_cleanup_json_ json_t *got = NULL;
	json_t *none = NULL;
	int sndbuf = 4 * PROTO_MSG_MAX;

	assert_int_equal(dumped_len(max), PROTO_MSG_MAX);
	assert_int_equal(dumped_len(over), PROTO_MSG_MAX + 1);
	/* Room for the largest message whatever the system default. */
	assert_int_equal(setsockopt(f->fd[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);

	/* Exactly the limit goes through. */
	assert_int_equal(proto_send(f->fd[0], max), 0);
	assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got, NULL), 0);
	assert_true(json_equal(max, got));

	/* One byte more is refused and nothing is sent. */
	assert_int_equal(proto_send(f->fd[0], over), -EMSGSIZE);
	assert_int_equal(proto_recv(f->fd[1], 0, &none, NULL), -ETIMEDOUT);
	assert_null(none);
}

static void test_recv_oversize(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *big = malloc(PROTO_MSG_MAX + 1);
	_cleanup_json_ json_t *ok = json_pack("{s:b}", "ok", 1);
	json_t *sentinel = (json_t *)0x1, *got = sentinel;
	int sndbuf = 4 * PROTO_MSG_MAX;

	/* A peer that ignores the limit: the receiver says so rather than
	 * parsing a truncated message. */
	assert_non_null(big);
	memset(big, ' ', PROTO_MSG_MAX + 1);
	big[0] = '{';
	big[PROTO_MSG_MAX] = '}';
	assert_int_equal(setsockopt(f->fd[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	send_raw(f->fd[0], big, PROTO_MSG_MAX + 1);
	assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got, NULL), -EMSGSIZE);
	assert_ptr_equal(got, sentinel);

	/* The oversize message is consumed whole; the next one is intact. */
	assert_int_equal(proto_send(f->fd[0], ok), 0);
	assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got, NULL), 0);
	assert_true(json_equal(ok, got));
	json_decref(got);
}

static void test_send_to_closed_peer(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *a = json_pack("{s:s}", "op", "gc");

	/* EPIPE, not SIGPIPE (which would kill the test). */
	closep(&f->fd[1]);
	f->fd[1] = -1;
	assert_int_equal(proto_send(f->fd[0], a), -EPIPE);
}

/* ---- a passed descriptor ---- */

/* Send @s with the descriptors @fds attached, bypassing proto_send_fd(). */
static void send_raw_fds(int sock, const char *s, size_t len, const int *fds, size_t n)
{
	char ctl[CMSG_SPACE(16 * sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)s, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctl,
			     .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	assert_true(n >= 1 && n <= 16);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/* A pipe whose write end is only in flight: once the receiver has closed
 * every copy it got, the read end sees EOF. */
static int pipe_in_flight(int sock, const char *s, size_t len, size_t copies)
{
	int p[2], fds[16];

	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	for (size_t i = 0; i < copies; i++)
		fds[i] = p[1];
	send_raw_fds(sock, s, len, fds, copies);
	close(p[1]);
	return p[0];
}

/* Every copy of the write end is closed (EOF), rather than one still open
 * somewhere in this process (EAGAIN). */
static void assert_all_closed(int rd)
{
	char c;

	assert_int_equal(read(rd, &c, 1), 0);
	close(rd);
}

static void test_fd_round_trip(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *req =
	    json_pack("{s:s, s:{s:s}}", "op", "add", "env", "CNI_NETNS", "/run/netns/elsewhere");
	_cleanup_json_ json_t *got = NULL;
	_cleanup_close_ int file = -1, passed = -1;
	struct stat a, b;
	char path[128];
	int p[2];
	char c;

	/* A file by identity: the same inode on the same device. */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	file = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(file >= 0);
	assert_int_equal(proto_send_fd(f->fd[0], req, file), 0);
	assert_int_equal(proto_recv_fd(f->fd[1], REPLY_TIMEOUT_MS, &got, &passed, NULL), 0);
	assert_true(json_equal(req, got));
	assert_true(passed >= 0);
	assert_int_not_equal(passed, file);
	assert_int_equal(fstat(file, &a), 0);
	assert_int_equal(fstat(passed, &b), 0);
	assert_int_equal(a.st_dev, b.st_dev);
	assert_int_equal(a.st_ino, b.st_ino);
	/* MSG_CMSG_CLOEXEC: it does not leak into what kuryrd execs. */
	assert_true(fcntl(passed, F_GETFD) & FD_CLOEXEC);
	closep(&passed);
	passed = -1;
	json_decref(TAKE_PTR(got));

	/* It works as the sender's: a pipe's write end, written through. */
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	assert_int_equal(proto_send_fd(f->fd[0], req, p[1]), 0);
	close(p[1]);
	assert_int_equal(proto_recv_fd(f->fd[1], REPLY_TIMEOUT_MS, &got, &passed, NULL), 0);
	assert_int_equal(write(passed, "x", 1), 1);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'x');
	closep(&passed);
	passed = -1;
	assert_all_closed(p[0]);
}

static void test_fd_none(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *req = json_pack("{s:s}", "op", "del"), *got = NULL;
	int passed = 1234;

	/* Neither way of sending without one carries one. */
	assert_int_equal(proto_send(f->fd[0], req), 0);
	assert_int_equal(proto_recv_fd(f->fd[1], REPLY_TIMEOUT_MS, &got, &passed, NULL), 0);
	assert_int_equal(passed, -1);
	json_decref(TAKE_PTR(got));
	passed = 1234;
	assert_int_equal(proto_send_fd(f->fd[0], req, -1), 0);
	assert_int_equal(proto_recv_fd(f->fd[1], REPLY_TIMEOUT_MS, &got, &passed, NULL), 0);
	assert_int_equal(passed, -1);
	assert_true(json_equal(req, got));
}

static void test_fd_too_many(void **state)
{
	static const size_t counts[] = { 2, 4, 5, 16 };
	struct fixture *f = *state;

	/* Refused whole, never cut to the first: a request is either what
	 * kuryr-cni sends or not ours to guess at. Every copy is closed,
	 * also those beyond what the receiver has room for. */
	for (size_t i = 0; i < ELEMENTSOF(counts); i++) {
		json_t *sentinel = (json_t *)0x1, *got = sentinel;
		_cleanup_free_ char *msg = NULL;
		int passed = 1234, rd;

		rd = pipe_in_flight(f->fd[0], "{\"op\":\"add\"}", 13, counts[i]);
		assert_int_equal(proto_recv_fd(f->fd[1], REPLY_TIMEOUT_MS, &got, &passed, &msg),
				 -EBADMSG);
		assert_ptr_equal(got, sentinel);
		assert_int_equal(passed, 1234);
		assert_non_null(msg);
		if (!strstr(msg, "descriptor"))
			fail_msg("%zu fds: message \"%s\" does not say what is wrong", counts[i],
				 msg);
		assert_all_closed(rd);
	}

	/* The socket is still usable. */
	send_raw(f->fd[0], "{}", 2);
	{
		_cleanup_json_ json_t *got = NULL;
		int passed = 1234;

		assert_int_equal(proto_recv_fd(f->fd[1], REPLY_TIMEOUT_MS, &got, &passed, NULL), 0);
		assert_int_equal(passed, -1);
	}
}

static void test_fd_bad_message(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *big = malloc(PROTO_MSG_MAX + 1);
	int sndbuf = 4 * PROTO_MSG_MAX;
	json_t *sentinel = (json_t *)0x1, *got = sentinel;
	int passed = 1234, rd;

	/* Truncated (over the limit): the descriptor is closed too. */
	assert_non_null(big);
	memset(big, ' ', PROTO_MSG_MAX + 1);
	big[0] = '{';
	big[PROTO_MSG_MAX] = '}';
	assert_int_equal(setsockopt(f->fd[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	rd = pipe_in_flight(f->fd[0], big, PROTO_MSG_MAX + 1, 1);
	assert_int_equal(proto_recv_fd(f->fd[1], REPLY_TIMEOUT_MS, &got, &passed, NULL), -EMSGSIZE);
	assert_ptr_equal(got, sentinel);
	assert_int_equal(passed, 1234);
	assert_all_closed(rd);

	/* Not JSON, and JSON that is not an object. */
	rd = pipe_in_flight(f->fd[0], "hello", 5, 1);
	assert_int_equal(proto_recv_fd(f->fd[1], REPLY_TIMEOUT_MS, &got, &passed, NULL), -EBADMSG);
	assert_int_equal(passed, 1234);
	assert_all_closed(rd);
	rd = pipe_in_flight(f->fd[0], "[1]", 3, 1);
	assert_int_equal(proto_recv_fd(f->fd[1], REPLY_TIMEOUT_MS, &got, &passed, NULL), -EBADMSG);
	assert_int_equal(passed, 1234);
	assert_ptr_equal(got, sentinel);
	assert_all_closed(rd);
}

static void test_fd_unwanted(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *got = NULL;
	int rd;

	/* proto_recv() takes the message and closes what came with it. */
	rd = pipe_in_flight(f->fd[0], "{\"result\":null}", 15, 1);
	assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got, NULL), 0);
	assert_true(json_is_null(json_object_get(got, "result")));
	assert_all_closed(rd);
}

/* ---- connect / call ---- */

enum server_mode {
	SERVER_ECHO,	/* reply {"result": <request>} */
	SERVER_CLOSE,	/* read the request, close without a reply */
	SERVER_GARBAGE, /* reply with bytes that are not JSON */
	SERVER_SILENT,	/* read the request, wait for the client to go */
	SERVER_FD,	/* reply {"result": {"dev", "ino"}} of the passed fd, or null */
};

struct server {
	int listen_fd;
	enum server_mode mode;
	pthread_t thread;
	int error; /* first errno the server hit, 0 if none */
};

static void *server_main(void *arg)
{
	struct server *s = arg;
	_cleanup_close_ int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	_cleanup_close_ int passed = -1;
	_cleanup_json_ json_t *req = NULL, *reply = NULL;
	char buf[64];
	int r;

	if (fd < 0) {
		s->error = errno;
		return NULL;
	}
	r = proto_recv_fd(fd, REPLY_TIMEOUT_MS, &req, &passed, NULL);
	if (r < 0) {
		s->error = -r;
		return NULL;
	}
	switch (s->mode) {
	case SERVER_FD: {
		struct stat st;

		if (passed >= 0 && fstat(passed, &st) < 0) {
			s->error = errno;
			break;
		}
		reply = passed < 0 ? json_pack("{s:n}", "result")
				   : json_pack("{s:{s:I, s:I}}", "result", "dev",
					       (json_int_t)st.st_dev, "ino", (json_int_t)st.st_ino);
		r = proto_send(fd, reply);
		if (r < 0)
			s->error = -r;
		break;
	}
	case SERVER_ECHO:
		reply = json_pack("{s:O}", "result", req);
		r = proto_send(fd, reply);
		if (r < 0)
			s->error = -r;
		break;
	case SERVER_CLOSE:
		break;
	case SERVER_GARBAGE:
		if (send(fd, "<html>", 6, MSG_NOSIGNAL) != 6)
			s->error = errno;
		break;
	case SERVER_SILENT:
		/* Returns when the client closes its end. */
		(void)!recv(fd, buf, sizeof(buf), 0);
		break;
	}
	return NULL;
}

static void server_start(struct server *s, const char *path, enum server_mode mode)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	*s = (struct server){ .mode = mode };
	assert_true(strlen(path) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	s->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(s->listen_fd >= 0);
	assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->listen_fd, 4), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
	assert_int_equal(pthread_join(s->thread, NULL), 0);
	closep(&s->listen_fd);
	if (s->error)
		fail_msg("server: %s", strerror(s->error));
}

static void test_connect_errors(void **state)
{
	struct fixture *f = *state;
	char longpath[200];

	assert_int_equal(proto_connect(f->path), -ENOENT);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(proto_connect(longpath), -ENAMETOOLONG);
}

static void test_call_no_socket(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *req = json_pack("{s:s}", "op", "status");
	json_t *sentinel = (json_t *)0x1, *reply = sentinel;
	_cleanup_free_ char *msg = NULL;

	assert_int_equal(proto_call(f->path, req, REPLY_TIMEOUT_MS, &reply, &msg), -ENOENT);
	assert_ptr_equal(reply, sentinel);
	assert_non_null(msg);
	if (!strstr(msg, f->path))
		fail_msg("message \"%s\" does not name %s", msg, f->path);
	/* No message wanted. */
	assert_int_equal(proto_call(f->path, req, REPLY_TIMEOUT_MS, &reply, NULL), -ENOENT);
}

static void test_call_stale_socket(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *req = json_pack("{s:s}", "op", "status");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_free_ char *msg = NULL;
	json_t *reply = NULL;
	int fd;

	/* A socket file left by a daemon that is gone. */
	strcpy(sa.sun_path, f->path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);

	assert_int_equal(proto_call(f->path, req, REPLY_TIMEOUT_MS, &reply, &msg), -ECONNREFUSED);
	assert_null(reply);
	assert_non_null(msg);
	if (!strstr(msg, f->path))
		fail_msg("message \"%s\" does not name %s", msg, f->path);
}

static void test_call_echo(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *req =
	    json_pack("{s:s, s:{s:s}}", "op", "add", "env", "CNI_IFNAME", "eth0");
	_cleanup_json_ json_t *reply = NULL;
	_cleanup_free_ char *msg = NULL;
	struct server s;

	server_start(&s, f->path, SERVER_ECHO);
	assert_int_equal(proto_call(f->path, req, REPLY_TIMEOUT_MS, &reply, &msg), 0);
	server_stop(&s);
	assert_null(msg);
	assert_non_null(reply);
	assert_int_equal(json_object_size(reply), 1);
	assert_true(json_equal(json_object_get(reply, "result"), req));
}

static void test_call_fd(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *req = json_pack("{s:s}", "op", "check");
	_cleanup_json_ json_t *reply = NULL, *none = NULL;
	_cleanup_close_ int ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	struct server s;
	struct stat st;
	json_t *res;

	assert_true(ns >= 0);
	assert_int_equal(fstat(ns, &st), 0);
	server_start(&s, f->path, SERVER_FD);
	assert_int_equal(proto_call_fd(f->path, req, ns, REPLY_TIMEOUT_MS, &reply, NULL), 0);
	server_stop(&s);
	res = json_object_get(reply, "result");
	assert_int_equal(json_integer_value(json_object_get(res, "dev")), (json_int_t)st.st_dev);
	assert_int_equal(json_integer_value(json_object_get(res, "ino")), (json_int_t)st.st_ino);
	/* Borrowed: still ours. */
	assert_true(fcntl(ns, F_GETFD) >= 0);

	/* proto_call() sends none (kuryrctl). */
	assert_int_equal(unlink(f->path), 0);
	server_start(&s, f->path, SERVER_FD);
	assert_int_equal(proto_call(f->path, req, REPLY_TIMEOUT_MS, &none, NULL), 0);
	server_stop(&s);
	assert_true(json_is_null(json_object_get(none, "result")));
}

static void test_call_no_reply(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *req = json_pack("{s:s}", "op", "del");
	_cleanup_free_ char *msg = NULL;
	json_t *reply = NULL;
	struct server s;

	server_start(&s, f->path, SERVER_CLOSE);
	assert_int_equal(proto_call(f->path, req, REPLY_TIMEOUT_MS, &reply, &msg), -ECONNRESET);
	server_stop(&s);
	assert_null(reply);
	assert_non_null(msg);
	if (!strstr(msg, f->path))
		fail_msg("message \"%s\" does not name %s", msg, f->path);
}

static void test_call_timeout(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *req = json_pack("{s:s}", "op", "check");
	_cleanup_free_ char *msg = NULL;
	json_t *reply = NULL;
	struct server s;

	server_start(&s, f->path, SERVER_SILENT);
	assert_int_equal(proto_call(f->path, req, 50, &reply, &msg), -ETIMEDOUT);
	/* proto_call has closed its end: the server returns. */
	server_stop(&s);
	assert_null(reply);
	assert_non_null(msg);
	if (!strstr(msg, f->path))
		fail_msg("message \"%s\" does not name %s", msg, f->path);
}

static void test_call_garbage_reply(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *req = json_pack("{s:s}", "op", "status");
	_cleanup_free_ char *msg = NULL;
	json_t *reply = NULL;
	struct server s;

	server_start(&s, f->path, SERVER_GARBAGE);
	assert_int_equal(proto_call(f->path, req, REPLY_TIMEOUT_MS, &reply, &msg), -EBADMSG);
	server_stop(&s);
	assert_null(reply);
	/* The parser's detail is kept, not replaced by a generic one. */
	assert_non_null(msg);
	assert_non_null(strstr(msg, "line 1"));
}

static void test_call_oversize_request(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *req = object_of_size(PROTO_MSG_MAX + 100);
	_cleanup_free_ char *msg = NULL;
	json_t *reply = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int lfd = -1;

	/* Refused before anything is sent; a listener that is never
	 * accept()ed is enough. */
	strcpy(sa.sun_path, f->path);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(proto_call(f->path, req, REPLY_TIMEOUT_MS, &reply, &msg), -EMSGSIZE);
	assert_null(reply);
	assert_non_null(msg);
	assert_non_null(strstr(msg, f->path));
}

/* ---- error replies ---- */

static void test_error_shape(void **state)
{
	_cleanup_json_ json_t *e = proto_error(104, "address in use", "10.0.0.5 is taken");
	_cleanup_json_ json_t *e2 = proto_error(-5, "", NULL);
	_cleanup_json_ json_t *e3 = proto_error(7, "bad config", "");
	json_t *in;

	assert_non_null(e);
	assert_int_equal(json_object_size(e), 1);
	in = json_object_get(e, "error");
	assert_true(json_is_object(in));
	assert_int_equal(json_object_size(in), 3);
	assert_true(json_is_integer(json_object_get(in, "code")));
	assert_int_equal(json_integer_value(json_object_get(in, "code")), 104);
	assert_string_equal(json_object_get_str(in, "msg"), "address in use");
	assert_string_equal(json_object_get_str(in, "details"), "10.0.0.5 is taken");

	assert_non_null(e2);
	in = json_object_get(e2, "error");
	assert_int_equal(json_object_size(in), 2);
	assert_int_equal(json_integer_value(json_object_get(in, "code")), -5);
	assert_string_equal(json_object_get_str(in, "msg"), "");
	assert_null(json_object_get(in, "details"));

	assert_non_null(e3);
	in = json_object_get(e3, "error");
	assert_null(json_object_get(in, "details"));
	assert_null(json_object_get(e3, "result"));
}

static void test_error_over_the_wire(void **state)
{
	struct fixture *f = *state;
	_cleanup_json_ json_t *e = proto_error(3, "unknown container", "abc");
	_cleanup_json_ json_t *got = NULL;

	assert_int_equal(proto_send(f->fd[0], e), 0);
	assert_int_equal(proto_recv(f->fd[1], REPLY_TIMEOUT_MS, &got, NULL), 0);
	assert_true(json_equal(e, got));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_round_trip),
		T(test_boundaries),
		T(test_recv_timeout),
		T(test_recv_eof),
		T(test_recv_eof_after_message),
		T(test_recv_not_json),
		T(test_recv_not_object),
		T(test_size_limit),
		T(test_recv_oversize),
		T(test_send_to_closed_peer),
		T(test_fd_round_trip),
		T(test_fd_none),
		T(test_fd_too_many),
		T(test_fd_bad_message),
		T(test_fd_unwanted),
		T(test_connect_errors),
		T(test_call_no_socket),
		T(test_call_stale_socket),
		T(test_call_echo),
		T(test_call_fd),
		T(test_call_no_reply),
		T(test_call_timeout),
		T(test_call_garbage_reply),
		T(test_call_oversize_request),
		cmocka_unit_test(test_error_shape),
		T(test_error_over_the_wire),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
