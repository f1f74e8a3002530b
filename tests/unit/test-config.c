/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for kuryr.conf loading: the defaults, every key, values layered over
 * earlier ones, and that each kind of mistake is an error naming the file and
 * the line of the first one. Files are written to a fresh
 * /tmp/kuryr-test-config-XXXXXX per test. The shipped etc/kuryr.conf is
 * loaded too when the source dir is known (KURYR_SRCDIR) and it exists.
 *
 * Each error test checks the message names the file and the first bad line. */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "build-config.h"
#include "backend/neutron.h"
#include "backend/ovn.h"
#include "binding/binding.h"
#include "conf-value.h"
#include "daemon/config.h"
#include "macro.h"

/* The backends' own configurations. */
#define NC(c) ((struct neutron_config *)config_backend(&(c), "neutron"))
#define OC(c) ((struct ovn_config *)config_backend(&(c), "ovn"))

#define PW     "pw-S3cr3t-7f1a"
#define APPSEC "app-S3cr3t-99b2"

struct fixture {
	char dir[64];
	char path[128];
	struct kuryr_config c;
};

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path) < 0 ? -errno : 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kuryr-test-config-XXXXXX");
	if (!mkdtemp(f->dir) || config_init(&f->c) < 0) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/kuryr.conf", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r;

	config_release(&f->c);
	r = nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return r == 0 ? 0 : -1;
}

static void write_conf(struct fixture *f, const char *text)
{
	FILE *fp = fopen(f->path, "we");

	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static int load(struct fixture *f, const char *text, char **reterr_msg)
{
	write_conf(f, text);
	return config_load(&f->c, f->path, reterr_msg);
}

/* Expect @text to fail with -EINVAL and "PATH:LINE: ..." containing @needle. */
static void expect_error(struct fixture *f, const char *text, int line, const char *needle)
{
	_cleanup_free_ char *msg = NULL, *prefix = NULL;
	int r;

	r = load(f, text, &msg);
	if (r != -EINVAL)
		fail_msg("expected -EINVAL, got %d (%s) for:\n%s", r, msg ? msg : "no message",
			 text);
	assert_non_null(msg);
	assert_true(asprintf(&prefix, "%s:%d: ", f->path, line) > 0);
	if (strncmp(msg, prefix, strlen(prefix)) != 0)
		fail_msg("message \"%s\" does not start with \"%s\"", msg, prefix);
	if (needle && !strstr(msg + strlen(prefix), needle))
		fail_msg("message \"%s\" does not mention \"%s\"", msg, needle);
}

/* ---- defaults ---- */

static void test_defaults(void **state)
{
	struct kuryr_config c;

	assert_int_equal(config_init(&c), 0);
	assert_string_equal(c.backend, "ovn");
	assert_string_equal(c.log_level, "info");
	assert_string_equal(OC(c)->nb_connection, "unix:/run/kuryr-c/ovn/nb.sock");
	assert_string_equal(OC(c)->sb_connection, "unix:/run/kuryr-c/ovn/sb.sock");
	assert_string_equal(c.ovs_db, "unix:/run/kuryr-c/ovs/db.sock");
	assert_string_equal(c.ovs_bridge, "br-int");
	assert_string_equal(c.socket, KURYR_DEFAULT_SOCKET);
	assert_string_equal(c.state_dir, KURYR_DEFAULT_STATE_DIR);
	assert_string_equal(c.metrics_address, "");
	assert_int_equal(c.port_up_timeout_ms, 10000);
	assert_int_equal(c.workers, 32);
	assert_int_equal(NC(c)->auth.auth_type, OS_AUTH_NONE);
	assert_string_equal(NC(c)->auth.endpoint_override, "");
	assert_string_equal(NC(c)->auth.interface, "public");
	assert_false(NC(c)->auth.insecure);
	assert_string_equal(NC(c)->cloud, "");
	assert_int_equal(NC(c)->timeout_ms, 10000);
	assert_int_equal(NC(c)->max_concurrent, 8);
	assert_int_equal(NC(c)->n_explicit, 0);
	assert_string_equal(NC(c)->project, "");
	assert_string_equal(NC(c)->pod_subnet, "");
	assert_non_null(NC(c)->pod_security_groups);
	assert_null(NC(c)->pod_security_groups[0]);
	assert_string_equal(NC(c)->ovs_bridge, "");
	assert_string_equal(NC(c)->pod_qos_policy, "");
	assert_string_equal(OC(c)->pod_qos_policy, "");

	config_release(&c);
	assert_null(c.backend);
	assert_null(c.state_dir);
	/* Released twice is harmless. */
	config_release(&c);
}

/* ---- loading ---- */

static const char full_conf[] = "# every key\n"
				"[DEFAULT]\n"
				"backend = ovn\n"
				"log_level = debug\n"
				"\n"
				"[ovn]\n"
				"nb_connection = tcp:192.0.2.10:6641\n"
				"\n"
				"; OVS\n"
				"[ovs]\n"
				"db_connection = unix:/var/run/openvswitch/db.sock\n"
				"bridge = br-test\n"
				"\n"
				"[daemon]\n"
				"socket = /tmp/kuryr-test.sock\n"
				"state_dir = /tmp/kuryr-test-state\n"
				"metrics_address = 127.0.0.1:9655\n"
				"port_up_timeout = 2.5\n"
				"workers = 8\n";

static void test_load_full(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *msg = NULL;

	assert_int_equal(load(f, full_conf, &msg), 0);
	assert_null(msg);
	assert_string_equal(f->c.backend, "ovn");
	assert_string_equal(f->c.log_level, "debug");
	assert_string_equal(OC(f->c)->nb_connection, "tcp:192.0.2.10:6641");
	assert_string_equal(f->c.ovs_db, "unix:/var/run/openvswitch/db.sock");
	assert_string_equal(f->c.ovs_bridge, "br-test");
	assert_string_equal(f->c.socket, "/tmp/kuryr-test.sock");
	assert_string_equal(f->c.state_dir, "/tmp/kuryr-test-state");
	assert_string_equal(f->c.metrics_address, "127.0.0.1:9655");
	assert_int_equal(f->c.port_up_timeout_ms, 2500);
	assert_int_equal(f->c.workers, 8);
}

/* [vif_pool]: upstream Kuryr's names, our defaults, and their bounds. */
static void test_vif_pool(void **state)
{
	struct fixture *f = *state;

	assert_true(f->c.pool_enabled);
	assert_true(f->c.pool_prewire);
	assert_int_equal(f->c.pool_min, 5);
	assert_int_equal(f->c.pool_max, 0);
	assert_int_equal(f->c.pool_batch, 10);
	assert_int_equal(f->c.pool_update_ms, 20000);
	assert_string_equal(f->c.holding_netns, "kuryr-hold");
	/* Unset: kuryrd picks it (OVS's hostname, else gethostname()). */
	assert_null(f->c.host);
	assert_int_equal(load(f,
			      "[DEFAULT]\nhost = node7\n[vif_pool]\nenabled = false\nprewire = no\n"
			      "ports_pool_min = 3\nports_pool_max = 9\nports_pool_batch = 2\n"
			      "ports_pool_update_frequency = 0.5\nholding_netns = hold7\n",
			      NULL),
			 0);
	assert_string_equal(f->c.host, "node7");
	assert_false(f->c.pool_enabled);
	assert_false(f->c.pool_prewire);
	assert_int_equal(f->c.pool_min, 3);
	assert_int_equal(f->c.pool_max, 9);
	assert_int_equal(f->c.pool_batch, 2);
	assert_int_equal(f->c.pool_update_ms, 500);
	assert_string_equal(f->c.holding_netns, "hold7");
	expect_error(f, "[vif_pool]\nenabled = maybe\n", 2, "enabled");
	expect_error(f, "[vif_pool]\nports_pool_batch = 0\n", 2, "ports_pool_batch");
	expect_error(f, "[vif_pool]\nholding_netns = a/b\n", 2, "holding_netns");
}

static void test_docker(void **state)
{
	struct fixture *f = *state;

	assert_false(f->c.docker_enabled);
	assert_string_equal(f->c.docker_socket, "/run/docker/plugins/kuryr.sock");
	assert_string_equal(f->c.docker_subnet_pool, "10.10.0.0/16");
	assert_int_equal(load(f,
			      "[docker]\nenabled = true\nsocket = /tmp/k.sock\n"
			      "subnet_pool = 10.20.0.0/16\n",
			      NULL),
			 0);
	assert_true(f->c.docker_enabled);
	assert_string_equal(f->c.docker_socket, "/tmp/k.sock");
	assert_string_equal(f->c.docker_subnet_pool, "10.20.0.0/16");
	expect_error(f, "[docker]\nsocket = relative.sock\n", 2, "socket");
	expect_error(f, "[docker]\nport = 80\n", 2, "port");
}

static void test_load_partial_keeps_rest(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f, "[ovs]\nbridge = br-x\n", NULL), 0);
	assert_string_equal(f->c.ovs_bridge, "br-x");
	assert_string_equal(f->c.ovs_db, "unix:/run/kuryr-c/ovs/db.sock");
	assert_string_equal(f->c.log_level, "info");
	assert_int_equal(f->c.port_up_timeout_ms, 10000);
	assert_int_equal(f->c.workers, 32);

	/* A second file is read over the first. */
	assert_int_equal(load(f, "[daemon]\nworkers = 4\n", NULL), 0);
	assert_string_equal(f->c.ovs_bridge, "br-x");
	assert_int_equal(f->c.workers, 4);

	/* An empty file changes nothing. */
	assert_int_equal(load(f, "", NULL), 0);
	assert_string_equal(f->c.ovs_bridge, "br-x");
	assert_int_equal(f->c.workers, 4);
}

