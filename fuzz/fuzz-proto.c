/* SPDX-License-Identifier: Apache-2.0 */
/* One kuryrd request message, as any local client could send it; inputs of
 * odd length also carry a descriptor, as kuryr-cni's do. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ssize_t send_with_fd(int sock, const uint8_t *data, size_t size, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)data, .iov_len = size };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2], fd = -1, passed = -1;
	json_t *msg = NULL;
	char *err = NULL;
	ssize_t n;

	if (size > PROTO_MSG_MAX || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	if (size % 2)
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? send_with_fd(sv[0], data, size, fd) : send(sv[0], data, size, MSG_NOSIGNAL);
	if (n == (ssize_t)size)
		(void)proto_recv_fd(sv[1], 0, &msg, &passed, &err);
	if (passed >= 0)
		close(passed);
	if (fd >= 0)
		close(fd);
	json_decref(msg);
	free(err);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
