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
	_cleanup_free_ char *s = json_dumps(msg, JSON_COMPACT);
	size_t len;
	ssize_t n;

	if (!s)
		return -ENOMEM;
	len = strlen(s);
	if (len > PROTO_MSG_MAX)
		return -EMSGSIZE;
	n = send(fd, s, len, MSG_NOSIGNAL);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int proto_recv(int fd, int timeout_ms, json_t **ret, char **reterr_msg)
{
	_cleanup_free_ char *buf = malloc(PROTO_MSG_MAX + 1);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	json_error_t jerr;
	json_t *o;
	ssize_t n;
	int r;

	if (!buf)
		return -ENOMEM;
	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	n = recv(fd, buf, PROTO_MSG_MAX + 1, MSG_TRUNC);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	if (n > PROTO_MSG_MAX)
		return -EMSGSIZE;
	o = json_loadb(buf, (size_t)n, 0, &jerr);
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

int proto_call(const char *path, const json_t *req, int timeout_ms, json_t **ret_reply,
	       char **reterr_msg)
{
	_cleanup_close_ int fd = proto_connect(path);
	int r;

	if (fd < 0) {
		set_errmsg(reterr_msg, "cannot connect to kuryrd at %s: %s", path, strerror(-fd));
		return fd;
	}
	r = proto_send(fd, req);
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
