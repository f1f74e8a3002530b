/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for the OpenStack session (src/openstack/session.c) against a small
 * HTTP server in this process that plays Keystone and a service: the token
 * is fetched once and reused, renewed when the service refuses it, wrong
 * credentials fail without showing the secret, 503 + Retry-After is waited
 * out, a POST is never repeated after a 500 while a GET is, the cap on
 * concurrent requests holds, connections are reused, and a closed port
 * fails fast; an extra header (If-Match) is sent, and its 412 is -ESTALE.
 * Over HTTPS, with a CA and server certificate made here by GnuTLS: cafile set to that CA works, as
 * does insecure; no cafile (the system's CAs) and another CA's file fail at once, not retried,
 * saying the certificate is not trusted; a missing cafile fails naming the file. Also the pure
 * Keystone helpers (auth body, catalog, times). */
#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "json-util.h"
#include "macro.h"
#include "openstack/session.h"

#define PASSWORD   "s3cret-pa55"
#define BASE_TOKEN "gAAAA-base-t0ken" /* what auth_type token starts from */

struct server {
	struct MHD_Daemon *d;
	const char *scheme; /* "http" or "https" */
	unsigned port;
	atomic_int token_fetches, connections, busy_calls, fail_calls, in_flight, max_in_flight;
	atomic_int token_gen; /* the valid token is "tok-<gen>" */
	pthread_mutex_t lock;
};

struct upload {
	char *data;
	size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
			     const char *h1, const char *v1)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "application/json");
	if (h1)
		MHD_add_response_header(r, h1, v1);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result token_reply(struct server *s, struct MHD_Connection *c, const char *body)
{
	_cleanup_json_ json_t *req = json_loads(body ? body : "", 0, NULL);
	json_t *pw = json_object_get(
	    json_object_get(
		json_object_get(json_object_get(json_object_get(req, "auth"), "identity"),
				"password"),
		"user"),
	    "password");
	json_t *base = json_object_get(
	    json_object_get(json_object_get(json_object_get(req, "auth"), "identity"), "token"),
	    "id");
	_cleanup_free_ char *tok = NULL, *out = NULL;
	char exp[32];
	time_t t = time(NULL) + 3600;

	atomic_fetch_add(&s->token_fetches, 1);
	if (!streq_ptr(json_string_value(pw), PASSWORD) &&
	    !streq_ptr(json_string_value(base), BASE_TOKEN))
		return reply(c, 401,
			     "{\"error\":{\"code\":401,\"message\":\"The request you have made "
			     "requires authentication.\"}}",
			     NULL, NULL);
	strftime(exp, sizeof(exp), "%Y-%m-%dT%H:%M:%S.000000Z", gmtime(&t));
	assert_true(asprintf(&tok, "tok-%d", atomic_load(&s->token_gen)) > 0);
	assert_true(asprintf(&out,
			     "{\"token\":{\"expires_at\":\"%s\",\"project\":{\"id\":\"p1\"},"
			     "\"catalog\":[{\"type\":\"identity\",\"endpoints\":[]},"
			     "{\"type\":\"network\",\"endpoints\":["
			     "{\"interface\":\"internal\",\"region_id\":\"R1\",\"url\":\"http://"
			     "127.0.0.1:1/\"},"
			     "{\"interface\":\"public\",\"region_id\":\"R1\",\"url\":\"%s://"
			     "127.0.0.1:%u/\"}]}]}}",
			     exp, s->scheme, s->port) > 0);
	return reply(c, 201, out, "X-Subject-Token", tok);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *data,
			       size_t *data_size, void **con_cls)
{
	struct server *s = cls;
	struct upload *u = *con_cls;
	const char *tok;
	char want[32];

	if (!u) {
		*con_cls = calloc(1, sizeof(struct upload));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*data_size) {
		u->data = realloc(u->data, u->len + *data_size + 1);
		memcpy(u->data + u->len, data, *data_size);
		u->len += *data_size;
		u->data[u->len] = 0;
		*data_size = 0;
		return MHD_YES;
	}
	if (streq(url, "/v3/auth/tokens"))
		return token_reply(s, c, u->data);
	snprintf(want, sizeof(want), "tok-%d", atomic_load(&s->token_gen));
	tok = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Auth-Token");
	if (!streq_ptr(tok, want))
		return reply(c, 401, "{\"message\":\"token refused\"}", NULL, NULL);
	if (streq(url, "/v2.0/ok"))
		return reply(c, 200, "{\"ok\":true}", NULL, NULL);
	if (streq(url, "/v2.0/busy")) {
		if (atomic_fetch_add(&s->busy_calls, 1) == 0)
			return reply(c, 503, "{\"message\":\"busy\"}", "Retry-After", "1");
		return reply(c, 200, "{\"ok\":true}", NULL, NULL);
	}
	if (streq(url, "/v2.0/fail")) {
		atomic_fetch_add(&s->fail_calls, 1);
		return reply(c, 500, "{\"NeutronError\":{\"type\":\"X\",\"message\":\"it broke\"}}",
			     NULL, NULL);
	}
	if (streq(url, "/v2.0/unsupported"))
		/* Octavia's (WSME's) fault: a faultstring, no NeutronError. */
		return reply(c, 501,
			     "{\"faultcode\":\"Server\",\"faultstring\":\"Provider 'ovn' does "
			     "not support a requested option: OVN provider does not support HTTP "
			     "protocol\",\"debuginfo\":null}",
			     NULL, NULL);
	if (streq(url, "/v2.0/quota"))
		return reply(c, 409,
			     "{\"NeutronError\":{\"type\":\"OverQuota\",\"message\":\"Quota "
			     "exceeded for resources: ['port'].\"}}",
			     NULL, NULL);
	if (streq(url, "/v2.0/match")) {
		/* Like Neutron's revision_number If-Match: 412 once it moved on. */
		const char *m = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Match");

		if (m && !streq(m, "revision_number=3"))
			return reply(
			    c, 412,
			    "{\"NeutronError\":{\"type\":\"RevisionNumberConstraintFailed\","
			    "\"message\":\"Constrained to 2, but current revision is 3\"}}",
			    NULL, NULL);
		return reply(c, 200, "{\"ok\":true}", NULL, NULL);
	}
	if (streq(url, "/v2.0/slow")) {
		int n = atomic_fetch_add(&s->in_flight, 1) + 1, m;

		while ((m = atomic_load(&s->max_in_flight)) < n &&
		       !atomic_compare_exchange_weak(&s->max_in_flight, &m, n))
			;
		usleep(100 * 1000);
		atomic_fetch_sub(&s->in_flight, 1);
		return reply(c, 200, "{}", NULL, NULL);
	}
	return reply(c, 404, "{\"message\":\"no such thing\"}", NULL, NULL);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;

	if (u)
		free(u->data);
	free(u);
	*con_cls = NULL;
}

