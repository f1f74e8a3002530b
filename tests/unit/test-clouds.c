/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for OpenStack credentials: struct os_auth_config (names, aliases,
 * booleans, what each auth_type needs) and clouds.yaml / secure.yaml
 * (mapping, inference, merge, the search order, and errors naming file and
 * line). Every test gets a fresh /tmp/kuryr-test-clouds-XXXXXX with cwd,
 * HOME and XDG_CONFIG_HOME pointed inside it, so no real clouds.yaml is
 * read. No message may ever contain a secret's value. */
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "macro.h"
#include "openstack/auth.h"
#include "openstack/clouds.h"

#define PW     "pw-S3cr3t-7f1a"
#define APPSEC "app-S3cr3t-99b2"
#define TOKEN  "tok-S3cr3t-c0de"

static const char *const env_vars[] = { "OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE",
					"XDG_CONFIG_HOME", "HOME" };

struct fixture {
	char dir[64];
	int old_cwd;
	char *old_env[ELEMENTSOF(env_vars)];
	struct os_auth_config c;
};

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path) < 0 ? -errno : 0;
}

static void assert_no_secret(const char *msg)
{
	if (!msg)
		return;
	if (strstr(msg, PW) || strstr(msg, APPSEC) || strstr(msg, TOKEN) || strstr(msg, "S3cr3t"))
		fail_msg("message leaks a secret: %s", msg);
}