static void test_load_no_section_is_default(void **state)
{
	struct fixture *f = *state;

	/* Keys before any section header belong to [DEFAULT]. */
	assert_int_equal(load(f, "log_level = warning\nbackend = ovn\n", NULL), 0);
	assert_string_equal(f->c.log_level, "warning");
	assert_string_equal(f->c.backend, "ovn");
}

static void test_load_last_wins(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
	    load(f, "[ovs]\nbridge = br-a\nbridge = br-b\n[ovs]\nbridge = br-c\n", NULL), 0);
	assert_string_equal(f->c.ovs_bridge, "br-c");
}

static void test_port_up_timeout(void **state)
{
	static const struct {
		const char *v;
		int ms;
	} ok[] = {
		{ "1", 1000 },	     { "0.5", 500 },   { "2.25", 2250 },
		{ "10", 10000 },     { "0.1", 100 },   { "0.001", 1 },
		{ "3600", 3600000 }, { "1e1", 10000 }, { "  7  ", 7000 },
	};
	static const char *const bad[] = { "0",	 "-1",	"-0.5", "3601", "3600.5", "abc",
					   "1s", "5 s", "0x",	"inf",	"-inf",	  "1,5" };
	struct fixture *f = *state;
	char text[128];

	for (size_t i = 0; i < ELEMENTSOF(ok); i++) {
		_cleanup_free_ char *msg = NULL;

		snprintf(text, sizeof(text), "[daemon]\nport_up_timeout = %s\n", ok[i].v);
		if (load(f, text, &msg) != 0)
			fail_msg("port_up_timeout = %s rejected: %s", ok[i].v, msg ? msg : "?");
		if (f->c.port_up_timeout_ms != ok[i].ms)
			fail_msg("port_up_timeout = %s gave %d ms, not %d", ok[i].v,
				 f->c.port_up_timeout_ms, ok[i].ms);
	}
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		snprintf(text, sizeof(text), "[daemon]\nworkers = 3\nport_up_timeout = %s\n",
			 bad[i]);
		expect_error(f, text, 3, "port_up_timeout");
		/* A rejected value does not replace the old one. */
		assert_int_equal(f->c.port_up_timeout_ms, 7000);
	}
}