static void notify_conn(void *cls, struct MHD_Connection *c, void **socket_context,
			enum MHD_ConnectionNotificationCode code)
{
	struct server *s = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&s->connections, 1);
}

/* The certificates of the HTTPS cases, made once for all of them: a CA whose
 * file is in dir, the server's certificate and key signed by it (PEM, in
 * memory), and another CA's file that did not sign it. */
static struct {
	char dir[64], ca[PATH_MAX], other_ca[PATH_MAX], missing[PATH_MAX];
	char *server_cert, *server_key;
} pki;

struct cert {
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
};

/* @d, exported by GnuTLS, as a string. */
static char *datum_str(gnutls_datum_t *d)
{
	char *s = strndup((const char *)d->data, d->size);

	gnutls_free(d->data);
	assert_non_null(s);
	return s;
}

static char *crt_pem(const struct cert *c)
{
	gnutls_datum_t d;

	assert_int_equal(gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_PEM, &d), 0);
	return datum_str(&d);
}

static char *key_pem(const struct cert *c)
{
	gnutls_datum_t d;

	assert_int_equal(gnutls_x509_privkey_export2(c->key, GNUTLS_X509_FMT_PEM, &d), 0);
	return datum_str(&d);
}

/* A CA certificate named @cn (self-signed) if @ca is NULL, else a server
 * certificate for 127.0.0.1 and localhost signed by @ca. */
