/* SPDX-License-Identifier: Apache-2.0 */
/* The kuryrd request/reply protocol: one JSON object each way per
 * connection, over a SOCK_SEQPACKET unix socket (message boundaries kept by
 * the kernel, so there is no framing to get wrong).
 *
 * Request:  {"op": "add"|"del"|"check"|"status"|"gc"|"network.create"|...,
 *            "env": {...CNI_* variables...}, "config": {...netconf...},
 *            "args": {...operator arguments...}}
 * Reply:    {"result": <any>}  or  {"error": {"code": N, "msg": "...", "details": "..."}}
 *
 * A request may carry one file descriptor as SCM_RIGHTS: kuryr-cni passes
 * the container's netns that way, since the runtime may have mounted it
 * where kuryrd cannot see the path (another mount namespace). */
#pragma once

#include <jansson.h>

/* Largest message either side sends. */
#define PROTO_MSG_MAX (128 * 1024)

/* Connect to the daemon socket @path. Returns a connected fd or -errno. */
int proto_connect(const char *path);

/* Send @msg (borrowed) as one message. 0 or -errno (-EMSGSIZE if too big). */
int proto_send(int fd, const json_t *msg);
/* The same, with descriptor @pass_fd (borrowed; -1: none) attached. */
int proto_send_fd(int fd, const json_t *msg, int pass_fd);

/* Receive one message, waiting at most @timeout_ms (<0: forever). Returns 0
 * and a new object in *ret; -ETIMEDOUT, -ECONNRESET on EOF, -EBADMSG if it is
 * not a JSON object (detail in *reterr_msg), -EMSGSIZE if truncated. */
int proto_recv(int fd, int timeout_ms, json_t **ret, char **reterr_msg);
/* proto_recv(), also taking the descriptor the message carried: *ret_fd is
 * a new O_CLOEXEC fd the caller owns, or -1 if none came. A message with
 * more than one is refused (-EBADMSG), and whatever it carried is closed on
 * any failure; *ret and *ret_fd are untouched then. proto_recv() closes
 * any descriptor that arrives. */
int proto_recv_fd(int fd, int timeout_ms, json_t **ret, int *ret_fd, char **reterr_msg);

/* Connect, send @req, wait for the reply. */
int proto_call(const char *path, const json_t *req, int timeout_ms, json_t **ret_reply,
	       char **reterr_msg);
/* The same, sending descriptor @pass_fd (borrowed; -1: none) with @req. */
int proto_call_fd(const char *path, const json_t *req, int pass_fd, int timeout_ms,
		  json_t **ret_reply, char **reterr_msg);

/* Build {"error": {"code", "msg", "details"}}; @details may be NULL. */
json_t *proto_error(int code, const char *msg, const char *details);