static void test_workers(void **state)
{
	static const char *const bad[] = { "0", "-1", "1025", "abc", "8x", "1.5", "99999999999" };
	struct fixture *f = *state;
	char text[128];

	assert_int_equal(load(f, "[daemon]\nworkers = 1\n", NULL), 0);
	assert_int_equal(f->c.workers, 1);
	assert_int_equal(load(f, "[daemon]\nworkers = 1024\n", NULL), 0);
	assert_int_equal(f->c.workers, 1024);
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		snprintf(text, sizeof(text), "# c\n\n[daemon]\nworkers = %s\n", bad[i]);
		expect_error(f, text, 4, "workers");
		assert_int_equal(f->c.workers, 1024);
	}
	expect_error(f, "[daemon]\nworkers = 12abc\n", 2, "\"12abc\"");
}

/* ---- errors ---- */

static void test_unknown_key(void **state)
{
	struct fixture *f = *state;

	expect_error(f, "[ovs]\nbridge = br-int\nbrige = br-x\n", 3, "unknown key \"brige\"");
	expect_error(f, "[ovs]\nbridge = br-int\nbrige = br-x\n", 3, "[ovs]");
	expect_error(f, "[ovn]\nnb_connection = tcp:1.2.3.4:6641\ndb_connection = x\n", 3,
		     "\"db_connection\"");
	expect_error(f, "[DEFAULT]\nlog_level = info\nloglevel = debug\n", 3, "\"loglevel\"");
	expect_error(f, "workers = 3\n", 1, "\"workers\"");
	/* Section names are case-sensitive. */
	expect_error(f, "[Daemon]\nworkers = 3\n", 2, "[Daemon]");
}

static void test_unknown_section(void **state)
{
	struct fixture *f = *state;

	expect_error(f, "[DEFAULT]\nbackend = ovn\n\n[nova]\nurl = http://x\n", 5,
		     "unknown section [nova]");
	/* A known section with an unknown key names the key. */
	expect_error(f, "[neutron]\nurl = http://x\n", 2, "unknown key \"url\" in [neutron]");
}

/* Backend "neutron": upstream Kuryr's / keystoneauth's key names. */
static void test_neutron(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load(f,
			      "[DEFAULT]\nbackend = neutron\n[neutron]\nauth_type = none\n"
			      "endpoint_override = http://127.0.0.1:9696\n"
			      "[neutron_defaults]\nproject = p1\n",
			      NULL),
			 0);
	assert_string_equal(f->c.backend, "neutron");
	assert_int_equal(NC(f->c)->auth.auth_type, OS_AUTH_NONE);
	assert_string_equal(NC(f->c)->auth.endpoint_override, "http://127.0.0.1:9696");
	assert_string_equal(NC(f->c)->project, "p1");
	expect_error(f, "[neutron]\nauth_type = kerberos\n", 2, "auth_type \"kerberos\"");
	assert_int_equal(NC(f->c)->auth.auth_type, OS_AUTH_NONE);
	/* Empty: the token's project. */
	assert_int_equal(load(f, "[neutron_defaults]\nproject =\n", NULL), 0);
	assert_string_equal(NC(f->c)->project, "");
}

/* [neutron]: every keystoneauth key upstream Kuryr's kuryr.conf has, and
 * clouds.yaml's spellings of some. */
static void test_neutron_auth_keys(void **state)
{
	struct fixture *f = *state;
	const struct os_auth_config *a = &NC(f->c)->auth;
	_cleanup_free_ char *msg = NULL;

	assert_int_equal(load(f,
			      "[neutron]\n"
			      "auth_type = password\n"
			      "auth_url = http://ks:5000/v3\n"
			      "username = kuryr\n"
			      "password = " PW "\n"
			      "project_name = k8s\n"
			      "user_domain_name = Users\n"
			      "project_domain_name = Projects\n"
			      "region_name = RegionTwo\n"
			      "cafile = /etc/kuryr/ca.pem\n"
			      "insecure = true\n"
			      "endpoint_override = https://neutron:9696\n"
			      "user_id = uid\n"
			      "project_id = pid\n"
			      "user_domain_id = udid\n"
			      "project_domain_id = pdid\n"
			      "application_credential_id = acid\n"
			      "application_credential_name = acname\n"
			      "application_credential_secret = " APPSEC "\n"
			      "interface = internalURL\n"
			      "timeout = 2.5\n"
			      "max_concurrent_requests = 256\n"
			      "cloud = prod\n",
			      &msg),
			 0);
	assert_null(msg);
	assert_int_equal(a->auth_type, OS_AUTH_PASSWORD);
	assert_string_equal(a->auth_url, "http://ks:5000/v3");
	assert_string_equal(a->username, "kuryr");
	assert_string_equal(a->password, PW);
	assert_string_equal(a->project_name, "k8s");
	assert_string_equal(a->user_domain_name, "Users");
	assert_string_equal(a->project_domain_name, "Projects");
	assert_string_equal(a->region_name, "RegionTwo");
	assert_string_equal(a->cafile, "/etc/kuryr/ca.pem");
	assert_true(a->insecure);
	assert_string_equal(a->endpoint_override, "https://neutron:9696");
	assert_string_equal(a->user_id, "uid");
	assert_string_equal(a->project_id, "pid");
	assert_string_equal(a->user_domain_id, "udid");
	assert_string_equal(a->project_domain_id, "pdid");
	assert_string_equal(a->application_credential_id, "acid");
	assert_string_equal(a->application_credential_name, "acname");
	assert_string_equal(a->application_credential_secret, APPSEC);
	assert_string_equal(a->interface, "internal");
	assert_int_equal(NC(f->c)->timeout_ms, 2500);
	assert_int_equal(NC(f->c)->max_concurrent, 256);
	assert_string_equal(NC(f->c)->cloud, "prod");
	/* The auth keys are remembered, the others are not. */
	assert_int_equal(NC(f->c)->n_explicit, 19);

	/* clouds.yaml's names; the last one written is what counts. */
	assert_int_equal(
	    load(f,
		 "[neutron]\nverify = true\ncacert = /ca2.pem\nauth_type = "
		 "v3applicationcredential\ninsecure = yes\nmax_concurrent_requests = 1\n",
		 NULL),
	    0);
	assert_true(a->insecure);
	assert_string_equal(a->cafile, "/ca2.pem");
	assert_int_equal(a->auth_type, OS_AUTH_APPCRED);
	assert_int_equal(NC(f->c)->max_concurrent, 1);
	/* Each key once: auth_type and insecure moved to the end, verify and
	 * cacert added. */
	assert_int_equal(NC(f->c)->n_explicit, 21);
	assert_string_equal(NC(f->c)->explicit_keys[NC(f->c)->n_explicit - 1].key, "insecure");
}