static void cert_make(struct cert *c, const char *cn, const struct cert *ca)
{
	static const unsigned char lo[] = { 127, 0, 0, 1 };
	unsigned char serial[8], id[64];
	size_t n = sizeof(id);
	time_t now = time(NULL);

	assert_int_equal(gnutls_x509_privkey_init(&c->key), 0);
	assert_int_equal(
	    gnutls_x509_privkey_generate(c->key, GNUTLS_PK_ECDSA,
					 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0),
	    0);
	assert_int_equal(gnutls_x509_crt_init(&c->crt), 0);
	assert_int_equal(gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial)), 0);
	serial[0] &= 0x7f; /* positive */
	assert_int_equal(gnutls_x509_crt_set_version(c->crt, 3), 0);
	assert_int_equal(gnutls_x509_crt_set_serial(c->crt, serial, sizeof(serial)), 0);
	assert_int_equal(gnutls_x509_crt_set_activation_time(c->crt, now - 3600), 0);
	assert_int_equal(gnutls_x509_crt_set_expiration_time(c->crt, now + 86400), 0);
	assert_int_equal(
	    gnutls_x509_crt_set_dn_by_oid(c->crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen(cn)),
	    0);
	assert_int_equal(gnutls_x509_crt_set_key(c->crt, c->key), 0);
	assert_int_equal(gnutls_x509_crt_set_basic_constraints(c->crt, !ca, -1), 0);
	assert_int_equal(gnutls_x509_crt_get_key_id(c->crt, 0, id, &n), 0);
	assert_int_equal(gnutls_x509_crt_set_subject_key_id(c->crt, id, n), 0);
	if (!ca) {
		assert_int_equal(gnutls_x509_crt_set_key_usage(c->crt, GNUTLS_KEY_KEY_CERT_SIGN |
									   GNUTLS_KEY_CRL_SIGN),
				 0);
		ca = c;
	} else {
		assert_int_equal(
		    gnutls_x509_crt_set_key_usage(c->crt, GNUTLS_KEY_DIGITAL_SIGNATURE), 0);
		assert_int_equal(
		    gnutls_x509_crt_set_key_purpose_oid(c->crt, GNUTLS_KP_TLS_WWW_SERVER, 0), 0);
		assert_int_equal(gnutls_x509_crt_set_subject_alt_name(c->crt, GNUTLS_SAN_DNSNAME,
								      "localhost", 9,
								      GNUTLS_FSAN_APPEND),
				 0);
		assert_int_equal(gnutls_x509_crt_set_subject_alt_name(c->crt, GNUTLS_SAN_IPADDRESS,
								      lo, sizeof(lo),
								      GNUTLS_FSAN_APPEND),
				 0);
		n = sizeof(id);
		assert_int_equal(gnutls_x509_crt_get_subject_key_id(ca->crt, id, &n, NULL), 0);
		assert_int_equal(gnutls_x509_crt_set_authority_key_id(c->crt, id, n), 0);
	}
	assert_int_equal(gnutls_x509_crt_sign2(c->crt, ca->crt, ca->key, GNUTLS_DIG_SHA256, 0), 0);
}

static void cert_release(struct cert *c)
{
	gnutls_x509_crt_deinit(c->crt);
	gnutls_x509_privkey_deinit(c->key);
}

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "we");

	assert_non_null(f);
	assert_true(fputs(data, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static int pki_setup(void **state)
{
	struct cert ca, other, server;
	_cleanup_free_ char *ca_pem = NULL, *other_pem = NULL;

	snprintf(pki.dir, sizeof(pki.dir), "/tmp/test-session.XXXXXX");
	assert_non_null(mkdtemp(pki.dir));
	snprintf(pki.ca, sizeof(pki.ca), "%s/ca.pem", pki.dir);
	snprintf(pki.other_ca, sizeof(pki.other_ca), "%s/other-ca.pem", pki.dir);
	snprintf(pki.missing, sizeof(pki.missing), "%s/no-such-ca.pem", pki.dir);
	cert_make(&ca, "Kuryr-C test CA", NULL);
	cert_make(&other, "Kuryr-C other test CA", NULL);
	cert_make(&server, "localhost", &ca);
	ca_pem = crt_pem(&ca);
	other_pem = crt_pem(&other);
	write_file(pki.ca, ca_pem);
	write_file(pki.other_ca, other_pem);
	pki.server_cert = crt_pem(&server);
	pki.server_key = key_pem(&server);
	cert_release(&ca);
	cert_release(&other);
	cert_release(&server);
	return 0;
}

static int pki_teardown(void **state)
{
	unlink(pki.ca);
	unlink(pki.other_ca);
	rmdir(pki.dir);
	free(pki.server_cert);
	free(pki.server_key);
	return 0;
}

/* The same handler over HTTP or HTTPS (with pki's server certificate). */
static int server_start(struct server *srv, bool https)
{
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, pki.server_key },
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, pki.server_cert },
		{ MHD_OPTION_END, 0, NULL },
	};

	if (https && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
		print_error("libmicrohttpd is built without TLS: the HTTPS cases cannot run\n");
		return -1;
	}
	srv->scheme = https ? "https" : "http";
	srv->d = MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
		(https ? MHD_USE_TLS : 0),
	    0, NULL, NULL, handler, srv, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, notify_conn, srv, MHD_OPTION_SOCK_ADDR,
	    &(struct sockaddr_in){ .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) },
	    MHD_OPTION_ARRAY, https ? tls : &tls[2] /* none */, MHD_OPTION_END);
	if (!srv->d)
		return -1;
	srv->port = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT)->port;
	return 0;
}

