/* SPDX-License-Identifier: Apache-2.0 */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "openstack/session.h"
#include "time-util.h"

/* Renew a token this long before Keystone says it expires. */
#define TOKEN_MARGIN_S	    60
#define RETRY_AFTER_MAX_MS  10000
#define BACKOFF_BASE_MS	    100
#define BACKOFF_MAX_MS	    2000
#define REPLY_MAX	    (64u * 1024 * 1024)
#define ATTEMPTS_IDEMPOTENT 4
#define ATTEMPTS_OTHER	    3

struct os_session {
	const struct os_auth_config *auth;
	char *service_type;
	int timeout_ms;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Idle curl handles (each keeps its connections open); the number
	 * in use is capped at max. */
	CURL **idle;
	unsigned n_idle, in_use, max;
	/* Authentication, under lock. */
	char *token;
	time_t expires;
	char *endpoint;
	char *project_id;
	bool fetching;

	atomic_bool reachable;
	/* The last login found no such service in the catalog. */
	atomic_bool no_service;
	atomic_ulong requests, retries, token_fetches, waited;
};

struct reply {
	char *data;
	size_t len;
	char *subject_token;
	char *retry_after;
	char curl_error[CURL_ERROR_SIZE]; /* curl's details of a failure */
};

static size_t on_body(char *p, size_t size, size_t n, void *userdata)
{
	struct reply *b = userdata;
	size_t add = size * n;
	char *nd;

	if (b->len + add > REPLY_MAX)
		return 0;
	nd = realloc(b->data, b->len + add + 1);
	if (!nd)
		return 0;
	memcpy(nd + b->len, p, add);
	b->data = nd;
	b->len += add;
	b->data[b->len] = 0;
	return add;
}

/* The value of header @name in line @p (@n bytes), trimmed, or NULL. */
static char *header_value(const char *p, size_t n, const char *name)
{
	size_t l = strlen(name);

	if (n <= l || p[l] != ':' || strncasecmp(p, name, l) != 0)
		return NULL;
	p += l + 1;
	n -= l + 1;
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == '\r' || p[n - 1] == '\n' || p[n - 1] == ' '))
		n--;
	return strndup(p, n);
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata)
{
	struct reply *b = userdata;
	char *v;

	if ((v = header_value(p, size * n, "X-Subject-Token"))) {
		free(b->subject_token);
		b->subject_token = v;
	} else if ((v = header_value(p, size * n, "Retry-After"))) {
		free(b->retry_after);
		b->retry_after = v;
	}
	return size * n;
}

static void reply_release(struct reply *b)
{
	free(b->data);
	free(b->subject_token);
	free(b->retry_after);
	*b = (struct reply){ 0 };
}