static void test_neutron_bad_values(void **state)
{
	static const char *const bad[] = {
		"[neutron]\ntimeout = 0\n",
		"[neutron]\ntimeout = soon\n",
		"[neutron]\nmax_concurrent_requests = 0\n",
		"[neutron]\nmax_concurrent_requests = 257\n",
		"[neutron]\nmax_concurrent_requests = many\n",
		"[neutron]\ninsecure = maybe\n",
		"[neutron]\nverify = 2\n",
		"[neutron]\ninterface = private\n",
		"[neutron]\nauth_type =\n",
		"[neutron]\nauth_type = kerberos\n",
		"[neutron_defaults]\npod_security_groups = a,,b\n",
		"[neutron_defaults]\npod_security_groups = a, \n",
		"[neutron_defaults]\npod_security_groups = ,\n",
	};
	struct fixture *f = *state;
	char text[256];

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		snprintf(text, sizeof(text), "[neutron]\npassword = " PW "\n%s", bad[i]);
		expect_error(f, text, 4, NULL);
	}
	expect_error(f, "[neutron]\ntimeout = soon\n", 2, "timeout");
	expect_error(f, "[neutron]\nmax_concurrent_requests = 0\n", 2, "max_concurrent_requests");
	expect_error(f, "[neutron]\ninsecure = maybe\n", 2, "insecure");
	expect_error(f, "[neutron]\ninterface = private\n", 2, "interface");
	expect_error(f, "[neutron]\nendpoint = http://x\n", 2, "unknown key \"endpoint\"");
	expect_error(f, "[neutron_defaults]\npod_security_groups = a,,b\n", 2,
		     "pod_security_groups");
	/* Nothing was taken from the failed files' bad lines. */
	assert_int_equal(NC(f->c)->timeout_ms, 10000);
	assert_int_equal(NC(f->c)->max_concurrent, 8);
	assert_string_equal(NC(f->c)->auth.interface, "public");
	assert_null(NC(f->c)->pod_security_groups[0]);
}

/* The value of a secret key never reaches a message, whatever goes wrong
 * on its line or around it. */
static void test_neutron_no_secret(void **state)
{
	static const char *const bad[] = {
		"[neutron]\npassword = " PW "\ninsecure = maybe\n",
		"[neutron]\npasword = " PW "\n",
		"[neutron]\ntoken " PW "\n",
		"[neutron]\ntokn = " PW "\n",
		"[neutron]\npassword " PW "\n",
		"[neutron]\napplication_credential_secret " APPSEC "\n",
		"[neutron_defaults]\npassword = " PW "\n",
		"[neutron]\napplication_credential_secret = " APPSEC "\nauth_type = x\n",
		"[keystone]\npassword = " PW "\n",
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		_cleanup_free_ char *msg = NULL;

		assert_int_equal(load(f, bad[i], &msg), -EINVAL);
		assert_non_null(msg);
		if (strstr(msg, PW) || strstr(msg, APPSEC) || strstr(msg, "S3cr3t"))
			fail_msg("message leaks a secret: %s", msg);
	}
}

