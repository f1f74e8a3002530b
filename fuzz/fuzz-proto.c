/* SPDX-License-Identifier: Apache-2.0 */
/* One kuryrd request message, as any local client could send it. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	json_t *msg = NULL;
	char *err = NULL;

	if (size > PROTO_MSG_MAX || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	if (send(sv[0], data, size, MSG_NOSIGNAL) == (ssize_t)size)
		(void)proto_recv(sv[1], 0, &msg, &err);
	json_decref(msg);
	free(err);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