time_t keystone_parse_time(const char *s)
{
	struct tm tm = { 0 };
	const char *end;

	if (!s || !(end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return -1;
	if (*end == '.')
		for (end++; *end >= '0' && *end <= '9'; end++)
			;
	if (*end && !streq(end, "Z") && !streq(end, "+00:00"))
		return -1;
	return timegm(&tm);
}

long http_retry_after_ms(const char *v, time_t now)
{
	struct tm tm = { 0 };
	const char *end;
	char *e;
	long s;

	if (!v || !*v)
		return -1;
	errno = 0;
	s = strtol(v, &e, 10);
	if (!*e && errno == 0 && s >= 0)
		return s > LONG_MAX / 1000 ? LONG_MAX : s * 1000;
	end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return -1;
	s = (long)(timegm(&tm) - now);
	return s < 0 ? 0 : s * 1000;
}

/* The server's own words for a failure: Neutron's NeutronError, Keystone's
 * error, Octavia's (WSME's) faultstring, or a bare message. */
static char *fault_message(const struct reply *b)
{
	_cleanup_json_ json_t *j = b->data ? json_loads(b->data, 0, NULL) : NULL;
	const char *m = json_object_get_str(json_object_get(j, "NeutronError"), "message");

	if (!m)
		m = json_object_get_str(json_object_get(j, "error"), "message");
	if (!m)
		m = json_object_get_str(j, "faultstring");
	if (!m)
		m = json_object_get_str(j, "message");
	return strdup(m ? m : "no message");
}

static int status_to_errno(long code, const struct reply *b)
{
	if (code >= 200 && code < 300)
		return 0;
	if (code == 409 && b && b->data) {
		/* Neutron's over-quota fault is a 409 of its own type. */
		_cleanup_json_ json_t *j = json_loads(b->data, 0, NULL);

		if (streq_ptr(json_object_get_str(json_object_get(j, "NeutronError"), "type"),
			      "OverQuota"))
			return -EDQUOT;
	}
	switch (code) {
	case 400:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 409:
		return -EEXIST;
	case 412:
		/* An If-Match the resource no longer matches (Neutron's
		 * revision_number): read it again. */
		return -ESTALE;
	case 413:
		return -E2BIG;
	case 429:
	case 503:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

static void setup_handle(struct os_session *s, CURL *c, const char *url, const char *method,
			 const char *payload, struct curl_slist *h, int timeout_ms, struct reply *b)
{
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(timeout_ms < 3000 ? timeout_ms : 3000));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, b->curl_error);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (*s->auth->cafile)
		curl_easy_setopt(c, CURLOPT_CAINFO, s->auth->cafile);
	if (s->auth->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (payload)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
}

/* Failures no retry mends: the server's certificate is not trusted, or the
 * CA file cannot be read. (Not CURLE_SSL_CONNECT_ERROR: a connection reset
 * during the handshake is one too.) */
static bool curl_permanent(CURLcode cc)
{
	return cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE;
}

/* "@what: " and why curl failed, in its own words and in ours for TLS. */
static void curl_errmsg(struct os_session *s, char **reterr_msg, const char *what, CURLcode cc,
			const struct reply *b)
{
	const char *detail = *b->curl_error ? b->curl_error : curl_easy_strerror(cc);

	if (cc == CURLE_PEER_FAILED_VERIFICATION && *s->auth->cafile)
		set_errmsg(reterr_msg,
			   "%s: TLS: the server's certificate is not trusted by the CA file "
			   "(cafile) \"%s\": %s",
			   what, s->auth->cafile, detail);
	else if (cc == CURLE_PEER_FAILED_VERIFICATION)
		set_errmsg(reterr_msg,
			   "%s: TLS: the server's certificate is not trusted by the system's CAs "
			   "(set cafile to its CA): %s",
			   what, detail);
	else if (cc == CURLE_SSL_CACERT_BADFILE)
		set_errmsg(reterr_msg, "%s: TLS: cannot use the CA file (cafile) \"%s\": %s", what,
			   s->auth->cafile, detail);
	else
		set_errmsg(reterr_msg, "%s: %s", what, detail);
}

/* Take a curl handle, waiting while max are in use. */
static CURL *handle_get(struct os_session *s)
{
	CURL *c;

	pthread_mutex_lock(&s->lock);
	if (s->in_use >= s->max)
		atomic_fetch_add(&s->waited, 1);
	while (s->in_use >= s->max)
		pthread_cond_wait(&s->cond, &s->lock);
	s->in_use++;
	c = s->n_idle ? s->idle[--s->n_idle] : NULL;
	pthread_mutex_unlock(&s->lock);
	if (!c && !(c = curl_easy_init())) {
		pthread_mutex_lock(&s->lock);
		s->in_use--;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
	return c;
}

static void handle_put(struct os_session *s, CURL *c)
{
	pthread_mutex_lock(&s->lock);
	s->idle[s->n_idle++] = c;
	s->in_use--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* The project a password or token login is scoped to, or NULL. */
static json_t *project_scope(const struct os_auth_config *c)
{
	if (*c->project_id)
		return json_pack("{s:{s:s}}", "project", "id", c->project_id);
	if (*c->project_name)
		return json_pack("{s:{s:s, s:{s:s}}}", "project", "name", c->project_name, "domain",
				 *c->project_domain_id ? "id" : "name",
				 *c->project_domain_id	   ? c->project_domain_id
				 : *c->project_domain_name ? c->project_domain_name
							   : "Default");
	return NULL;
}

json_t *keystone_auth_body(const struct os_auth_config *c)
{
	json_t *identity, *user = NULL, *scope = NULL;

	if (*c->user_id)
		user = json_pack("{s:s}", "id", c->user_id);
	else if (*c->username)
		user = json_pack("{s:s, s:{s:s}}", "name", c->username, "domain",
				 *c->user_domain_id ? "id" : "name",
				 *c->user_domain_id	? c->user_domain_id
				 : *c->user_domain_name ? c->user_domain_name
							: "Default");
	if (c->auth_type == OS_AUTH_PASSWORD) {
		if (!user)
			return NULL;
		json_object_set_new(user, "password", json_string(c->password));
		identity =
		    json_pack("{s:[s], s:{s:o}}", "methods", "password", "password", "user", user);
		scope = project_scope(c);
	} else if (c->auth_type == OS_AUTH_TOKEN) {
		json_decref(user);
		identity =
		    json_pack("{s:[s], s:{s:s}}", "methods", "token", "token", "id", c->token);
		scope = project_scope(c);
	} else if (c->auth_type == OS_AUTH_APPCRED) {
		json_t *ac = json_pack("{s:s}", "secret", c->application_credential_secret);

		if (*c->application_credential_id) {
			json_object_set_new(ac, "id", json_string(c->application_credential_id));
			json_decref(user);
		} else if (*c->application_credential_name && user) {
			json_object_set_new(ac, "name",
					    json_string(c->application_credential_name));
			json_object_set_new(ac, "user", user);
		} else {
			json_decref(ac);
			json_decref(user);
			return NULL;
		}
		/* An application credential carries its own scope. */
		identity = json_pack("{s:[s], s:o}", "methods", "application_credential",
				     "application_credential", ac);
	} else {
		json_decref(user);
		return NULL;
	}
	if (!identity) {
		json_decref(scope);
		return NULL;
	}
	return scope ? json_pack("{s:{s:o, s:o}}", "auth", "identity", identity, "scope", scope)
		     : json_pack("{s:{s:o}}", "auth", "identity", identity);
}

/* @url without a trailing "/" or version ("/v2.0", "/v3"). */
static char *trim_url(const char *url)
{
	char *u = strdup(url);
	size_t l = u ? strlen(u) : 0;

	while (l && u[l - 1] == '/')
		u[--l] = 0;
	if (l > 5 && streq(u + l - 5, "/v2.0"))
		u[l - 5] = 0;
	return u;
}

int keystone_parse_token(json_t *reply, const char *service_type, const char *interface,
			 const char *region, time_t *ret_expires, char **ret_project_id,
			 char **ret_endpoint, char **reterr_msg)
{
	json_t *tok = json_object_get(reply, "token"), *cat, *svc, *ep;
	const char *iface = interface && *interface ? interface : "public";
	time_t expires;
	size_t i, j;

	expires = keystone_parse_time(json_object_get_str(tok, "expires_at"));
	if (expires < 0) {
		set_errmsg(reterr_msg, "Keystone's token has no valid expires_at");
		return -EBADMSG;
	}
	cat = json_object_get(tok, "catalog");
	json_array_foreach(cat, i, svc) {
		if (!streq_ptr(json_object_get_str(svc, "type"), service_type))
			continue;
		json_array_foreach(json_object_get(svc, "endpoints"), j, ep) {
			const char *url = json_object_get_str(ep, "url");
			const char *rid = json_object_get_str(ep, "region_id");
			const char *rname = json_object_get_str(ep, "region");

			if (!url || !streq_ptr(json_object_get_str(ep, "interface"), iface))
				continue;
			if (region && *region && !streq_ptr(rid, region) &&
			    !streq_ptr(rname, region))
				continue;
			*ret_expires = expires;
			*ret_endpoint = trim_url(url);
			*ret_project_id = strdup(
			    json_object_get_str(json_object_get(tok, "project"), "id") ?: "");
			if (!*ret_endpoint || !*ret_project_id) {
				free(*ret_endpoint);
				free(*ret_project_id);
				return -ENOMEM;
			}
			return 0;
		}
	}
	set_errmsg(reterr_msg, "Keystone's catalog has no %s endpoint for service type \"%s\"%s%s",
		   iface, service_type, region && *region ? " in region " : "",
		   region && *region ? region : "");
	return -ENOENT;
}

/* POST /v3/auth/tokens with the session's credentials. Called without the
 * lock; fills the token, expiry, project and (without an override) the
 * endpoint. *ret_permanent: Keystone could not be reached for a reason no
 * retry mends (TLS). */
static int token_fetch(struct os_session *s, bool *ret_permanent, char **reterr_msg)
{
	const struct os_auth_config *a = s->auth;
	_cleanup_free_ char *url = NULL, *payload = NULL, *base = trim_url(a->auth_url);
	_cleanup_free_ char *endpoint = NULL, *project = NULL, *msg = NULL;
	_cleanup_json_ json_t *body = keystone_auth_body(a), *res = NULL;
	struct curl_slist *h = NULL;
	struct reply b = { 0 };
	long code = 0;
	time_t expires = 0;
	CURLcode cc;
	CURL *c;
	int r;

	if (!base || !body)
		return -ENOMEM;
	/* auth_url is ".../v3" or the bare Keystone URL. */
	if (asprintf(&url, "%s%s/auth/tokens", base,
		     strlen(base) > 3 && streq(base + strlen(base) - 3, "/v3") ? "" : "/v3") < 0)
		return -ENOMEM;
	payload = json_dumps(body, JSON_COMPACT);
	if (!payload || !(c = curl_easy_init()))
		return -ENOMEM;
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json");
	setup_handle(s, c, url, "POST", payload, h, s->timeout_ms, &b);
	cc = curl_easy_perform(c);
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	atomic_fetch_add(&s->token_fetches, 1);
	if (cc != CURLE_OK) {
		_cleanup_free_ char *what = strdup_printf("Keystone at %s", base);

		curl_errmsg(s, reterr_msg, what ?: "Keystone", cc, &b);
		reply_release(&b);
		if (ret_permanent)
			*ret_permanent = curl_permanent(cc);
		return cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
	}
	if (code != 201 && code != 200) {
		msg = fault_message(&b);
		reply_release(&b);
		r = status_to_errno(code, &b);
		if (r == -EACCES || r == -ENOENT || r == -EINVAL) {
			bool ac = a->auth_type == OS_AUTH_APPCRED;
			const char *who =
			    ac ? (*a->application_credential_id ? a->application_credential_id
								: a->application_credential_name)
			       : (*a->username ? a->username : a->user_id);

			if (a->auth_type == OS_AUTH_TOKEN)
				set_errmsg(reterr_msg,
					   "Keystone at %s refused the token (auth_type token; "
					   "expired or revoked?): HTTP %ld: %s",
					   base, code, msg);
			else
				set_errmsg(reterr_msg,
					   "Keystone at %s refused the credentials of %s \"%s\": "
					   "HTTP %ld: %s",
					   base, ac ? "application credential" : "user", who, code,
					   msg);
		} else
			set_errmsg(reterr_msg, "Keystone at %s: HTTP %ld: %s", base, code, msg);
		return r == -EINVAL || r == -ENOENT ? -EACCES : r;
	}
	res = b.data ? json_loads(b.data, 0, NULL) : NULL;
	if (!b.subject_token || !res) {
		set_errmsg(reterr_msg, "Keystone at %s answered without a token", base);
		reply_release(&b);
		return -EBADMSG;
	}
	r = keystone_parse_token(res, s->service_type, a->interface, a->region_name, &expires,
				 &project, &endpoint, reterr_msg);
	if (r == -ENOENT && *a->endpoint_override) {
		/* The catalog need not list a service whose URL is given. */
		json_t *tok = json_object_get(res, "token");

		expires = keystone_parse_time(json_object_get_str(tok, "expires_at"));
		project = strdup(json_object_get_str(json_object_get(tok, "project"), "id") ?: "");
		r = expires < 0 ? -EBADMSG : !project ? -ENOMEM : 0;
	}
	atomic_store(&s->no_service, r == -ENOENT);
	if (r < 0) {
		reply_release(&b);
		/* No such endpoint in the catalog is how this cloud is set up
		 * (region, interface): refused like bad credentials, never
		 * "no such object", which callers would take for a missing
		 * network or port. */
		return r == -ENOENT ? -EACCES : r;
	}
	pthread_mutex_lock(&s->lock);
	free(s->token);
	s->token = TAKE_PTR(b.subject_token);
	s->expires = expires;
	free(s->project_id);
	s->project_id = TAKE_PTR(project);
	if (!*a->endpoint_override) {
		free(s->endpoint);
		s->endpoint = TAKE_PTR(endpoint);
	}
	pthread_mutex_unlock(&s->lock);
	reply_release(&b);
	return 0;
}

/* A copy of a valid token in *ret (NULL without Keystone), fetching a new
 * one if there is none or it is about to expire. One thread fetches; the
 * others wait for it. */
static int token_get(struct os_session *s, char **ret, bool *ret_permanent, char **reterr_msg)
{
	int r = 0;

	*ret = NULL;
	if (ret_permanent)
		*ret_permanent = false;
	if (s->auth->auth_type == OS_AUTH_NONE)
		return 0;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		if (s->token && time(NULL) < s->expires - TOKEN_MARGIN_S) {
			*ret = strdup(s->token);
			pthread_mutex_unlock(&s->lock);
			return *ret ? 0 : -ENOMEM;
		}
		if (!s->fetching)
			break;
		pthread_cond_wait(&s->cond, &s->lock);
	}
	s->fetching = true;
	pthread_mutex_unlock(&s->lock);
	r = token_fetch(s, ret_permanent, reterr_msg);
	pthread_mutex_lock(&s->lock);
	s->fetching = false;
	pthread_cond_broadcast(&s->cond);
	if (r == 0 && !(*ret = strdup(s->token)))
		r = -ENOMEM;
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Forget @used if it is still the cached token (the service refused it). */
static void token_invalidate(struct os_session *s, const char *used)
{
	pthread_mutex_lock(&s->lock);
	if (s->token && used && streq(s->token, used)) {
		free(s->token);
		s->token = NULL;
	}
	pthread_mutex_unlock(&s->lock);
}

static char *endpoint_url(struct os_session *s, const char *path)
{
	char *url = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->endpoint && asprintf(&url, "%s%s", s->endpoint, path) < 0)
		url = NULL;
	pthread_mutex_unlock(&s->lock);
	return url;
}

static long backoff_ms(int attempt)
{
	long d = BACKOFF_BASE_MS << attempt;

	if (d > BACKOFF_MAX_MS)
		d = BACKOFF_MAX_MS;
	/* Full jitter over the upper half: [d/2, d]. */
	return d / 2 + (long)arc4random_uniform((uint32_t)(d / 2 + 1));
}

int os_request(struct os_session *s, const char *method, const char *path, json_t *body,
	       int timeout_ms, unsigned flags, json_t **ret, long *ret_status, char **reterr_msg)
{
	return os_request_hdr(s, method, path, NULL, body, timeout_ms, flags, ret, ret_status,
			      reterr_msg);
}

int os_request_hdr(struct os_session *s, const char *method, const char *path, const char *header,
		   json_t *body, int timeout_ms, unsigned flags, json_t **ret, long *ret_status,
		   char **reterr_msg)
{
	_cleanup_free_ char *payload = NULL;
	bool idempotent = flags & OS_REQ_IDEMPOTENT, renewed = false;
	int64_t deadline, left;
	int attempts = idempotent ? ATTEMPTS_IDEMPOTENT : ATTEMPTS_OTHER, r = -EIO;
	long code = 0;

	if (ret)
		*ret = NULL;
	if (body) {
		payload = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (!payload)
			return -ENOMEM;
	}
	if (timeout_ms <= 0)
		timeout_ms = s->timeout_ms;
	deadline = (int64_t)now_ms() + timeout_ms;
	atomic_fetch_add(&s->requests, 1);
	for (int a = 0; a < attempts; a++) {
		_cleanup_free_ char *token = NULL, *url = NULL, *auth_hdr = NULL;
		struct curl_slist *h = NULL;
		struct reply b = { 0 };
		bool retry = false, permanent;
		long delay = -1;
		CURLcode cc;
		CURL *c;

		code = 0;
		r = token_get(s, &token, &permanent, reterr_msg);
		if (r < 0) {
			/* Keystone unreachable is worth another try; refused
			 * credentials or certificate are not. */
			if ((r == -ECONNREFUSED || r == -ETIMEDOUT) && !permanent &&
			    a + 1 < attempts && (int64_t)now_ms() + backoff_ms(a) < deadline) {
				atomic_fetch_add(&s->retries, 1);
				msleep(backoff_ms(a));
				continue;
			}
			break;
		}
		url = endpoint_url(s, path);
		if (!url) {
			r = -ENOMEM;
			break;
		}
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, "Accept: application/json");
		if (header)
			h = curl_slist_append(h, header);
		if (token) {
			if (asprintf(&auth_hdr, "X-Auth-Token: %s", token) < 0) {
				curl_slist_free_all(h);
				r = -ENOMEM;
				break;
			}
			h = curl_slist_append(h, auth_hdr);
		}
		c = handle_get(s);
		if (!c) {
			curl_slist_free_all(h);
			r = -ENOMEM;
			break;
		}
		left = deadline - (int64_t)now_ms();
		setup_handle(s, c, url, method, payload, h, left > 1 ? (int)left : 1, &b);
		cc = curl_easy_perform(c);
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
		handle_put(s, c);
		curl_slist_free_all(h);
		atomic_store(&s->reachable, cc == CURLE_OK);

		if (cc != CURLE_OK) {
			bool not_sent =
			    cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST;
			_cleanup_free_ char *what = strdup_printf("%s %s", method, url);

			r = cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
			curl_errmsg(s, reterr_msg, what ?: method, cc, &b);
			retry = !curl_permanent(cc) && (not_sent || idempotent);
		} else if (code == 401 && token && !renewed) {
			/* Revoked or expired early: one new token, once. */
			token_invalidate(s, token);
			renewed = true;
			a--;
			reply_release(&b);
			continue;
		} else if ((r = status_to_errno(code, &b)) < 0) {
			_cleanup_free_ char *msg = fault_message(&b);

			set_errmsg(reterr_msg, "%s %s: HTTP %ld: %s", method, path, code, msg);
			retry = code == 429 || code == 503 || (code >= 500 && idempotent);
			if (code == 429 || code == 503)
				delay = http_retry_after_ms(b.retry_after, time(NULL));
		} else if (ret && b.len) {
			*ret = json_loadb(b.data, b.len, 0, NULL);
			if (!*ret) {
				set_errmsg(reterr_msg, "%s %s: reply is not JSON", method, path);
				r = -EBADMSG;
			}
		}
		reply_release(&b);
		if (!retry || a + 1 >= attempts)
			break;
		if (delay > RETRY_AFTER_MAX_MS)
			delay = RETRY_AFTER_MAX_MS;
		if (delay < 0)
			delay = backoff_ms(a);
		/* The whole request, retries included, fits in timeout_ms. */
		if ((int64_t)now_ms() + delay >= deadline)
			break;
		atomic_fetch_add(&s->retries, 1);
		msleep(delay);
	}
	if (ret_status)
		*ret_status = code;
	return r;
}

int os_session_login(struct os_session *s, char **reterr_msg)
{
	_cleanup_free_ char *token = NULL;

	return token_get(s, &token, NULL, reterr_msg);
}

void os_session_project_id(struct os_session *s, char *out, size_t size)
{
	pthread_mutex_lock(&s->lock);
	snprintf(out, size, "%s", s->project_id ? s->project_id : "");
	pthread_mutex_unlock(&s->lock);
}

bool os_session_reachable(struct os_session *s)
{
	return atomic_load(&s->reachable);
}

bool os_session_no_service(struct os_session *s)
{
	return atomic_load(&s->no_service);
}

void os_session_stats(struct os_session *s, struct os_session_stats *ret)
{
	pthread_mutex_lock(&s->lock);
	ret->in_flight = s->in_use;
	pthread_mutex_unlock(&s->lock);
	ret->requests = atomic_load(&s->requests);
	ret->retries = atomic_load(&s->retries);
	ret->token_fetches = atomic_load(&s->token_fetches);
	ret->waited = atomic_load(&s->waited);
}

int os_session_new(const struct os_session_opts *o, struct os_session **ret, char **reterr_msg)
{
	struct os_session *s;
	int r;

	r = os_auth_config_check(o->auth, reterr_msg);
	if (r < 0)
		return r;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->auth = o->auth;
	s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
	s->max = o->max_concurrent > 0 ? (unsigned)o->max_concurrent : 8;
	s->service_type = strdup(o->service_type);
	s->idle = calloc(s->max, sizeof(*s->idle));
	s->project_id = strdup("");
	if (*o->auth->endpoint_override)
		s->endpoint = trim_url(o->auth->endpoint_override);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	if (!s->service_type || !s->idle || !s->project_id ||
	    (*o->auth->endpoint_override && !s->endpoint)) {
		os_session_free(s);
		return -ENOMEM;
	}
	*ret = s;
	return 0;
}

void os_session_free(struct os_session *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->n_idle; i++)
		curl_easy_cleanup(s->idle[i]);
	free(s->idle);
	free(s->service_type);
	free(s->token);
	free(s->endpoint);
	free(s->project_id);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}