static void test_neutron_defaults(void **state)
{
	struct fixture *f = *state;
	char **sg;

	assert_int_equal(load(f,
			      "[neutron_defaults]\nproject = p2\npod_subnet = pods-v4\n"
			      "pod_security_groups = default, 6f1a-allow-dns ,k8s pods\n"
			      "ovs_bridge = br-neutron\npod_qos_policy = gold\n",
			      NULL),
			 0);
	sg = NC(f->c)->pod_security_groups;
	/* The section is shared: backend ovn reads the groups too, and
	 * leaves the keys it has no use for to neutron. */
	assert_string_equal(OC(f->c)->pod_security_groups[2], "k8s pods");
	assert_null(OC(f->c)->pod_security_groups[3]);
	assert_string_equal(NC(f->c)->project, "p2");
	assert_string_equal(NC(f->c)->pod_subnet, "pods-v4");
	assert_string_equal(sg[0], "default");
	assert_string_equal(sg[1], "6f1a-allow-dns");
	assert_string_equal(sg[2], "k8s pods");
	assert_null(sg[3]);
	assert_string_equal(NC(f->c)->ovs_bridge, "br-neutron");
	assert_string_equal(NC(f->c)->pod_qos_policy, "gold");
	assert_string_equal(OC(f->c)->pod_qos_policy, "gold");

	assert_int_equal(load(f, "[neutron_defaults]\npod_security_groups = one\n", NULL), 0);
	assert_string_equal(NC(f->c)->pod_security_groups[0], "one");
	assert_null(NC(f->c)->pod_security_groups[1]);
	/* Empty: no security groups (Neutron's default group applies). */
	assert_int_equal(load(f, "[neutron_defaults]\npod_security_groups =\n", NULL), 0);
	assert_non_null(NC(f->c)->pod_security_groups);
	assert_null(NC(f->c)->pod_security_groups[0]);
	/* A bad list leaves the old one. */
	assert_int_equal(load(f, "[neutron_defaults]\npod_security_groups = x,y\n", NULL), 0);
	expect_error(f, "[neutron_defaults]\npod_security_groups = x,,y\n", 2, NULL);
	assert_string_equal(NC(f->c)->pod_security_groups[1], "y");
	assert_null(NC(f->c)->pod_security_groups[2]);
	/* A key no backend reads is still an error. */
	expect_error(f, "[neutron_defaults]\npod_security_group = x\n", 2,
		     "unknown key \"pod_security_group\" in [neutron_defaults]");
}

static void test_octavia(void **state)
{
	struct fixture *f = *state;

	/* Default: none given (Keystone's catalog, if any). */
	assert_string_equal(NC(f->c)->octavia_endpoint, "");
	assert_int_equal(load(f, "[octavia]\nendpoint_override = http://127.0.0.1:19876\n", NULL),
			 0);
	assert_string_equal(NC(f->c)->octavia_endpoint, "http://127.0.0.1:19876");
	/* [neutron]'s own override is Neutron's, not Octavia's. */
	assert_string_equal(NC(f->c)->auth.endpoint_override, "");
	assert_int_equal(load(f, "[octavia]\nendpoint_override = https://lb:9876/\n", NULL), 0);
	assert_string_equal(NC(f->c)->octavia_endpoint, "https://lb:9876/");
	/* Empty again: back to the catalog. */
	assert_int_equal(load(f, "[octavia]\nendpoint_override =\n", NULL), 0);
	assert_string_equal(NC(f->c)->octavia_endpoint, "");
	/* A bad URL leaves the old value, with a message naming the key. */
	assert_int_equal(load(f, "[octavia]\nendpoint_override = http://a:1\n", NULL), 0);
	expect_error(f, "[octavia]\nendpoint_override = ftp://lb\n", 2,
		     "[octavia] endpoint_override \"ftp://lb\" is not an http(s) URL");
	assert_string_equal(NC(f->c)->octavia_endpoint, "http://a:1");
	expect_error(f, "[octavia]\nendpoint = http://lb\n", 2,
		     "unknown key \"endpoint\" in [octavia]");
}

/* ---- [neutron] cloud / OS_CLOUD: clouds.yaml under kuryr.conf ---- */

static const char *const env_vars[] = { "OS_CLOUD", "OS_CLIENT_CONFIG_FILE",
					"OS_CLIENT_SECURE_FILE", "XDG_CONFIG_HOME", "HOME" };

struct env_fixture {
	struct fixture *f;
	int old_cwd;
	char *old_env[ELEMENTSOF(env_vars)];
	char clouds[160];
};

static const char clouds_yaml[] = "clouds:\n"
				  "  prod:\n"
				  "    region_name: CloudRegion\n"
				  "    verify: false\n"
				  "    cacert: /cloud/ca.pem\n"
				  "    network_endpoint_override: http://cloud-neutron:9696\n"
				  "    auth:\n"
				  "      auth_url: http://cloud-ks:5000/v3\n"
				  "      username: cloud-user\n"
				  "      password: cloud-" PW "\n"
				  "      project_name: cloud-project\n"
				  "      domain_name: CloudDomain\n"
				  "  other:\n"
				  "    auth:\n"
				  "      auth_url: http://other-ks:5000/v3\n"
				  "      application_credential_id: oac\n"
				  "      application_credential_secret: " APPSEC "\n";

/* setup(), with clouds.yaml at $OS_CLIENT_CONFIG_FILE and every other place
 * clouds.yaml could be read from pointed into the test's directory. */
static int setup_env(void **state)
{
	struct env_fixture *e = calloc(1, sizeof(*e));
	void *fs = NULL;
	char p[160];
	FILE *fp;

	if (!e || setup(&fs) < 0)
		return -1;
	e->f = fs;
	for (size_t i = 0; i < ELEMENTSOF(env_vars); i++) {
		const char *v = getenv(env_vars[i]);

		e->old_env[i] = v ? strdup(v) : NULL;
		unsetenv(env_vars[i]);
	}
	snprintf(p, sizeof(p), "%s/xdg", e->f->dir);
	setenv("XDG_CONFIG_HOME", p, 1);
	setenv("HOME", e->f->dir, 1);
	snprintf(e->clouds, sizeof(e->clouds), "%s/clouds.yaml", e->f->dir);
	setenv("OS_CLIENT_CONFIG_FILE", e->clouds, 1);
	fp = fopen(e->clouds, "we");
	if (!fp || fputs(clouds_yaml, fp) < 0 || fclose(fp) != 0)
		return -1;
	e->old_cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (e->old_cwd < 0 || chdir(e->f->dir) < 0)
		return -1;
	*state = e;
	return 0;
}

static int teardown_env(void **state)
{
	struct env_fixture *e = *state;
	void *fs = e->f;
	int r = fchdir(e->old_cwd);

	close(e->old_cwd);
	for (size_t i = 0; i < ELEMENTSOF(env_vars); i++) {
		if (e->old_env[i])
			setenv(env_vars[i], e->old_env[i], 1);
		else
			unsetenv(env_vars[i]);
		free(e->old_env[i]);
	}
	if (teardown(&fs) < 0)
		r = -1;
	free(e);
	return r == 0 ? 0 : -1;
}