/* @dir/@rel, with its parent directories. */
static char *write_file(struct fixture *f, const char *rel, const char *text)
{
	char *path = NULL;
	FILE *fp;

	assert_true(asprintf(&path, "%s/%s", f->dir, rel) > 0);
	for (char *p = path + strlen(f->dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
		*p = '/';
	}
	fp = fopen(path, "we");
	assert_non_null(fp);
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);
	return path;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char p[128];

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kuryr-test-clouds-XXXXXX");
	if (!mkdtemp(f->dir) || os_auth_config_init(&f->c) < 0)
		return -1;
	for (size_t i = 0; i < ELEMENTSOF(env_vars); i++) {
		const char *v = getenv(env_vars[i]);

		f->old_env[i] = v ? strdup(v) : NULL;
	}
	unsetenv("OS_CLIENT_CONFIG_FILE");
	unsetenv("OS_CLIENT_SECURE_FILE");
	snprintf(p, sizeof(p), "%s/xdg", f->dir);
	setenv("XDG_CONFIG_HOME", p, 1);
	snprintf(p, sizeof(p), "%s/home", f->dir);
	setenv("HOME", p, 1);
	snprintf(p, sizeof(p), "%s/cwd", f->dir);
	f->old_cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (f->old_cwd < 0 || mkdir(p, 0700) < 0 || chdir(p) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r;

	os_auth_config_release(&f->c);
	for (size_t i = 0; i < ELEMENTSOF(env_vars); i++) {
		if (f->old_env[i])
			setenv(env_vars[i], f->old_env[i], 1);
		else
			unsetenv(env_vars[i]);
		free(f->old_env[i]);
	}
	r = fchdir(f->old_cwd);
	close(f->old_cwd);
	if (nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		r = -1;
	free(f);
	return r == 0 ? 0 : -1;
}

/* clouds_load() of @cloud from @path; the message, if any, is checked for
 * secrets and returned through @ret_msg when wanted. */
static int load(struct fixture *f, const char *cloud, const char *path, char **ret_msg)
{
	char *msg = NULL;
	int r;

	r = clouds_load(cloud, path, &f->c, &msg);
	assert_no_secret(msg);
	if (r == 0)
		assert_null(msg);
	if (ret_msg)
		*ret_msg = msg;
	else
		free(msg);
	return r;
}

/* @text as clouds.yaml must fail with @err and a message "PATH:LINE: "
 * (when @line > 0) containing @needle; @f->c stays as it was. */
static void expect_error(struct fixture *f, const char *text, int err, int line, const char *needle)
{
	_cleanup_free_ char *path = write_file(f, "err/clouds.yaml", text);
	_cleanup_free_ char *msg = NULL, *prefix = NULL;
	int r;

	assert_int_equal(os_auth_config_set(&f->c, "region_name", "Before", NULL), 0);
	r = load(f, "c1", path, &msg);
	if (r != err)
		fail_msg("expected %d, got %d (%s) for:\n%s", err, r, msg ? msg : "no message",
			 text);
	assert_non_null(msg);
	if (line > 0) {
		assert_true(asprintf(&prefix, "%s:%d: ", path, line) > 0);
		if (strncmp(msg, prefix, strlen(prefix)) != 0)
			fail_msg("message \"%s\" does not start with \"%s\"", msg, prefix);
	}
	if (needle && !strstr(msg, needle))
		fail_msg("message \"%s\" does not mention \"%s\"", msg, needle);
	assert_string_equal(f->c.region_name, "Before");
	assert_string_equal(f->c.password, "");
}

/* ---- struct os_auth_config ---- */

static void test_auth_defaults(void **state)
{
	struct os_auth_config c;

	assert_int_equal(os_auth_config_init(&c), 0);
	assert_int_equal(c.auth_type, OS_AUTH_NONE);
	assert_string_equal(c.interface, "public");
	assert_string_equal(c.auth_url, "");
	assert_string_equal(c.password, "");
	assert_string_equal(c.endpoint_override, "");
	assert_string_equal(c.cafile, "");
	assert_false(c.insecure);
	os_auth_config_release(&c);
	assert_null(c.auth_url);
	/* Released twice is harmless. */
	os_auth_config_release(&c);
}

static void test_auth_type_parse(void **state)
{
	static const struct {
		const char *name;
		enum os_auth_type t;
	} ok[] = {
		{ "none", OS_AUTH_NONE },
		{ "noauth", OS_AUTH_NONE },
		{ "password", OS_AUTH_PASSWORD },
		{ "v3password", OS_AUTH_PASSWORD },
		{ "v3applicationcredential", OS_AUTH_APPCRED },
		{ "applicationcredential", OS_AUTH_APPCRED },
		{ "token", OS_AUTH_TOKEN },
		{ "v3token", OS_AUTH_TOKEN },
	};
	static const char *const bad[] = { "",		 "Password",  "v2token",
					   "v2password", "password ", "kerberos" };
	enum os_auth_type t;

	for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
		t = 99;
		assert_int_equal(os_auth_type_parse(ok[i].name, &t), 0);
		assert_int_equal(t, ok[i].t);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		t = OS_AUTH_APPCRED;
		assert_int_equal(os_auth_type_parse(bad[i], &t), -EINVAL);
		assert_int_equal(t, OS_AUTH_APPCRED);
	}
	assert_string_equal(os_auth_type_to_string(OS_AUTH_NONE), "none");
	assert_string_equal(os_auth_type_to_string(OS_AUTH_PASSWORD), "password");
	assert_string_equal(os_auth_type_to_string(OS_AUTH_APPCRED), "v3applicationcredential");
	assert_string_equal(os_auth_type_to_string(OS_AUTH_TOKEN), "token");
}

static void test_auth_set(void **state)
{
	static const char *const keys[] = {
		"auth_url",
		"username",
		"user_id",
		"password",
		"user_domain_name",
		"user_domain_id",
		"project_name",
		"project_id",
		"project_domain_name",
		"project_domain_id",
		"application_credential_id",
		"application_credential_name",
		"application_credential_secret",
		"region_name",
		"endpoint_override",
		"cafile",
	};
	struct fixture *f = *state;
	struct os_auth_config *c = &f->c;

	/* Each key lands in its field: the field holds its own name. */
	for (size_t i = 0; i < ELEMENTSOF(keys); i++)
		assert_int_equal(os_auth_config_set(c, keys[i], keys[i], NULL), 0);
	assert_string_equal(c->auth_url, "auth_url");
	assert_string_equal(c->username, "username");
	assert_string_equal(c->user_id, "user_id");
	assert_string_equal(c->password, "password");
	assert_string_equal(c->user_domain_name, "user_domain_name");
	assert_string_equal(c->user_domain_id, "user_domain_id");
	assert_string_equal(c->project_name, "project_name");
	assert_string_equal(c->project_id, "project_id");
	assert_string_equal(c->project_domain_name, "project_domain_name");
	assert_string_equal(c->project_domain_id, "project_domain_id");
	assert_string_equal(c->application_credential_id, "application_credential_id");
	assert_string_equal(c->application_credential_name, "application_credential_name");
	assert_string_equal(c->application_credential_secret, "application_credential_secret");
	assert_string_equal(c->region_name, "region_name");
	assert_string_equal(c->endpoint_override, "endpoint_override");
	assert_string_equal(c->cafile, "cafile");

	/* clouds.yaml's name for cafile. */
	assert_int_equal(os_auth_config_set(c, "cacert", "/etc/ssl/ca.pem", NULL), 0);
	assert_string_equal(c->cafile, "/etc/ssl/ca.pem");

	assert_int_equal(os_auth_config_set(c, "auth_type", "v3password", NULL), 0);
	assert_int_equal(c->auth_type, OS_AUTH_PASSWORD);
	assert_int_equal(os_auth_config_set(c, "auth_type", "applicationcredential", NULL), 0);
	assert_int_equal(c->auth_type, OS_AUTH_APPCRED);
	assert_int_equal(os_auth_config_set(c, "auth_type", "noauth", NULL), 0);
	assert_int_equal(c->auth_type, OS_AUTH_NONE);
}

static void test_auth_set_bool(void **state)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "1", "on", "ON" };
	static const char *const no[] = { "false", "False", "no", "NO", "0", "off", "Off" };
	static const char *const bad[] = { "", "2", "maybe", "y", "n", "truee", " true" };
	struct fixture *f = *state;
	struct os_auth_config *c = &f->c;

	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		c->insecure = false;
		assert_int_equal(os_auth_config_set(c, "insecure", yes[i], NULL), 0);
		assert_true(c->insecure);
		assert_int_equal(os_auth_config_set(c, "verify", yes[i], NULL), 0);
		assert_false(c->insecure);
	}
	for (size_t i = 0; i < ELEMENTSOF(no); i++) {
		c->insecure = true;
		assert_int_equal(os_auth_config_set(c, "insecure", no[i], NULL), 0);
		assert_false(c->insecure);
		assert_int_equal(os_auth_config_set(c, "verify", no[i], NULL), 0);
		assert_true(c->insecure);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *msg = NULL;

		assert_int_equal(os_auth_config_set(c, "insecure", bad[i], &msg), -EINVAL);
		assert_non_null(msg);
		assert_non_null(strstr(msg, "insecure"));
		assert_true(c->insecure);
		assert_int_equal(os_auth_config_set(c, "verify", bad[i], NULL), -EINVAL);
		assert_true(c->insecure);
	}
}

