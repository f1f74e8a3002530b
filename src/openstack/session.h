/* SPDX-License-Identifier: Apache-2.0 */
/* An authenticated HTTP session with one OpenStack service (Neutron): the
 * Keystone token (cached until shortly before it expires, renewed on 401),
 * the service's endpoint (given, or from the token's catalog), a bounded
 * set of reused curl handles (which is also the cap on concurrent
 * requests), timeouts and retries with exponential backoff and jitter that
 * honour Retry-After. Thread-safe. Tokens and passwords never reach a log
 * line or an error message. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "openstack/auth.h"

struct os_session;

struct os_session_opts {
	const struct os_auth_config *auth;
	const char *service_type; /* catalog type, e.g. "network" */
	int timeout_ms;		  /* per request, retries included; default 10000 */
	int max_concurrent;	  /* requests in flight at once; default 8 */
};

int os_session_new(const struct os_session_opts *o, struct os_session **ret, char **reterr_msg);
void os_session_free(struct os_session *s);

enum {
	/* The request may be repeated (GET, PUT, DELETE). Without it only
	 * failures that prove the server did not act are retried: no
	 * connection, 429 and 503. */
	OS_REQ_IDEMPOTENT = 1 << 0,
};

/* One request to the service: @path is appended to its endpoint. @body
 * (stolen) may be NULL; *ret gets the decoded reply (NULL for an empty
 * one) and may itself be NULL. Errors: -ECONNREFUSED (no connection),
 * -ETIMEDOUT, -EACCES (401/403, Keystone refused the credentials, or its
 * catalog has no such service at this region and interface),
 * -ENOENT (404), -EEXIST (409), -EDQUOT (409 over quota), -EINVAL (400),
 * -ESTALE (412: an If-Match header no longer matched), -EAGAIN (429/503
 * after the retries), -EIO (other 5xx), -EBADMSG (a reply that is not JSON). The
 * HTTP status is in *ret_status if non-NULL (0: no answer). The server's
 * own fault message is in *reterr_msg. */
int os_request(struct os_session *s, const char *method, const char *path, json_t *body,
	       int timeout_ms, unsigned flags, json_t **ret, long *ret_status, char **reterr_msg);
/* os_request() with one more request header @header ("Name: value"; NULL:
 * none), e.g. "If-Match: revision_number=7". */
int os_request_hdr(struct os_session *s, const char *method, const char *path, const char *header,
		   json_t *body, int timeout_ms, unsigned flags, json_t **ret, long *ret_status,
		   char **reterr_msg);

/* Authenticate now (if the session authenticates) and resolve the
 * endpoint. -EACCES when Keystone refuses the credentials. */
int os_session_login(struct os_session *s, char **reterr_msg);

/* The project the token is scoped to ("" without Keystone). */
void os_session_project_id(struct os_session *s, char *out, size_t size);

/* true if the last request got an HTTP answer from the service. */
bool os_session_reachable(struct os_session *s);
/* true if the last login found Keystone's catalog without the session's
 * service (its -EACCES then says so): the cloud has no such service. */
bool os_session_no_service(struct os_session *s);

/* Counters for /metrics. */
struct os_session_stats {
	unsigned long requests, retries, token_fetches, in_flight, waited;
};
void os_session_stats(struct os_session *s, struct os_session_stats *ret);

/* Keystone v3 internals, exposed for unit tests. */

/* The POST /v3/auth/tokens body for @c (password or application
 * credential), or NULL on a configuration it cannot express. */
json_t *keystone_auth_body(const struct os_auth_config *c);
/* From a token reply: its expiry (wall clock), scoped project id (malloc'ed,
 * "" if unscoped) and the URL of @service_type at @interface in @region (any
 * region if "" ), without a trailing "/" or version suffix. -ENOENT if the
 * catalog has no such endpoint, -EBADMSG if the reply is malformed. */
int keystone_parse_token(json_t *reply, const char *service_type, const char *interface,
			 const char *region, time_t *ret_expires, char **ret_project_id,
			 char **ret_endpoint, char **reterr_msg);
/* "2026-11-27T13:00:00.000000Z" -> seconds since the epoch; -1 if bad. */
time_t keystone_parse_time(const char *s);
/* A Retry-After value (delta seconds or an HTTP date) as milliseconds from
 * @now; -1 if it cannot be parsed. */
long http_retry_after_ms(const char *value, time_t now);
