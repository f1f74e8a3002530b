/* SPDX-License-Identifier: Apache-2.0 */
/* What an OVSDB server sends: a stream of JSON-RPC messages, split and
 * dispatched by the client's reader thread (echo, replies, updates). */
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ovsdb/ovsdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ovsdb_client *c = NULL;
	json_t *res = NULL;
	char *err = NULL;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	if (ovsdb_client_adopt_fd(sv[0], "fuzz", &c, NULL) < 0) {
		close(sv[1]);
		return 0;
	}
	/* The server's bytes arrive while a call (id 1) is waiting, so a reply
	 * in the input is matched and checked too. */
	if (write(sv[1], data, size) == (ssize_t)size)
		(void)ovsdb_transact(c, "Fuzz", json_array(), 50, &res, &err);
	shutdown(sv[1], SHUT_WR);
	ovsdb_client_free(c);
	close(sv[1]);
	json_decref(res);
	free(err);
	return 0;
}