static void test_auth_set_interface(void **state)
{
	static const struct {
		const char *v, *want;
	} ok[] = {
		{ "public", "public" },	   { "internal", "internal" },	  { "admin", "admin" },
		{ "publicURL", "public" }, { "internalURL", "internal" }, { "adminURL", "admin" },
	};
	static const char *const bad[] = { "", "private", "publicurl2", "URL", "pub" };
	struct fixture *f = *state;

	for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
		assert_int_equal(os_auth_config_set(&f->c, "interface", ok[i].v, NULL), 0);
		assert_string_equal(f->c.interface, ok[i].want);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *msg = NULL;

		assert_int_equal(os_auth_config_set(&f->c, "interface", bad[i], &msg), -EINVAL);
		assert_non_null(strstr(msg, "interface"));
		assert_string_equal(f->c.interface, "admin");
	}
}

static void test_auth_set_errors(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL;

	assert_int_equal(os_auth_config_set(&f->c, "auth_type", "kerberos", &m1), -EINVAL);
	assert_non_null(strstr(m1, "\"kerberos\""));
	assert_int_equal(f->c.auth_type, OS_AUTH_NONE);

	assert_int_equal(os_auth_config_set(&f->c, "passwd", PW, &m2), -ENOENT);
	assert_non_null(strstr(m2, "passwd"));
	assert_no_secret(m2);
	/* A misspelt secret key: its value stays out of the message too. */
	assert_int_equal(os_auth_config_set(&f->c, "tokn", TOKEN, &m3), -ENOENT);
	assert_non_null(strstr(m3, "tokn"));
	assert_no_secret(m3);

	/* Setting a secret twice replaces it; a message is never made. */
	assert_int_equal(os_auth_config_set(&f->c, "password", PW, &m4), 0);
	assert_null(m4);
	assert_int_equal(os_auth_config_set(&f->c, "password", "other", NULL), 0);
	assert_string_equal(f->c.password, "other");
	/* No message wanted: still the error. */
	assert_int_equal(os_auth_config_set(&f->c, "auth_type", "x", NULL), -EINVAL);
}

static void check_auth(struct os_auth_config *c, const char *needle, const char *absent)
{
	_cleanup_free_ char *msg = NULL;
	int r = os_auth_config_check(c, &msg);

	assert_no_secret(msg);
	if (!needle) {
		if (r != 0)
			fail_msg("check failed: %s", msg ? msg : "?");
		assert_null(msg);
		return;
	}
	assert_int_equal(r, -EINVAL);
	assert_non_null(msg);
	if (!strstr(msg, needle))
		fail_msg("message \"%s\" does not mention \"%s\"", msg, needle);
	if (absent && strstr(msg, absent))
		fail_msg("message \"%s\" mentions \"%s\"", msg, absent);
}

static void set(struct os_auth_config *c, const char *k, const char *v)
{
	assert_int_equal(os_auth_config_set(c, k, v, NULL), 0);
}

