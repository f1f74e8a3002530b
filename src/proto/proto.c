/* SPDX-License-Identifier: Apache-2.0 */
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "json-util.h"
#include "proto.h"

int proto_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return TAKE_FD(fd);
}

int proto_send(int fd, const json_t *msg)
{
	return proto_send_fd(fd, msg, -1);
}

int proto_send_fd(int fd, const json_t *msg, int pass_fd)
{
	_cleanup_free_ char *s = json_dumps(msg, JSON_COMPACT);
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} ctl = { 0 };
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t len;
	ssize_t n;

	if (!s)
		return -ENOMEM;
	len = strlen(s);
	if (len > PROTO_MSG_MAX)
		return -EMSGSIZE;
	iov = (struct iovec){ .iov_base = s, .iov_len = len };
	if (pass_fd >= 0) {
		struct cmsghdr *c;

		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* Room for more descriptors than a message may carry, so one with too many
 * is seen as such instead of being cut to what fits (the kernel closes the
 * rest and only sets MSG_CTRUNC). */
#define PROTO_FDS_ROOM 4

static int parse_object(const char *buf, size_t len, json_t **ret, char **reterr_msg)
{
	json_error_t jerr;
	json_t *o;

	o = json_loadb(buf, len, 0, &jerr);
	if (!o) {
		set_errmsg(reterr_msg, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		return -EBADMSG;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		set_errmsg(reterr_msg, "message is not a JSON object");
		return -EBADMSG;
	}
	*ret = o;
	return 0;
}

int proto_recv(int fd, int timeout_ms, json_t **ret, char **reterr_msg)
{
	_cleanup_close_ int passed = -1;

	return proto_recv_fd(fd, timeout_ms, ret, &passed, reterr_msg);
}

/* Messages up to this size are read into the stack; larger ones into a
 * buffer of their own size (a buffer of PROTO_MSG_MAX for every message
 * cost an mmap and its page faults each time). */
#define PROTO_STACK_MSG 16384

int proto_recv_fd(int fd, int timeout_ms, json_t **ret, int *ret_fd, char **reterr_msg)
{
	_cleanup_free_ char *heap = NULL;
	char stack[PROTO_STACK_MSG];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(PROTO_FDS_ROOM * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = stack, .iov_len = sizeof(stack) };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	int fds[PROTO_FDS_ROOM];
	size_t n_fds = 0;
	json_t *o = NULL;
	ssize_t n;
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	/* The message's length, without taking it (MSG_TRUNC: the whole
	 * length even into no buffer); one beyond the limit is taken below
	 * into a byte, to be refused. */
	n = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
	if (n < 0)
		return -errno;
	if ((size_t)n > sizeof(stack)) {
		iov.iov_len = n > PROTO_MSG_MAX ? 1 : (size_t)n;
		iov.iov_base = heap = malloc(iov.iov_len);
		if (!heap)
			return -ENOMEM;
	}
	n = recvmsg(fd, &mh, MSG_TRUNC | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && n_fds < PROTO_FDS_ROOM; i++)
			memcpy(&fds[n_fds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}

	if (n == 0)
		r = -ECONNRESET;
	else if (n > PROTO_MSG_MAX)
		r = -EMSGSIZE;
	else if (n_fds > 1 || (mh.msg_flags & MSG_CTRUNC)) {
		set_errmsg(reterr_msg, "message carries more than one file descriptor");
		r = -EBADMSG;
	} else
		r = parse_object(iov.iov_base, (size_t)n, &o, reterr_msg);
	if (r < 0) {
		for (size_t i = 0; i < n_fds; i++)
			close(fds[i]);
		return r;
	}
	*ret = o;
	*ret_fd = n_fds ? fds[0] : -1;
	return 0;
}

int proto_call(const char *path, const json_t *req, int timeout_ms, json_t **ret_reply,
	       char **reterr_msg)
{
	return proto_call_fd(path, req, -1, timeout_ms, ret_reply, reterr_msg);
}

int proto_call_fd(const char *path, const json_t *req, int pass_fd, int timeout_ms,
		  json_t **ret_reply, char **reterr_msg)
{
	_cleanup_close_ int fd = proto_connect(path);
	int r;

	if (fd < 0) {
		set_errmsg(reterr_msg, "cannot connect to kuryrd at %s: %s", path, strerror(-fd));
		return fd;
	}
	r = proto_send_fd(fd, req, pass_fd);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot send to kuryrd at %s: %s", path, strerror(-r));
		return r;
	}
	r = proto_recv(fd, timeout_ms, ret_reply, reterr_msg);
	if (r < 0 && reterr_msg && !*reterr_msg)
		set_errmsg(reterr_msg, "no reply from kuryrd at %s: %s", path, strerror(-r));
	return r;
}

json_t *proto_error(int code, const char *msg, const char *details)
{
	json_t *e = json_pack("{s:i, s:s}", "code", code, "msg", msg);

	if (e && details && *details)
		json_object_set_new(e, "details", json_string(details));
	return json_pack("{s:o}", "error", e);
}