struct fixture {
	struct server srv;
	struct os_auth_config auth;
	struct os_session *s;
	char auth_url[64];
};

struct setup_opts {
	const char *password;
	const char *token; /* auth_type token with this one */
	int max_concurrent;
	bool https;
	const char *cafile; /* NULL: "" */
	bool insecure;
	const char *region; /* NULL: "R1", the fake catalog's */
};

static int setup_with(void **state, const struct setup_opts *o)
{
	struct fixture *f = calloc(1, sizeof(*f));
	_cleanup_free_ char *err = NULL;

	if (!f || server_start(&f->srv, o->https) < 0) {
		free(f);
		return -1;
	}
	snprintf(f->auth_url, sizeof(f->auth_url), "%s://127.0.0.1:%u/v3", f->srv.scheme,
		 f->srv.port);
	f->auth = (struct os_auth_config){
		.auth_type = OS_AUTH_PASSWORD,
		.auth_url = f->auth_url,
		.username = (char *)"kuryr",
		.user_id = (char *)"",
		.password = (char *)o->password,
		.user_domain_name = (char *)"Default",
		.user_domain_id = (char *)"",
		.project_name = (char *)"kuryr",
		.project_id = (char *)"",
		.project_domain_name = (char *)"Default",
		.project_domain_id = (char *)"",
		.application_credential_id = (char *)"",
		.application_credential_name = (char *)"",
		.application_credential_secret = (char *)"",
		.token = (char *)(o->token ? o->token : ""),
		.region_name = (char *)(o->region ? o->region : "R1"),
		.interface = (char *)"public",
		.endpoint_override = (char *)"",
		.cafile = (char *)(o->cafile ? o->cafile : ""),
		.insecure = o->insecure,
	};
	if (o->token) {
		f->auth.auth_type = OS_AUTH_TOKEN;
		f->auth.username = (char *)"";
		f->auth.password = (char *)"";
	}
	if (os_session_new(&(struct os_session_opts){ .auth = &f->auth,
						      .service_type = "network",
						      .timeout_ms = 5000,
						      .max_concurrent = o->max_concurrent },
			   &f->s, &err) < 0) {
		print_error("os_session_new: %s\n", err ? err : "?");
		return -1;
	}
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, &(struct setup_opts){ .password = PASSWORD, .max_concurrent = 8 });
}

static int setup_token(void **state)
{
	return setup_with(state, &(struct setup_opts){ .token = BASE_TOKEN, .max_concurrent = 8 });
}

static int setup_bad_token(void **state)
{
	return setup_with(
	    state, &(struct setup_opts){ .token = "expired-" BASE_TOKEN, .max_concurrent = 8 });
}

static int setup_bad_password(void **state)
{
	return setup_with(
	    state, &(struct setup_opts){ .password = "wrong-" PASSWORD, .max_concurrent = 8 });
}

static int setup_cap2(void **state)
{
	return setup_with(state, &(struct setup_opts){ .password = PASSWORD, .max_concurrent = 2 });
}

static int setup_tls_cafile(void **state)
{
	return setup_with(
	    state, &(struct setup_opts){ .password = PASSWORD, .https = true, .cafile = pki.ca });
}