static void test_auth_check(void **state)
{
	struct fixture *f = *state;
	struct os_auth_config *c = &f->c;

	/* none */
	check_auth(c, "auth_type none needs endpoint_override", NULL);
	set(c, "endpoint_override", "http://127.0.0.1:9696");
	check_auth(c, NULL, NULL);

	/* password: says everything that is missing. */
	set(c, "auth_type", "password");
	check_auth(c, "auth_type password needs auth_url", NULL);
	check_auth(c, "username", NULL);
	check_auth(c, "project_name", NULL);
	set(c, "password", PW);
	check_auth(c, "auth_type password needs auth_url", "password,");
	set(c, "auth_url", "http://ks:5000/v3");
	set(c, "project_id", "p0");
	check_auth(c, "auth_type password needs username (or user_id)", "project");
	set(c, "user_id", "u0");
	check_auth(c, NULL, NULL);
	set(c, "user_id", "");
	set(c, "username", "kuryr");
	check_auth(c, NULL, NULL);
	set(c, "project_id", "");
	check_auth(c, "needs project_name (or project_id)", "username");
	set(c, "project_name", "k8s");
	check_auth(c, NULL, NULL);
	set(c, "password", "");
	check_auth(c, "auth_type password needs password", NULL);

	/* application credentials */
	set(c, "auth_type", "v3applicationcredential");
	set(c, "username", "");
	set(c, "auth_url", "");
	set(c, "password", PW);
	check_auth(c, "auth_type v3applicationcredential needs auth_url", NULL);
	check_auth(c, "application_credential_secret", NULL);
	check_auth(c, "application_credential_id", NULL);
	set(c, "auth_url", "http://ks:5000/v3");
	set(c, "application_credential_secret", APPSEC);
	check_auth(c, "needs application_credential_id", "secret");
	set(c, "application_credential_name", "kuryr-ac");
	check_auth(c, "username (or user_id) with application_credential_name", NULL);
	set(c, "user_id", "u1");
	check_auth(c, NULL, NULL);
	set(c, "user_id", "");
	set(c, "application_credential_id", "ac1");
	check_auth(c, NULL, NULL);
	set(c, "application_credential_secret", "");
	check_auth(c, "needs application_credential_secret", NULL);

	/* token: a token and the project to rescope it to */
	set(c, "auth_type", "v3token");
	set(c, "auth_url", "");
	set(c, "project_id", "");
	set(c, "project_name", "");
	check_auth(c, "auth_type token needs auth_url, token, project_name (or project_id)", NULL);
	set(c, "auth_url", "http://ks:5000/v3");
	set(c, "token", TOKEN);
	check_auth(c, "auth_type token needs project_name (or project_id)", "token,");
	set(c, "project_id", "p0");
	check_auth(c, NULL, NULL);
}

static void test_auth_copy(void **state)
{
	struct fixture *f = *state;
	struct os_auth_config d;

	set(&f->c, "auth_type", "password");
	set(&f->c, "password", PW);
	set(&f->c, "insecure", "yes");
	assert_int_equal(os_auth_config_copy(&d, &f->c), 0);
	assert_int_equal(d.auth_type, OS_AUTH_PASSWORD);
	assert_true(d.insecure);
	assert_string_equal(d.password, PW);
	assert_ptr_not_equal(d.password, f->c.password);
	assert_string_equal(d.interface, "public");
	os_auth_config_release(&d);
}

/* ---- clouds.yaml ---- */

static const char password_cloud[] = "# openstack CLI style\n"
				     "clouds:\n"
				     "  other:\n"
				     "    auth:\n"
				     "      auth_url: http://elsewhere:5000\n"
				     "  prod:\n"
				     "    auth_type: password\n"
				     "    region_name: RegionTwo\n"
				     "    interface: internalURL\n"
				     "    identity_api_version: 3\n" /* for other tools: ignored */
				     "    regions: [RegionOne, RegionTwo]\n"
				     "    cacert: /etc/ssl/prod-ca.pem\n"
				     "    verify: false\n"
				     "    network_endpoint_override: https://neutron.prod:9696\n"
				     "    compute_endpoint_override: https://nova.prod:8774\n"
				     "    auth:\n"
				     "      auth_url: https://keystone.prod:5000/v3\n"
				     "      username: kuryr\n"
				     "      password: '" PW "'\n"
				     "      project_name: k8s\n"
				     "      user_domain_name: Users\n"
				     "      project_domain_id: default\n"
				     "      system_scope: all\n" /* not ours: ignored */
				     "      nested: {a: [1, 2]}\n";

static void test_password_cloud(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *path = write_file(f, "p/clouds.yaml", password_cloud);

	assert_int_equal(load(f, "prod", path, NULL), 0);
	assert_int_equal(f->c.auth_type, OS_AUTH_PASSWORD);
	assert_string_equal(f->c.region_name, "RegionTwo");
	assert_string_equal(f->c.interface, "internal");
	assert_string_equal(f->c.cafile, "/etc/ssl/prod-ca.pem");
	assert_true(f->c.insecure);
	assert_string_equal(f->c.endpoint_override, "https://neutron.prod:9696");
	assert_string_equal(f->c.auth_url, "https://keystone.prod:5000/v3");
	assert_string_equal(f->c.username, "kuryr");
	assert_string_equal(f->c.password, PW);
	assert_string_equal(f->c.project_name, "k8s");
	assert_string_equal(f->c.user_domain_name, "Users");
	assert_string_equal(f->c.project_domain_id, "default");
	assert_string_equal(f->c.project_domain_name, "");
	assert_string_equal(f->c.user_id, "");
	assert_int_equal(os_auth_config_check(&f->c, NULL), 0);

	/* The other cloud only sets what it has, over what is there. */
	assert_int_equal(load(f, "other", path, NULL), 0);
	assert_string_equal(f->c.auth_url, "http://elsewhere:5000");
	assert_string_equal(f->c.username, "kuryr");
}