/* config_finish() on backend neutron: clouds.yaml is its business. */
static int apply_cloud(struct fixture *f, char **ret_msg)
{
	_cleanup_free_ char *msg = NULL;
	int r;

	assert_int_equal(conf_set_str(&f->c.backend, "neutron"), 0);
	r = config_finish(&f->c, &msg);

	if (msg && (strstr(msg, PW) || strstr(msg, APPSEC)))
		fail_msg("message leaks a secret: %s", msg);
	if (ret_msg)
		*ret_msg = TAKE_PTR(msg);
	return r;
}

static void test_cloud_file_wins(void **state)
{
	struct env_fixture *e = *state;
	struct fixture *f = e->f;
	const struct os_auth_config *a = &NC(f->c)->auth;

	assert_int_equal(load(f,
			      "[neutron]\ncloud = prod\nusername = file-user\n"
			      "password = file-" PW "\ninsecure = false\ncafile = /file/ca.pem\n"
			      "user_domain_name = FileDomain\n",
			      NULL),
			 0);
	/* Before: only what the file says. */
	assert_string_equal(a->auth_url, "");
	assert_int_equal(apply_cloud(f, NULL), 1);
	/* From the file, whatever clouds.yaml says... */
	assert_string_equal(a->username, "file-user");
	assert_string_equal(a->password, "file-" PW);
	assert_false(a->insecure); /* clouds.yaml: verify: false */
	assert_string_equal(a->cafile, "/file/ca.pem");
	assert_string_equal(a->user_domain_name, "FileDomain");
	/* ...and from clouds.yaml what the file does not set. */
	assert_int_equal(a->auth_type, OS_AUTH_PASSWORD);
	assert_string_equal(a->auth_url, "http://cloud-ks:5000/v3");
	assert_string_equal(a->project_name, "cloud-project");
	assert_string_equal(a->project_domain_name, "CloudDomain");
	assert_string_equal(a->region_name, "CloudRegion");
	assert_string_equal(a->endpoint_override, "http://cloud-neutron:9696");
	assert_int_equal(os_auth_config_check(a, NULL), 0);

	/* An explicit auth_type in the file beats the one clouds.yaml implies;
	 * a second file's value beats the first's. */
	assert_int_equal(load(f, "[neutron]\nauth_type = none\nusername = second\n", NULL), 0);
	assert_int_equal(apply_cloud(f, NULL), 1);
	assert_int_equal(a->auth_type, OS_AUTH_NONE);
	assert_string_equal(a->username, "second");
	assert_string_equal(a->auth_url, "http://cloud-ks:5000/v3");
}

static void test_cloud_from_env(void **state)
{
	struct env_fixture *e = *state;
	struct fixture *f = e->f;
	const struct os_auth_config *a = &NC(f->c)->auth;
	_cleanup_free_ char *msg = NULL;

	/* Neither [neutron] cloud nor OS_CLOUD: nothing is read. */
	assert_int_equal(load(f, "[neutron]\nregion_name = FileRegion\n", NULL), 0);
	assert_int_equal(apply_cloud(f, NULL), 0);
	assert_string_equal(a->auth_url, "");
	assert_string_equal(a->region_name, "FileRegion");

	setenv("OS_CLOUD", "other", 1);
	assert_int_equal(apply_cloud(f, NULL), 1);
	assert_int_equal(a->auth_type, OS_AUTH_APPCRED);
	assert_string_equal(a->auth_url, "http://other-ks:5000/v3");
	assert_string_equal(a->application_credential_secret, APPSEC);
	assert_string_equal(a->region_name, "FileRegion");

	/* [neutron] cloud wins over OS_CLOUD. */
	assert_int_equal(load(f, "[neutron]\ncloud = prod\n", NULL), 0);
	assert_int_equal(apply_cloud(f, NULL), 1);
	assert_string_equal(a->auth_url, "http://cloud-ks:5000/v3");
	assert_string_equal(a->application_credential_secret, "");
	assert_string_equal(a->region_name, "FileRegion");

	/* A cloud clouds.yaml does not have: an error that names it and the
	 * file, and nothing changes. */
	assert_int_equal(load(f, "[neutron]\ncloud = staging\n", NULL), 0);
	assert_int_equal(apply_cloud(f, &msg), -ENOENT);
	assert_non_null(strstr(msg, "\"staging\""));
	assert_non_null(strstr(msg, e->clouds));
	assert_string_equal(a->auth_url, "http://cloud-ks:5000/v3");
	free(msg);
	msg = NULL;
	assert_int_equal(load(f, "[neutron]\ncloud =\n", NULL), 0);
	setenv("OS_CLOUD", "nope", 1);
	assert_int_equal(apply_cloud(f, &msg), -ENOENT);
	assert_non_null(strstr(msg, "OS_CLOUD=nope"));
}