static int setup_tls_system_cas(void **state)
{
	return setup_with(state, &(struct setup_opts){ .password = PASSWORD, .https = true });
}

static int setup_tls_other_ca(void **state)
{
	return setup_with(state, &(struct setup_opts){
				     .password = PASSWORD, .https = true, .cafile = pki.other_ca });
}

static int setup_tls_insecure(void **state)
{
	return setup_with(
	    state, &(struct setup_opts){ .password = PASSWORD, .https = true, .insecure = true });
}

static int setup_tls_missing_cafile(void **state)
{
	return setup_with(state, &(struct setup_opts){
				     .password = PASSWORD, .https = true, .cafile = pki.missing });
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	os_session_free(f->s);
	MHD_stop_daemon(f->srv.d);
	free(f);
	return 0;
}

static int get(struct fixture *f, const char *method, const char *path, char **err)
{
	_cleanup_json_ json_t *res = NULL;

	return os_request(f->s, method, path, NULL, 0,
			  streq(method, "POST") ? 0 : OS_REQ_IDEMPOTENT, &res, NULL, err);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_token_reused_and_connections_kept(void **state)
{
	struct fixture *f = *state;
	char project[64];

	for (int i = 0; i < 20; i++)
		assert_int_equal(get(f, "GET", "/v2.0/ok", NULL), 0);
	assert_int_equal(atomic_load(&f->srv.token_fetches), 1);
	/* One connection for Keystone, one kept open for the service. */
	assert_int_equal(atomic_load(&f->srv.connections), 2);
	os_session_project_id(f->s, project, sizeof(project));
	assert_string_equal(project, "p1");
	assert_false(os_session_no_service(f->s));
}

static void test_revoked_token_renewed(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(get(f, "GET", "/v2.0/ok", NULL), 0);
	atomic_fetch_add(&f->srv.token_gen, 1); /* the server forgets tok-0 */
	assert_int_equal(get(f, "GET", "/v2.0/ok", NULL), 0);
	assert_int_equal(atomic_load(&f->srv.token_fetches), 2);
	/* A POST is renewed the same way: the service refused it unread. */
	atomic_fetch_add(&f->srv.token_gen, 1);
	assert_int_equal(get(f, "POST", "/v2.0/ok", NULL), 0);
	assert_int_equal(atomic_load(&f->srv.token_fetches), 3);
}

static int setup_other_region(void **state)
{
	return setup_with(state, &(struct setup_opts){ .password = PASSWORD, .region = "R9" });
}

/* A catalog without the service where it is looked for is a configuration
 * error (-EACCES, named), never "no such object" (-ENOENT), which the
 * backend would read as a missing network. */
static void test_no_endpoint_in_catalog(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *err = NULL, *err2 = NULL;

	assert_int_equal(os_session_login(f->s, &err), -EACCES);
	assert_non_null(err);
	assert_non_null(strstr(err, "catalog"));
	assert_non_null(strstr(err, "R9"));
	assert_int_equal(get(f, "GET", "/v2.0/ok", &err2), -EACCES);
	/* ... which the caller can tell from refused credentials: the cloud
	 * has no such service (backend neutron: no Octavia). */
	assert_true(os_session_no_service(f->s));
}

static void test_wrong_password(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *err = NULL;

	assert_int_equal(get(f, "GET", "/v2.0/ok", &err), -EACCES);
	assert_non_null(err);
	assert_non_null(strstr(err, "refused the credentials"));
	assert_non_null(strstr(err, "\"kuryr\""));
	assert_null(strstr(err, PASSWORD));
	/* Refused credentials are not retried. */
	assert_int_equal(atomic_load(&f->srv.token_fetches), 1);
}

/* auth_type token: the token is rescoped to the project, and that one is
 * used; one Keystone refuses gives an error that never shows it. */
static void test_token_login(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(get(f, "GET", "/v2.0/ok", NULL), 0);
	assert_int_equal(get(f, "GET", "/v2.0/ok", NULL), 0);
	assert_int_equal(atomic_load(&f->srv.token_fetches), 1);
}

static void test_bad_token(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *err = NULL;

	assert_int_equal(get(f, "GET", "/v2.0/ok", &err), -EACCES);
	assert_non_null(strstr(err, "refused the token"));
	assert_null(strstr(err, BASE_TOKEN));
	assert_int_equal(atomic_load(&f->srv.token_fetches), 1);
}

static void test_retry_after(void **state)
{
	struct fixture *f = *state;
	struct os_session_stats st;
	double t0 = now_s();

	assert_int_equal(get(f, "GET", "/v2.0/busy", NULL), 0);
	assert_true(now_s() - t0 >= 0.95);
	assert_int_equal(atomic_load(&f->srv.busy_calls), 2);
	os_session_stats(f->s, &st);
	assert_int_equal(st.retries, 1);
}

static void test_post_not_repeated_after_500(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *err = NULL;

	assert_int_equal(get(f, "POST", "/v2.0/fail", &err), -EIO);
	assert_int_equal(atomic_load(&f->srv.fail_calls), 1);
	assert_non_null(strstr(err, "HTTP 500: it broke"));
	assert_int_equal(get(f, "GET", "/v2.0/fail", NULL), -EIO);
	assert_int_equal(atomic_load(&f->srv.fail_calls), 1 + 4);
}

/* Octavia's faults carry their message in "faultstring"; the status tells
 * a 501 (the provider cannot) from other 5xx. */
static void test_faultstring(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *err = NULL;
	_cleanup_json_ json_t *res = NULL;
	long status = 0;

	assert_int_equal(
	    os_request(f->s, "POST", "/v2.0/unsupported", NULL, 0, 0, &res, &status, &err), -EIO);
	assert_int_equal(status, 501);
	assert_non_null(err);
	assert_non_null(strstr(err, "HTTP 501: Provider 'ovn' does not support"));
}

static void test_over_quota(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *err = NULL;

	assert_int_equal(get(f, "POST", "/v2.0/quota", &err), -EDQUOT);
	assert_non_null(strstr(err, "Quota exceeded"));
	assert_int_equal(get(f, "GET", "/v2.0/nothing", NULL), -ENOENT);
}

/* An extra header is sent as given; a 412 (If-Match failed) is -ESTALE,
 * at once, not retried. */
static void test_if_match(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *err = NULL;
	long status = 0;

	assert_int_equal(os_request_hdr(f->s, "PUT", "/v2.0/match", "If-Match: revision_number=3",
					NULL, 0, OS_REQ_IDEMPOTENT, NULL, &status, NULL),
			 0);
	assert_int_equal(status, 200);
	assert_int_equal(os_request_hdr(f->s, "PUT", "/v2.0/match", "If-Match: revision_number=2",
					NULL, 0, OS_REQ_IDEMPOTENT, NULL, &status, &err),
			 -ESTALE);
	assert_int_equal(status, 412);
	assert_non_null(strstr(err, "HTTP 412: Constrained to 2"));
}

static void *slow_get(void *arg)
{
	return (void *)(intptr_t)get(arg, "GET", "/v2.0/slow", NULL);
}

static void test_concurrency_cap(void **state)
{
	struct fixture *f = *state;
	pthread_t t[6];
	void *rv;

	for (int i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&t[i], NULL, slow_get, f), 0);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(pthread_join(t[i], &rv), 0);
		assert_int_equal((intptr_t)rv, 0);
	}
	assert_int_equal(atomic_load(&f->srv.max_in_flight), 2);
}