static void test_appcred_cloud(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *path =
	    write_file(f, "a/clouds.yaml",
		       "clouds:\n"
		       "  ac:\n"
		       "    auth_type: v3applicationcredential\n"
		       "    auth:\n"
		       "      auth_url: http://ks:5000/v3\n"
		       "      application_credential_id: 0123abcd\n"
		       "      application_credential_secret: \"" APPSEC "\"\n"
		       "    region_name: RegionOne\n"
		       "    insecure: true\n"
		       "  ac-by-name:\n"
		       "    auth_type: applicationcredential\n"
		       "    auth:\n"
		       "      auth_url: http://ks:5000/v3\n"
		       "      application_credential_name: kuryr-ac\n"
		       "      application_credential_secret: " APPSEC "\n"
		       "      user_id: 42\n");

	assert_int_equal(load(f, "ac", path, NULL), 0);
	assert_int_equal(f->c.auth_type, OS_AUTH_APPCRED);
	assert_string_equal(f->c.application_credential_id, "0123abcd");
	assert_string_equal(f->c.application_credential_secret, APPSEC);
	assert_string_equal(f->c.region_name, "RegionOne");
	assert_true(f->c.insecure);
	assert_int_equal(os_auth_config_check(&f->c, NULL), 0);

	os_auth_config_release(&f->c);
	assert_int_equal(os_auth_config_init(&f->c), 0);
	assert_int_equal(load(f, "ac-by-name", path, NULL), 0);
	assert_int_equal(f->c.auth_type, OS_AUTH_APPCRED);
	assert_string_equal(f->c.application_credential_name, "kuryr-ac");
	assert_string_equal(f->c.user_id, "42");
	assert_int_equal(os_auth_config_check(&f->c, NULL), 0);
}

static void test_inferred_auth_type(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *path =
	    write_file(f, "i/clouds.yaml",
		       "clouds:\n"
		       "  pw:\n"
		       "    auth:\n"
		       "      auth_url: http://ks:5000/v3\n"
		       "      username: u\n"
		       "      password: " PW "\n"
		       "      project_id: p\n"
		       "  ac:\n"
		       "    auth:\n"
		       "      auth_url: http://ks:5000/v3\n"
		       "      password: " PW "\n" /* the secret wins */
		       "      application_credential_id: i\n"
		       "      application_credential_secret: " APPSEC "\n"
		       "  tok:\n"
		       "    auth:\n"
		       "      auth_url: http://ks:5000/v3\n"
		       "      token: " TOKEN "\n"
		       "      project_id: p\n"
		       "  neither:\n"
		       "    network_endpoint_override: http://127.0.0.1:9696\n"
		       "  empty-password:\n"
		       "    auth:\n"
		       "      password: ''\n"
		       "  domains:\n"
		       "    auth:\n"
		       "      domain_name: Shared\n"
		       "      domain_id: d1\n"
		       "  domains-explicit:\n"
		       "    auth:\n"
		       "      user_domain_name: Users\n"
		       "      domain_name: Shared\n"
		       "      project_domain_id: pd\n"
		       "      domain_id: d1\n");
	static const struct {
		const char *cloud;
		enum os_auth_type t;
	} cases[] = {
		{ "pw", OS_AUTH_PASSWORD },	    { "ac", OS_AUTH_APPCRED },
		{ "tok", OS_AUTH_TOKEN },	    { "neither", OS_AUTH_NONE },
		{ "empty-password", OS_AUTH_NONE },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct os_auth_config c;

		assert_int_equal(os_auth_config_init(&c), 0);
		assert_int_equal(clouds_load(cases[i].cloud, path, &c, NULL), 0);
		if (c.auth_type != cases[i].t)
			fail_msg("cloud %s: auth_type %s, not %s", cases[i].cloud,
				 os_auth_type_to_string(c.auth_type),
				 os_auth_type_to_string(cases[i].t));
		os_auth_config_release(&c);
	}
	/* An explicit auth_type is never second-guessed. */
	assert_int_equal(load(f, "pw", path, NULL), 0);
	assert_int_equal(f->c.auth_type, OS_AUTH_PASSWORD);

	/* domain_name / domain_id: both sides, where nothing more precise is. */
	assert_int_equal(load(f, "domains", path, NULL), 0);
	assert_string_equal(f->c.user_domain_name, "Shared");
	assert_string_equal(f->c.project_domain_name, "Shared");
	assert_string_equal(f->c.user_domain_id, "d1");
	assert_string_equal(f->c.project_domain_id, "d1");
	os_auth_config_release(&f->c);
	assert_int_equal(os_auth_config_init(&f->c), 0);
	assert_int_equal(load(f, "domains-explicit", path, NULL), 0);
	assert_string_equal(f->c.user_domain_name, "Users");
	assert_string_equal(f->c.project_domain_name, "Shared");
	assert_string_equal(f->c.user_domain_id, "d1");
	assert_string_equal(f->c.project_domain_id, "pd");
}