static void test_cloud_errors(void **state)
{
	struct env_fixture *e = *state;
	struct fixture *f = e->f;
	_cleanup_free_ char *msg = NULL, *msg2 = NULL;
	FILE *fp;

	/* A clouds.yaml error: file and line, no secret. */
	fp = fopen(e->clouds, "we");
	assert_non_null(fp);
	fputs("clouds:\n  prod:\n    auth:\n      password: " PW "\n      username: [a]\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(load(f, "[neutron]\ncloud = prod\npassword = " PW "\n", NULL), 0);
	assert_int_equal(apply_cloud(f, &msg), -EINVAL);
	assert_non_null(strstr(msg, ":5: clouds.prod.auth.username must be a string"));
	assert_string_equal(NC(f->c)->auth.auth_url, "");

	/* No clouds.yaml anywhere (unless this machine has one in /etc). */
	unlink(e->clouds);
	if (access("/etc/openstack/clouds.yaml", F_OK) == 0)
		return;
	assert_int_equal(apply_cloud(f, &msg2), -ENOENT);
	assert_non_null(strstr(msg2, "no clouds.yaml in: "));
}

static void test_bad_backend(void **state)
{
	struct fixture *f = *state;

	expect_error(f, "[DEFAULT]\nbackend = vpp\n", 2, "\"vpp\"");
	assert_string_equal(f->c.backend, "ovn");
	expect_error(f, "backend = OVN\n", 1, "\"OVN\"");
	expect_error(f, "backend =\n", 1, "backend");
}

/* [binding] driver names a registered binding driver. */
static void test_binding_driver(void **state)
{
	struct fixture *f = *state;

	assert_string_equal(f->c.binding_driver, "ovs");
	assert_int_equal(load(f, "[binding]\ndriver = ovs\n", NULL), 0);
	expect_error(f, "[binding]\ndriver = nested-tunnel\n", 2, "\"nested-tunnel\"");
	assert_string_equal(f->c.binding_driver, "ovs");
	expect_error(f, "[binding]\nlink_ifac = eth0\n", 2, "link_ifac");

	/* veth_tx_checksum: auto unless told. */
	assert_int_equal(f->c.veth_tx_csum, BINDING_TX_CSUM_AUTO);
	assert_int_equal(load(f, "[binding]\nveth_tx_checksum = off\n", NULL), 0);
	assert_int_equal(f->c.veth_tx_csum, BINDING_TX_CSUM_OFF);
	assert_int_equal(load(f, "[binding]\nveth_tx_checksum = on\n", NULL), 0);
	assert_int_equal(f->c.veth_tx_csum, BINDING_TX_CSUM_ON);
	assert_int_equal(load(f, "[binding]\nveth_tx_checksum = auto\n", NULL), 0);
	assert_int_equal(f->c.veth_tx_csum, BINDING_TX_CSUM_AUTO);
	expect_error(f, "[binding]\nveth_tx_checksum = maybe\n", 2, "veth_tx_checksum");
}

/* [ovs] bridge_mappings: PHYSNET:BRIDGE items; none by default. */
static void test_bridge_mappings(void **state)
{
	struct fixture *f = *state;

	assert_null(f->c.bridge_mappings[0]);
	assert_int_equal(load(f, "[ovs]\nbridge_mappings = physnet1:br-ex, edge:br-edge\n", NULL),
			 0);
	assert_string_equal(f->c.bridge_mappings[0], "physnet1:br-ex");
	assert_string_equal(f->c.bridge_mappings[1], "edge:br-edge");
	assert_null(f->c.bridge_mappings[2]);
	expect_error(f, "[ovs]\nbridge_mappings = physnet1\n", 2, "bridge_mappings");
	expect_error(f, "[ovs]\nbridge_mappings = :br-ex\n", 2, "bridge_mappings");
	expect_error(f, "[ovs]\nbridge_mappings = p:a:b\n", 2, "bridge_mappings");
	expect_error(f, "[ovs]\nbridge_mappings = p:br-much-too-long-name\n", 2, "bridge_mappings");
	/* A refused value keeps the old one. */
	assert_string_equal(f->c.bridge_mappings[1], "edge:br-edge");
	assert_int_equal(load(f, "[ovs]\nbridge_mappings =\n", NULL), 0);
	assert_null(f->c.bridge_mappings[0]);
}

static void test_syntax_error(void **state)
{
	struct fixture *f = *state;

	expect_error(f, "[ovs]\nbridge br-int\n", 2, "syntax error");
	expect_error(f, "[ovs\nbridge = br-int\n", 1, NULL);
}

static void test_first_error_reported(void **state)
{
	struct fixture *f = *state;
	static const char three_errors[] = "[daemon]\n"	      /* 1 */
					   "workers = 2\n"    /* 2 */
					   "workers = lots\n" /* 3: first error */
					   "[bogus]\n"	      /* 4 */
					   "key = 1\n"	      /* 5: second error */
					   "[ovs]\n"	      /* 6 */
					   "nope = 1\n";      /* 7: third error */

	expect_error(f, three_errors, 3, "\"lots\"");
	expect_error(f,
		     "[ovs]\n"
		     "bridge = br-int\n"
		     "colour = blue\n" /* 3: first error */
		     "[DEFAULT]\n"
		     "backend = other\n", /* 5: second error */
		     3, "\"colour\"");
	expect_error(f,
		     "[daemon]\n"
		     "port_up_timeout = 1\n"
		     "[x]\n"
		     "a = 1\n" /* 4: first error */
		     "[daemon]\n"
		     "port_up_timeout = -3\n", /* 6: second error */
		     4, "[x]");
}

static void test_missing_file(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *msg = NULL, *path = NULL;

	assert_true(asprintf(&path, "%s/does-not-exist.conf", f->dir) > 0);
	assert_int_equal(config_load(&f->c, path, &msg), -ENOENT);
	assert_non_null(msg);
	if (!strstr(msg, path))
		fail_msg("message \"%s\" does not name %s", msg, path);
	/* Nothing changed. */
	assert_string_equal(f->c.ovs_bridge, "br-int");
	/* No message wanted: still the error. */
	assert_int_equal(config_load(&f->c, path, NULL), -ENOENT);
}

/* Every commented-out "#key = value" of etc/kuryr.conf's [neutron] and
 * [neutron_defaults], uncommented, is a key we take with a value we take. */
static void check_shipped_neutron(const char *path)
{
	_cleanup_free_ char *line = NULL, *text = NULL, *msg = NULL;
	bool in_neutron = false;
	struct kuryr_config c;
	size_t cap = 0, size = 0;
	int n = 0, r;
	FILE *in, *out;

	in = fopen(path, "re");
	assert_non_null(in);
	out = open_memstream(&text, &size);
	assert_non_null(out);
	while (getline(&line, &cap, in) > 0) {
		if (line[0] == '[') {
			in_neutron = strncmp(line, "[neutron]", 9) == 0 ||
				     strncmp(line, "[neutron_defaults]", 18) == 0;
			fputs(line, out);
		} else if (in_neutron && line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
			   strstr(line, " =")) {
			fputs(line + 1, out);
			n++;
		}
	}
	fclose(in);
	assert_int_equal(fclose(out), 0);
	assert_true(n >= 20);
	assert_int_equal(config_init(&c), 0);
	out = fmemopen(text, size, "r");
	assert_non_null(out);
	r = config_load_stream(&c, out, "kuryr.conf (uncommented)", &msg);
	fclose(out);
	if (r < 0)
		fail_msg("%s\n%s", msg ? msg : strerror(-r), text);
	assert_int_equal(NC(c)->auth.auth_type, OS_AUTH_NONE);
	assert_int_equal(NC(c)->timeout_ms, 10000);
	assert_int_equal(NC(c)->max_concurrent, 8);
	config_release(&c);
}

static void test_shipped_conf(void **state)
{
	const char *srcdir = getenv("KURYR_SRCDIR");
	_cleanup_free_ char *path = NULL, *msg = NULL;
	struct kuryr_config c;
	int r;

	/* Not skip(): cmocka 1.1.5 prints "not ok N # SKIP", which meson
	 * counts as a failure. Say why nothing was checked instead. */
	if (!srcdir || !*srcdir) {
		print_message("# KURYR_SRCDIR is not set, etc/kuryr.conf not checked\n");
		return;
	}
	assert_true(asprintf(&path, "%s/etc/kuryr.conf", srcdir) > 0);
	if (access(path, F_OK) < 0) {
		print_message("# %s does not exist (yet), not checked\n", path);
		return;
	}
	assert_int_equal(config_init(&c), 0);
	r = config_load(&c, path, &msg);
	if (r < 0)
		fail_msg("%s: %s", path, msg ? msg : strerror(-r));
	assert_string_equal(c.backend, "ovn");
	assert_true(c.workers >= 1);
	assert_true(c.port_up_timeout_ms > 0);
	config_release(&c);
	check_shipped_neutron(path);
}

/* ---- known bugs (see the file comment) ---- */

/* config.c set_seconds_ms(): "nan" passes both range checks (NaN compares
 * false) and (int)(NaN * 1000) is undefined behaviour. */
static void test_timeout_nan(void **state)
{
	struct fixture *f = *state;

	expect_error(f, "[daemon]\nport_up_timeout = nan\n", 2, "port_up_timeout");
	assert_int_equal(f->c.port_up_timeout_ms, 10000);
}

/* config.c set_seconds_ms(): (int)(d * 1000) truncates, so 1.001 s is
 * 1000 ms (1.001 * 1000 == 1000.9999999999999), and a positive value under
 * 1 ms such as 0.0001 is accepted and stored as 0 ms. */
static void test_timeout_rounding(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *msg = NULL;

	assert_int_equal(load(f, "[daemon]\nport_up_timeout = 1.001\n", NULL), 0);
	assert_int_equal(f->c.port_up_timeout_ms, 1001);
	if (load(f, "[daemon]\nport_up_timeout = 0.0001\n", &msg) == 0)
		assert_true(f->c.port_up_timeout_ms > 0);
}

/* config.c config_load(): inih reports a syntax error by line number without
 * calling the handler, so st.err stays NULL and a later handler error fills
 * it: the message pairs the syntax error's line with the later error's
 * text ("PATH:2: unknown key \"nope\" in [ovs]"). */
static void test_syntax_then_error(void **state)
{
	struct fixture *f = *state;

	expect_error(f, "[ovs]\ngarbage line\nnope = 1\n", 2, "syntax error");
}

/* config.c config_load(): fopen() of a directory succeeds on Linux, the
 * first read fails with EISDIR, inih takes that for end of file, and the
 * load returns 0 having read nothing ("--config /etc/kuryr/" silently runs
 * on defaults). */
static void test_load_directory(void **state)
{
	struct fixture *f = *state;

	assert_true(config_load(&f->c, f->dir, NULL) < 0);
}

/* libinih is built with a 200-byte line buffer and would parse a longer
 * line as two: such a line is refused, on its own line number, never split
 * or truncated. */
static void test_long_line(void **state)
{
	struct fixture *f = *state;
	char value[301], text[400];

	memset(value, 'a', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	memcpy(value, "unix:/", 6);
	snprintf(text, sizeof(text), "[ovn]\nnb_connection = %s\n", value);
	expect_error(f, text, 2, "line too long");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test_setup_teardown(test_load_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vif_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_docker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_partial_keeps_rest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_no_section_is_default, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_last_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_port_up_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_workers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_section, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bridge_mappings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binding_driver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_backend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_neutron, setup, teardown),
		cmocka_unit_test_setup_teardown(test_neutron_auth_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_neutron_bad_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_neutron_no_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_neutron_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_octavia, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cloud_file_wins, setup_env, teardown_env),
		cmocka_unit_test_setup_teardown(test_cloud_from_env, setup_env, teardown_env),
		cmocka_unit_test_setup_teardown(test_cloud_errors, setup_env, teardown_env),
		cmocka_unit_test_setup_teardown(test_syntax_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_error_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_file, setup, teardown),
		cmocka_unit_test(test_shipped_conf),
		cmocka_unit_test_setup_teardown(test_timeout_nan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_rounding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_syntax_then_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_directory, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