static void test_connection_refused(void **state)
{
	struct os_auth_config a;
	struct os_session *s;
	_cleanup_free_ char *err = NULL;
	double t0;
	int r;

	assert_int_equal(os_auth_config_init(&a), 0);
	assert_int_equal(os_auth_config_set(&a, "endpoint_override", "http://127.0.0.1:1", NULL),
			 0);
	assert_int_equal(
	    os_session_new(&(struct os_session_opts){ .auth = &a, .service_type = "network" }, &s,
			   NULL),
	    0);
	t0 = now_s();
	r = os_request(s, "POST", "/v2.0/ports", json_object(), 0, 0, NULL, NULL, &err);
	assert_int_equal(r, -ECONNREFUSED);
	assert_true(now_s() - t0 < 3.0);
	assert_false(os_session_reachable(s));
	os_session_free(s);
	os_auth_config_release(&a);
}

static void tls_works(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *err = NULL;

	assert_int_equal(os_session_login(f->s, &err), 0);
	assert_null(err);
	assert_int_equal(get(f, "GET", "/v2.0/ok", NULL), 0);
	assert_int_equal(atomic_load(&f->srv.token_fetches), 1);
}

static void test_tls_cafile(void **state)
{
	tls_works(state);
}

static void test_tls_insecure(void **state)
{
	tls_works(state);
}