static void test_secure_yaml(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *path = write_file(f, "s/clouds.yaml",
					       "clouds:\n"
					       "  prod:\n"
					       "    auth:\n"
					       "      auth_url: http://ks:5000/v3\n"
					       "      username: public-name\n"
					       "      project_name: k8s\n"
					       "  solo:\n"
					       "    region_name: R1\n");
	_cleanup_free_ char *secure = write_file(f, "s/secure.yaml",
						 "clouds:\n"
						 "  prod:\n"
						 "    auth:\n"
						 "      username: secret-name\n"
						 "      password: " PW "\n"
						 "  elsewhere:\n"
						 "    auth:\n"
						 "      password: x\n");
	_cleanup_free_ char *msg = NULL;

	assert_int_equal(load(f, "prod", path, NULL), 0);
	assert_string_equal(f->c.auth_url, "http://ks:5000/v3");
	assert_string_equal(f->c.username, "secret-name");
	assert_string_equal(f->c.password, PW);
	assert_string_equal(f->c.project_name, "k8s");
	/* The password came from secure.yaml, and it still says what it is. */
	assert_int_equal(f->c.auth_type, OS_AUTH_PASSWORD);

	/* A cloud secure.yaml does not have is fine; one only secure.yaml has
	 * is not a cloud. */
	assert_int_equal(load(f, "solo", path, NULL), 0);
	assert_string_equal(f->c.region_name, "R1");
	assert_int_equal(load(f, "elsewhere", path, &msg), -ENOENT);
	assert_non_null(strstr(msg, "\"elsewhere\""));

	/* An error in secure.yaml names secure.yaml and changes nothing. */
	free(write_file(f, "s/secure.yaml",
			"clouds:\n"
			"  solo:\n"
			"    auth:\n"
			"      password: [" PW "]\n"));
	free(msg);
	msg = NULL;
	assert_int_equal(load(f, "solo", path, &msg), -EINVAL);
	assert_non_null(strstr(msg, secure));
	assert_non_null(strstr(msg, ":4: clouds.solo.auth.password must be a string"));
	assert_string_equal(f->c.password, PW);
}

/* The search order: $OS_CLIENT_CONFIG_FILE, ./, $XDG_CONFIG_HOME/openstack
 * (else ~/.config/openstack), /etc/openstack. Each candidate names its own
 * region so we can tell which was read. */
static void test_search_order(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *msg = NULL, *env_file = NULL, *cwd_file = NULL, *xdg_file = NULL,
			    *home_file = NULL, *sec = NULL;
	const char *x = "clouds:\n  c1:\n    region_name: ";
	char buf[256];

	/* Nothing anywhere (unless this machine has /etc/openstack/clouds.yaml). */
	if (access("/etc/openstack/clouds.yaml", F_OK) == 0)
		print_message("# /etc/openstack/clouds.yaml exists, \"none found\" not checked\n");
	else {
		assert_int_equal(load(f, "c1", NULL, &msg), -ENOENT);
		assert_non_null(strstr(msg, "no clouds.yaml in: "));
		snprintf(buf, sizeof(buf), "%s/cwd/clouds.yaml", f->dir);
		assert_non_null(strstr(msg, buf));
		snprintf(buf, sizeof(buf), "%s/xdg/openstack/clouds.yaml", f->dir);
		assert_non_null(strstr(msg, buf));
		assert_non_null(strstr(msg, "/etc/openstack/clouds.yaml"));
	}

	snprintf(buf, sizeof(buf), "%sHome\n", x);
	home_file = write_file(f, "home/.config/openstack/clouds.yaml", buf);
	/* With XDG_CONFIG_HOME set, ~/.config is not where to look... */
	if (access("/etc/openstack/clouds.yaml", F_OK) != 0)
		assert_int_equal(load(f, "c1", NULL, NULL), -ENOENT);
	/* ...without it, it is. */
	unsetenv("XDG_CONFIG_HOME");
	assert_int_equal(load(f, "c1", NULL, NULL), 0);
	assert_string_equal(f->c.region_name, "Home");

	snprintf(buf, sizeof(buf), "%s/xdg", f->dir);
	setenv("XDG_CONFIG_HOME", buf, 1);
	snprintf(buf, sizeof(buf), "%sXdg\n", x);
	xdg_file = write_file(f, "xdg/openstack/clouds.yaml", buf);
	assert_int_equal(load(f, "c1", NULL, NULL), 0);
	assert_string_equal(f->c.region_name, "Xdg");

	snprintf(buf, sizeof(buf), "%sCwd\n", x);
	cwd_file = write_file(f, "cwd/clouds.yaml", buf);
	assert_int_equal(load(f, "c1", NULL, NULL), 0);
	assert_string_equal(f->c.region_name, "Cwd");

	snprintf(buf, sizeof(buf), "%sEnv\n", x);
	env_file = write_file(f, "elsewhere/my-clouds.yaml", buf);
	setenv("OS_CLIENT_CONFIG_FILE", env_file, 1);
	assert_int_equal(load(f, "c1", NULL, NULL), 0);
	assert_string_equal(f->c.region_name, "Env");

	/* A missing $OS_CLIENT_CONFIG_FILE is passed over. */
	snprintf(buf, sizeof(buf), "%s/nope.yaml", f->dir);
	setenv("OS_CLIENT_CONFIG_FILE", buf, 1);
	assert_int_equal(load(f, "c1", NULL, NULL), 0);
	assert_string_equal(f->c.region_name, "Cwd");

	/* secure.yaml is searched for on its own: here from $XDG_CONFIG_HOME
	 * with clouds.yaml from the cwd, then $OS_CLIENT_SECURE_FILE first. */
	snprintf(buf, sizeof(buf), "clouds:\n  c1:\n    auth:\n      password: " PW "\n");
	sec = write_file(f, "xdg/openstack/secure.yaml", buf);
	assert_int_equal(load(f, "c1", NULL, NULL), 0);
	assert_string_equal(f->c.region_name, "Cwd");
	assert_string_equal(f->c.password, PW);
	free(sec);
	sec =
	    write_file(f, "elsewhere/sec.yaml", "clouds:\n  c1:\n    auth:\n      password: p2\n");
	setenv("OS_CLIENT_SECURE_FILE", sec, 1);
	assert_int_equal(load(f, "c1", NULL, NULL), 0);
	assert_string_equal(f->c.password, "p2");
}

static void test_missing(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *path = write_file(f, "m/clouds.yaml", "clouds:\n  c1: {}\n");
	_cleanup_free_ char *msg = NULL, *want = NULL, *missing = NULL;

	assert_int_equal(load(f, "c2", path, &msg), -ENOENT);
	assert_true(asprintf(&want, "cloud \"c2\" is not in %s", path) > 0);
	assert_string_equal(msg, want);

	/* An empty entry is a cloud with nothing to say. */
	assert_int_equal(load(f, "c1", path, NULL), 0);

	/* An empty file, or one without clouds:, has no cloud. */
	expect_error(f, "", -ENOENT, 0, "cloud \"c1\" is not in");
	expect_error(f, "# nothing\n", -ENOENT, 0, "cloud \"c1\" is not in");
	expect_error(f, "client:\n  force_ipv4: true\n", -ENOENT, 0, "is not in");
	expect_error(f, "clouds:\n", -ENOENT, 0, "is not in");

	/* An explicit path that does not exist. */
	assert_true(asprintf(&missing, "%s/none/clouds.yaml", f->dir) > 0);
	free(msg);
	msg = NULL;
	assert_int_equal(load(f, "c1", missing, &msg), -ENOENT);
	assert_non_null(strstr(msg, missing));
	/* A directory is not a file. */
	free(msg);
	msg = NULL;
	assert_int_equal(load(f, "c1", f->dir, &msg), -EINVAL);
	assert_non_null(strstr(msg, "not a regular file"));
}

static void test_malformed(void **state)
{
	struct fixture *f = *state;

	/* Bad indentation on line 4. */
	expect_error(f,
		     "clouds:\n"
		     "  c1:\n"
		     "    auth:\n"
		     "   password: " PW "\n",
		     -EINVAL, 4, "YAML");
	/* A colon in a plain value, on the line of the secret. */
	expect_error(f,
		     "clouds:\n"
		     "  c1:\n"
		     "    auth:\n"
		     "      username: u\n"
		     "      password: " PW ": x\n",
		     -EINVAL, 5, "YAML");
	/* Unterminated quote. */
	expect_error(f,
		     "clouds:\n"
		     "  c1:\n"
		     "    auth:\n"
		     "      password: \"" PW "\n",
		     -EINVAL, 4, "YAML");
	/* A tab where YAML wants spaces. */
	expect_error(f, "clouds:\n  c1:\n\tregion_name: R\n", -EINVAL, 3, "YAML");
	/* An undefined alias. */
	expect_error(f, "clouds:\n  c1:\n    auth: *nowhere\n", -EINVAL, 3, "YAML");
	/* Invalid UTF-8 on line 2. */
	expect_error(f, "clouds:\n  c\xff: {}\n", -EINVAL, 2, "YAML");
}