/* A certificate the client does not trust: Keystone's, then the service's
 * (no Keystone); each fails at once, not retried. */
static void tls_untrusted(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *err = NULL;
	struct os_session_stats st;
	struct os_auth_config a;
	struct os_session *s;
	char url[64];
	double t0 = now_s();

	assert_int_equal(get(f, "GET", "/v2.0/ok", &err), -ECONNREFUSED);
	assert_true(now_s() - t0 < 1.0); /* the deadline is 5 s */
	print_message("# %s\n", err);
	assert_non_null(strstr(err, "TLS: the server's certificate is not trusted"));
	assert_non_null(strstr(err, *f->auth.cafile ? f->auth.cafile : "system's CAs"));
	assert_non_null(strstr(err, f->auth_url));
	assert_null(strstr(err, PASSWORD));
	os_session_stats(f->s, &st);
	assert_int_equal(st.retries, 0);
	assert_int_equal(st.token_fetches, 1);
	assert_int_equal(atomic_load(&f->srv.connections), 1);
	assert_int_equal(atomic_load(&f->srv.token_fetches), 0);

	/* The same without Keystone: the service itself is refused. */
	assert_int_equal(os_auth_config_init(&a), 0);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", f->srv.port);
	assert_int_equal(os_auth_config_set(&a, "endpoint_override", url, NULL), 0);
	assert_int_equal(os_auth_config_set(&a, "cafile", f->auth.cafile, NULL), 0);
	assert_int_equal(os_session_new(&(struct os_session_opts){ .auth = &a,
								   .service_type = "network",
								   .timeout_ms = 5000 },
					&s, NULL),
			 0);
	free(err);
	err = NULL;
	t0 = now_s();
	assert_int_equal(
	    os_request(s, "GET", "/v2.0/ok", NULL, 0, OS_REQ_IDEMPOTENT, NULL, NULL, &err),
	    -ECONNREFUSED);
	assert_true(now_s() - t0 < 1.0);
	print_message("# %s\n", err);
	assert_non_null(strstr(err, "GET https://127.0.0.1:"));
	assert_non_null(strstr(err, "TLS: the server's certificate is not trusted"));
	os_session_stats(s, &st);
	assert_int_equal(st.retries, 0);
	assert_int_equal(atomic_load(&f->srv.connections), 2);
	os_session_free(s);
	os_auth_config_release(&a);
}

static void test_tls_system_cas(void **state)
{
	tls_untrusted(state);
}

static void test_tls_other_ca(void **state)
{
	tls_untrusted(state);
}

static void test_tls_missing_cafile(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *err = NULL;
	struct os_session_stats st;

	assert_int_equal(get(f, "GET", "/v2.0/ok", &err), -ECONNREFUSED);
	print_message("# %s\n", err);
	assert_non_null(strstr(err, pki.missing));
	os_session_stats(f->s, &st);
	assert_int_equal(st.retries, 0);
}

static void test_keystone_helpers(void **state)
{
	_cleanup_json_ json_t *tok = json_loads(
	    "{\"token\":{\"expires_at\":\"2026-11-27T13:00:00.000000Z\",\"project\":{\"id\":"
	    "\"p9\"},\"catalog\":[{\"type\":\"network\",\"endpoints\":["
	    "{\"interface\":\"public\",\"region_id\":\"A\",\"url\":\"http://a:9696/\"},"
	    "{\"interface\":\"public\",\"region_id\":\"B\",\"url\":\"http://b:9696/v2.0/\"}]}]}}",
	    0, NULL);
	_cleanup_free_ char *ep = NULL, *proj = NULL, *err = NULL;
	time_t exp;

	assert_int_equal(
	    keystone_parse_token(tok, "network", "public", "B", &exp, &proj, &ep, NULL), 0);
	assert_string_equal(ep, "http://b:9696");
	assert_string_equal(proj, "p9");
	assert_int_equal(exp, keystone_parse_time("2026-11-27T13:00:00Z"));
	assert_int_equal(
	    keystone_parse_token(tok, "network", "internal", "", &exp, &proj, &ep, &err), -ENOENT);
	assert_non_null(strstr(err, "no internal endpoint"));
	assert_int_equal(keystone_parse_time("2026-11-27T13:00:00+00:00") -
			     keystone_parse_time("2026-11-27T12:00:00.5Z"),
			 3600);
	assert_int_equal(keystone_parse_time("yesterday"), -1);
	assert_int_equal(http_retry_after_ms("3", 0), 3000);
	assert_int_equal(http_retry_after_ms("Fri, 27 Nov 2026 13:00:05 GMT",
					     keystone_parse_time("2026-11-27T13:00:00Z")),
			 5000);
	assert_int_equal(http_retry_after_ms("soon", 0), -1);
}