static void test_wrong_type(void **state)
{
	struct fixture *f = *state;

	expect_error(f,
		     "clouds:\n"
		     "  c1:\n"
		     "    auth:\n"
		     "      username: u\n"
		     "      password:\n"
		     "        value: " PW "\n",
		     -EINVAL, 6, "clouds.c1.auth.password must be a string, not a mapping");
	expect_error(f, "clouds:\n  c1:\n    auth: [" PW "]\n", -EINVAL, 3,
		     "clouds.c1.auth must be a mapping, not a list");
	expect_error(f, "clouds:\n  c1:\n    auth: " PW "\n", -EINVAL, 3,
		     "clouds.c1.auth must be a mapping, not a string");
	expect_error(f, "clouds:\n  c1:\n    region_name: [a, b]\n", -EINVAL, 3,
		     "clouds.c1.region_name must be a string, not a list");
	expect_error(f, "clouds:\n  c1:\n    verify: {x: 1}\n", -EINVAL, 3, "verify");
	expect_error(f, "clouds:\n  c1: " PW "\n", -EINVAL, 2,
		     "clouds.c1 must be a mapping, not a string");
	expect_error(f, "clouds: [c1]\n", -EINVAL, 1, "clouds must be a mapping, not a list");
	expect_error(f, "- clouds\n", -EINVAL, 1, "top level must be a mapping");
	/* A NUL would cut the value short without a word. */
	expect_error(f, "clouds:\n  c1:\n    auth:\n      password: \"" PW "\\0x\"\n", -EINVAL, 4,
		     "NUL");
}

static void test_bad_values(void **state)
{
	struct fixture *f = *state;

	expect_error(f, "clouds:\n  c1:\n    auth_type: kerberos\n", -EINVAL, 3,
		     "auth_type \"kerberos\"");
	expect_error(f, "clouds:\n  c1:\n    interface: private\n", -EINVAL, 3, "interface");
	expect_error(f, "clouds:\n  c1:\n    verify: sometimes\n", -EINVAL, 3, "verify");
	/* The first bad value is the one reported; secrets before it stay out. */
	expect_error(f,
		     "clouds:\n"
		     "  c1:\n"
		     "    auth:\n"
		     "      password: " PW "\n"
		     "      application_credential_secret: " APPSEC "\n"
		     "    insecure: maybe\n"
		     "    interface: nope\n",
		     -EINVAL, 6, "insecure");
}

static void test_yaml_features(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *path = write_file(f, "y/clouds.yaml",
					       "---\n"
					       "common: &auth\n"
					       "  auth_url: 'http://ks:5000/v3'\n"
					       "  username: \"kuryr\"\n"
					       "  password: ~\n"
					       "clouds: {c1: {auth: *auth, region_name: \"Region\n"
					       "    One\"}, c1b: {}}\n"
					       "...\n"
					       "---\n"
					       "clouds: {c1: {region_name: second-document}}\n");

	assert_int_equal(os_auth_config_set(&f->c, "password", "kept", NULL), 0);
	assert_int_equal(load(f, "c1", path, NULL), 0);
	assert_string_equal(f->c.auth_url, "http://ks:5000/v3");
	assert_string_equal(f->c.username, "kuryr");
	/* null is "not set here", not "". */
	assert_string_equal(f->c.password, "kept");
	assert_string_equal(f->c.region_name, "Region One");
	/* Repeated keys: the last one. */
	free(path);
	path = write_file(f, "y/clouds.yaml",
			  "clouds:\n  c1:\n    region_name: a\n    region_name: b\n");
	assert_int_equal(load(f, "c1", path, NULL), 0);
	assert_string_equal(f->c.region_name, "b");
}

static void test_load_buffer(void **state)
{
	struct fixture *f = *state;
	static const char text[] = "clouds:\n  c1:\n    region_name: RegionBuf\nGARBAGE";
	_cleanup_free_ char *msg = NULL;

	/* Not NUL-terminated: only @len bytes are read. */
	assert_int_equal(clouds_load_buffer("c1", text, strlen(text) - strlen("GARBAGE"),
					    "buf.yaml", &f->c, &msg),
			 0);
	assert_null(msg);
	assert_string_equal(f->c.region_name, "RegionBuf");
	assert_int_equal(clouds_load_buffer("c1", text, strlen(text), "buf.yaml", &f->c, &msg),
			 -EINVAL);
	assert_non_null(msg);
	assert_true(strncmp(msg, "buf.yaml:4: ", 12) == 0);
	assert_int_equal(clouds_load_buffer("c1", "", 0, "empty.yaml", &f->c, NULL), -ENOENT);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_defaults),
		cmocka_unit_test(test_auth_type_parse),
		T(test_auth_set),
		T(test_auth_set_bool),
		T(test_auth_set_interface),
		T(test_auth_set_errors),
		T(test_auth_check),
		T(test_auth_copy),
		T(test_password_cloud),
		T(test_appcred_cloud),
		T(test_inferred_auth_type),
		T(test_secure_yaml),
		T(test_search_order),
		T(test_missing),
		T(test_malformed),
		T(test_wrong_type),
		T(test_bad_values),
		T(test_yaml_features),
		T(test_load_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