static void test_auth_bodies(void **state)
{
	struct os_auth_config a = {
		.auth_type = OS_AUTH_APPCRED,
		.username = (char *)"",
		.user_id = (char *)"",
		.user_domain_name = (char *)"",
		.user_domain_id = (char *)"",
		.application_credential_id = (char *)"ac1",
		.application_credential_name = (char *)"",
		.application_credential_secret = (char *)"acsecret",
	};
	_cleanup_json_ json_t *b = keystone_auth_body(&a), *p = NULL;
	_cleanup_free_ char *s = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS), *ps = NULL;

	assert_string_equal(s, "{\"auth\":{\"identity\":{\"application_credential\":{\"id\":"
			       "\"ac1\",\"secret\":\"acsecret\"},\"methods\":[\"application_"
			       "credential\"]}}}");
	a = (struct os_auth_config){ .auth_type = OS_AUTH_PASSWORD,
				     .username = (char *)"u",
				     .user_id = (char *)"",
				     .password = (char *)"pw",
				     .user_domain_name = (char *)"",
				     .user_domain_id = (char *)"",
				     .project_name = (char *)"pr",
				     .project_id = (char *)"",
				     .project_domain_name = (char *)"D2",
				     .project_domain_id = (char *)"" };
	p = keystone_auth_body(&a);
	ps = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(ps, "{\"auth\":{\"identity\":{\"methods\":[\"password\"],"
				"\"password\":{\"user\":{\"domain\":{\"name\":\"Default\"},"
				"\"name\":\"u\",\"password\":\"pw\"}}},\"scope\":{\"project\":{"
				"\"domain\":{\"name\":\"D2\"},\"name\":\"pr\"}}}}");
	a.auth_type = OS_AUTH_TOKEN;
	a.token = (char *)"t0";
	a.project_id = (char *)"p7";
	json_decref(p);
	free(ps);
	p = keystone_auth_body(&a);
	ps = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(ps, "{\"auth\":{\"identity\":{\"methods\":[\"token\"],\"token\":{"
				"\"id\":\"t0\"}},\"scope\":{\"project\":{\"id\":\"p7\"}}}}");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token_reused_and_connections_kept, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_revoked_token_renewed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_password, setup_bad_password, teardown),
		cmocka_unit_test_setup_teardown(test_no_endpoint_in_catalog, setup_other_region,
						teardown),
		cmocka_unit_test_setup_teardown(test_token_login, setup_token, teardown),
		cmocka_unit_test_setup_teardown(test_bad_token, setup_bad_token, teardown),
		cmocka_unit_test_setup_teardown(test_retry_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_post_not_repeated_after_500, setup, teardown),
		cmocka_unit_test_setup_teardown(test_over_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_faultstring, setup, teardown),
		cmocka_unit_test_setup_teardown(test_if_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrency_cap, setup_cap2, teardown),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test_setup_teardown(test_tls_cafile, setup_tls_cafile, teardown),
		cmocka_unit_test_setup_teardown(test_tls_system_cas, setup_tls_system_cas,
						teardown),
		cmocka_unit_test_setup_teardown(test_tls_other_ca, setup_tls_other_ca, teardown),
		cmocka_unit_test_setup_teardown(test_tls_insecure, setup_tls_insecure, teardown),
		cmocka_unit_test_setup_teardown(test_tls_missing_cafile, setup_tls_missing_cafile,
						teardown),
		cmocka_unit_test(test_keystone_helpers),
		cmocka_unit_test(test_auth_bodies),
	};

	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
