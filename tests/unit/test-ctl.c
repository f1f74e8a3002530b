/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for kuryrctl's command line: argv to the request kuryrd gets (every
 * command, global options before, between and after the command's words,
 * --opt=value), the one-line refusals with exit status 2 (unknown option,
 * extra or missing word, option without its value), the help made from the
 * command table, and the output formats. ctl_main runs against a small
 * kuryrd stand-in on /tmp/kuryr-test-ctl-XXXXXX/sock, in a thread, that
 * records what it is sent and answers a scripted result. */
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cmocka.h>

#include "build-config.h"
#include "ctl/ctl.h"
#include "json-util.h"
#include "macro.h"
#include "proto/proto.h"

/* Long enough never to fire on a loaded machine. */
#define SERVER_TIMEOUT_MS 10000
#define ARGV_MAX	  32

/* ---- helpers ---- */

/* Split @cmdline on single spaces into @argv after "kuryrctl"; returns argc.
 * The words point into @buf. */
static int split(const char *cmdline, char *buf, size_t size, char **argv)
{
	int argc = 0;

	assert_true(strlen(cmdline) < size);
	strcpy(buf, cmdline);
	argv[argc++] = (char *)"kuryrctl";
	for (char *save = NULL, *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		assert_true(argc < ARGV_MAX - 1);
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	return argc;
}

static char *dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	assert_non_null(s);
	return s;
}

/* ---- a kuryrd stand-in ---- */

struct server {
	char dir[64];
	char path[128];
	int listen_fd;
	pthread_t thread;
	atomic_bool stop;
	const char *reply; /* JSON text to answer with */
	json_t *requests;  /* every request received, in order */
	int error;	   /* first errno the server hit, 0 if none */
};

static void *server_main(void *arg)
{
	struct server *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd p = { .fd = s->listen_fd, .events = POLLIN };
		_cleanup_close_ int fd = -1;
		_cleanup_json_ json_t *req = NULL, *reply = NULL;
		int r;

		if (poll(&p, 1, 20) <= 0)
			continue;
		fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			s->error = errno;
			return NULL;
		}
		r = proto_recv(fd, SERVER_TIMEOUT_MS, &req, NULL);
		if (r < 0) {
			s->error = -r;
			return NULL;
		}
		json_array_append(s->requests, req);
		reply = json_loads(s->reply, 0, NULL);
		r = reply ? proto_send(fd, reply) : -EINVAL;
		if (r < 0) {
			s->error = -r;
			return NULL;
		}
	}
	return NULL;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path) < 0 ? -errno : 0;
}

static int setup(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	if (!s)
		return -1;
	s->listen_fd = -1;
	s->reply = "{\"result\": null}";
	s->requests = json_array();
	strcpy(s->dir, "/tmp/kuryr-test-ctl-XXXXXX");
	if (!s->requests || !mkdtemp(s->dir))
		return -1;
	snprintf(s->path, sizeof(s->path), "%s/sock", s->dir);
	strcpy(sa.sun_path, s->path);
	s->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(s->listen_fd, 4) < 0)
		return -1;
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct server *s = *state;
	int r;

	closep(&s->listen_fd);
	json_decref(s->requests);
	r = nftw(s->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(s);
	return r == 0 ? 0 : -1;
}

struct run {
	int status;
	char *out;
	char *err;
};

static void run_release(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* ctl_main on @argv with the stand-in serving; @argv may name its socket. */
static struct run run_argv(struct server *s, int argc, char **argv)
{
	struct run r = { 0 };
	size_t n_out, n_err;
	FILE *out = open_memstream(&r.out, &n_out), *err = open_memstream(&r.err, &n_err);

	assert_non_null(out);
	assert_non_null(err);
	atomic_store(&s->stop, false);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
	r.status = ctl_main(argc, argv, out, err);
	atomic_store(&s->stop, true);
	assert_int_equal(pthread_join(s->thread, NULL), 0);
	fclose(out);
	fclose(err);
	if (s->error)
		fail_msg("server: %s", strerror(s->error));
	return r;
}

/* ctl_main on "@cmdline --socket <the stand-in>". */
static struct run run_cmdline(struct server *s, const char *cmdline)
{
	char buf[512], *argv[ARGV_MAX + 2];
	int argc = split(cmdline, buf, sizeof(buf), argv);

	argv[argc++] = (char *)"--socket";
	argv[argc++] = s->path;
	argv[argc] = NULL;
	return run_argv(s, argc, argv);
}

/* ---- argv -> request ---- */

static const struct parse_case {
	const char *cmdline;
	const char *request; /* compact, in the order kuryrctl sends it */
	enum ctl_format format;
	const char *socket; /* NULL: the default */
} parse_cases[] = {
	/* Every command, as the e2e suites, demos and benches spell them. */
	{ "status", "{\"op\":\"daemon.status\",\"args\":{}}" },
	{ "network create net1 --subnet 10.77.0.0/24 --mtu 1400",
	  "{\"op\":\"network.create\",\"args\":{\"name\":\"net1\",\"subnet\":[\"10.77.0.0/24\"],"
	  "\"mtu\":1400}}" },
	{ "network create net1 --subnet 10.77.0.0/24 --gateway none",
	  "{\"op\":\"network.create\",\"args\":{\"name\":\"net1\",\"subnet\":[\"10.77.0.0/24\"],"
	  "\"gateway\":\"\"}}" },
	{ "network create net1 --gateway 10.77.0.254 --subnet 10.77.0.0/24",
	  "{\"op\":\"network.create\",\"args\":{\"name\":\"net1\",\"gateway\":\"10.77.0.254\","
	  "\"subnet\":[\"10.77.0.0/24\"]}}" },
	{ "network list", "{\"op\":\"network.list\",\"args\":{}}" },
	{ "network show net1", "{\"op\":\"network.show\",\"args\":{\"name\":\"net1\"}}" },
	{ "network delete net1", "{\"op\":\"network.delete\",\"args\":{\"name\":\"net1\"}}" },
	{ "-o json port create --network net1 --name vm1 --device-id vm-one",
	  "{\"op\":\"port.create\",\"args\":{\"network\":\"net1\",\"name\":\"vm1\","
	  "\"device_id\":\"vm-one\"}}",
	  CTL_FORMAT_JSON },
	{ "port create --network net1 --mac 02:00:00:00:00:09 --ip 10.0.0.9",
	  "{\"op\":\"port.create\",\"args\":{\"network\":\"net1\",\"mac\":\"02:00:00:00:00:09\","
	  "\"ip\":\"10.0.0.9\"}}" },
	{ "port list", "{\"op\":\"port.list\",\"args\":{}}" },
	{ "-o json port list --network net1",
	  "{\"op\":\"port.list\",\"args\":{\"network\":\"net1\"}}", CTL_FORMAT_JSON },
	{ "port show vm1", "{\"op\":\"port.show\",\"args\":{\"name\":\"vm1\"}}" },
	/* A repeated option collects its values in order. */
	{ "port create --network net1 --allowed-address 10.0.0.5 --no-port-security "
	  "--allowed-address=10.0.1.0/24,02:00:00:00:00:0a",
	  "{\"op\":\"port.create\",\"args\":{\"network\":\"net1\",\"allowed_addresses\":["
	  "\"10.0.0.5\",\"10.0.1.0/24,02:00:00:00:00:0a\"],\"no_port_security\":true}}" },
	{ "port set vm1 --allowed-address 10.0.0.7",
	  "{\"op\":\"port.set\",\"args\":{\"name\":\"vm1\",\"allowed_addresses\":["
	  "\"10.0.0.7\"]}}" },
	{ "port set --no-allowed-address vm1 --allowed-address 10.0.0.7 -o json --port-security",
	  "{\"op\":\"port.set\",\"args\":{\"name\":\"vm1\",\"no_allowed_address\":true,"
	  "\"allowed_addresses\":[\"10.0.0.7\"],\"port_security\":true}}",
	  CTL_FORMAT_JSON },
	{ "port set vm1 --no-port-security",
	  "{\"op\":\"port.set\",\"args\":{\"name\":\"vm1\",\"no_port_security\":true}}" },
	{ "port delete vm1", "{\"op\":\"port.delete\",\"args\":{\"name\":\"vm1\"}}" },
	{ "-o json vm plug kc-tap vm1",
	  "{\"op\":\"vm.plug\",\"args\":{\"tap\":\"kc-tap\",\"port\":\"vm1\"}}", CTL_FORMAT_JSON },
	{ "vm unplug kc-tap", "{\"op\":\"vm.unplug\",\"args\":{\"tap\":\"kc-tap\"}}" },
	{ "trunk create p1 --name vmtrunk",
	  "{\"op\":\"trunk.create\",\"args\":{\"port\":\"p1\",\"name\":\"vmtrunk\"}}" },
	{ "trunk show vmtrunk", "{\"op\":\"trunk.show\",\"args\":{\"trunk\":\"vmtrunk\"}}" },
	{ "trunk delete vmtrunk", "{\"op\":\"trunk.delete\",\"args\":{\"trunk\":\"vmtrunk\"}}" },
	{ "trunk add-subport vmtrunk nested1 101",
	  "{\"op\":\"trunk.add-subport\",\"args\":{\"trunk\":\"vmtrunk\",\"port\":\"nested1\","
	  "\"vlan\":101}}" },
	{ "trunk remove-subport vmtrunk nested1", "{\"op\":\"trunk.remove-subport\",\"args\":{"
						  "\"trunk\":\"vmtrunk\",\"port\":\"nested1\"}}" },
	{ "security-group create web",
	  "{\"op\":\"security-group.create\",\"args\":{\"name\":\"web\"}}" },
	{ "security-group show web",
	  "{\"op\":\"security-group.show\",\"args\":{\"name\":\"web\"}}" },
	{ "security-group delete web",
	  "{\"op\":\"security-group.delete\",\"args\":{\"name\":\"web\"}}" },
	{ "security-group rule-add web --protocol tcp --port 8080",
	  "{\"op\":\"security-group.rule-add\",\"args\":{\"name\":\"web\",\"protocol\":\"tcp\","
	  "\"port\":\"8080\"}}" },
	{ "security-group rule-add web --direction egress --remote-ip 10.0.0.0/8 --port 70000",
	  "{\"op\":\"security-group.rule-add\",\"args\":{\"name\":\"web\",\"direction\":\"egress\","
	  "\"remote_ip\":\"10.0.0.0/8\",\"port\":\"70000\"}}" },
	/* kuryrd checks the numbers, so they go as strings. */
	{ "-o json qos create slow --max-kbps 2000 --max-burst-kbps 200",
	  "{\"op\":\"qos.create\",\"args\":{\"name\":\"slow\",\"max_kbps\":\"2000\","
	  "\"max_burst_kbps\":\"200\"}}",
	  CTL_FORMAT_JSON },
	{ "qos create af31 --dscp 26 --max-kbps 500 --direction ingress",
	  "{\"op\":\"qos.create\",\"args\":{\"name\":\"af31\",\"dscp\":\"26\","
	  "\"max_kbps\":\"500\",\"direction\":\"ingress\"}}" },
	/* Whether a policy limits or marks is kuryrd's to say. */
	{ "qos create slow", "{\"op\":\"qos.create\",\"args\":{\"name\":\"slow\"}}" },
	{ "qos list", "{\"op\":\"qos.list\",\"args\":{}}" },
	{ "qos show slow", "{\"op\":\"qos.show\",\"args\":{\"name\":\"slow\"}}" },
	{ "qos delete slow", "{\"op\":\"qos.delete\",\"args\":{\"name\":\"slow\"}}" },
	{ "pool list", "{\"op\":\"pool.list\",\"args\":{}}" },
	{ "-o json pool list --network nnet",
	  "{\"op\":\"pool.list\",\"args\":{\"network\":\"nnet\"}}", CTL_FORMAT_JSON },
	{ "pool show net1", "{\"op\":\"pool.show\",\"args\":{\"network\":\"net1\"}}" },
	{ "pool populate net1", "{\"op\":\"pool.populate\",\"args\":{\"network\":\"net1\"}}" },
	{ "pool free", "{\"op\":\"pool.free\",\"args\":{}}" },
	{ "pool free net1", "{\"op\":\"pool.free\",\"args\":{\"network\":\"net1\"}}" },
	{ "attachment list", "{\"op\":\"attachment.list\",\"args\":{}}" },
	{ "-o json attachment list", "{\"op\":\"attachment.list\",\"args\":{}}", CTL_FORMAT_JSON },

	/* Global options before, between and after the command's words. */
	{ "attachment list -o json", "{\"op\":\"attachment.list\",\"args\":{}}", CTL_FORMAT_JSON },
	{ "attachment -o json list", "{\"op\":\"attachment.list\",\"args\":{}}", CTL_FORMAT_JSON },
	{ "network list --socket /run/k.sock -o json", "{\"op\":\"network.list\",\"args\":{}}",
	  CTL_FORMAT_JSON, "/run/k.sock" },
	{ "--socket /a network list --socket /b", "{\"op\":\"network.list\",\"args\":{}}",
	  CTL_FORMAT_TABLE, "/b" },
	{ "network create -o json net1 --socket /run/k.sock --subnet 10.0.0.0/24",
	  "{\"op\":\"network.create\",\"args\":{\"name\":\"net1\",\"subnet\":[\"10.0.0.0/24\"]}}",
	  CTL_FORMAT_JSON, "/run/k.sock" },
	{ "trunk add-subport vmtrunk -o json nested1 --socket /s 101",
	  "{\"op\":\"trunk.add-subport\",\"args\":{\"trunk\":\"vmtrunk\",\"port\":\"nested1\","
	  "\"vlan\":101}}",
	  CTL_FORMAT_JSON, "/s" },
	/* The last -o counts. */
	{ "-o json attachment list -o table", "{\"op\":\"attachment.list\",\"args\":{}}" },
	/* A command's options before its words. */
	{ "network create --subnet 10.0.0.0/24 net1",
	  "{\"op\":\"network.create\",\"args\":{\"name\":\"net1\",\"subnet\":[\"10.0.0.0/24\"]}}" },

	/* --opt=value, and short options with their value attached. */
	{ "network create net1 --subnet=10.0.0.0/24 --gateway=none --mtu=1442",
	  "{\"op\":\"network.create\",\"args\":{\"name\":\"net1\",\"subnet\":[\"10.0.0.0/24\"],"
	  "\"gateway\":\"\",\"mtu\":1442}}" },
	{ "port list --network=net1 --output=json --socket=/x",
	  "{\"op\":\"port.list\",\"args\":{\"network\":\"net1\"}}", CTL_FORMAT_JSON, "/x" },
	{ "--output json -s /y pool list", "{\"op\":\"pool.list\",\"args\":{}}", CTL_FORMAT_JSON,
	  "/y" },
	{ "-ojson -s/z status", "{\"op\":\"daemon.status\",\"args\":{}}", CTL_FORMAT_JSON, "/z" },
	/* "=" keeps a value that looks like an option; "--" ends options. */
	{ "port create --network net1 --name=--odd",
	  "{\"op\":\"port.create\",\"args\":{\"network\":\"net1\",\"name\":\"--odd\"}}" },
	{ "network show -- -o", "{\"op\":\"network.show\",\"args\":{\"name\":\"-o\"}}" },
	{ "-- network show -x", "{\"op\":\"network.show\",\"args\":{\"name\":\"-x\"}}" },
	/* Given twice, the last value counts. */
	{ "network create n --subnet 10.1.0.0/24 --mtu 1400 --mtu 1300",
	  "{\"op\":\"network.create\",\"args\":{\"name\":\"n\",\"subnet\":[\"10.1.0.0/24\"],"
	  "\"mtu\":1300}}" },
	/* A repeatable one, once per family: a list. */
	{ "network create n --subnet 10.1.0.0/24 --subnet fd00:1::/64",
	  "{\"op\":\"network.create\",\"args\":{\"name\":\"n\",\"subnet\":[\"10.1.0.0/24\","
	  "\"fd00:1::/64\"]}}" },
};

static void test_parse(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		char buf[512], *argv[ARGV_MAX];
		int argc = split(c->cmdline, buf, sizeof(buf), argv);
		_cleanup_json_ json_t *req = NULL;
		_cleanup_free_ char *msg = NULL, *got = NULL;
		struct ctl_options o;
		int r;

		r = ctl_parse(argc, argv, &req, &o, &msg);
		if (r < 0)
			fail_msg("\"%s\": %s", c->cmdline, msg ? msg : strerror(-r));
		assert_null(msg);
		assert_int_equal(o.action, CTL_ACTION_CALL);
		assert_non_null(o.command);
		got = dump(req);
		if (!streq(got, c->request))
			fail_msg("\"%s\":\n  expected %s\n       got %s", c->cmdline, c->request,
				 got);
		if (o.format != c->format)
			fail_msg("\"%s\": format %d, expected %d", c->cmdline, o.format, c->format);
		assert_string_equal(o.socket, c->socket ?: KURYR_DEFAULT_SOCKET);
	}
}

/* Words with spaces, empty words. */
static void test_parse_odd_words(void **state)
{
	char *argv[] = { (char *)"kuryrctl", (char *)"network", (char *)"create",     (char *)"a b",
			 (char *)"--subnet", (char *)"",	(char *)"--gateway=", NULL };
	_cleanup_json_ json_t *req = NULL;
	_cleanup_free_ char *got = NULL;
	struct ctl_options o;

	assert_int_equal(ctl_parse(ELEMENTSOF(argv) - 1, argv, &req, &o, NULL), 0);
	got = dump(req);
	assert_string_equal(got, "{\"op\":\"network.create\",\"args\":{\"name\":\"a b\","
				 "\"subnet\":[\"\"],\"gateway\":\"\"}}");
}

/* A flag is true in the request; it takes no value, so the next word is
 * the command's. */
static void test_parse_flag(void **state)
{
	char *argv[] = { (char *)"kuryrctl", (char *)"router",
			 (char *)"set",	     (char *)"--no-snat",
			 (char *)"r1",	     (char *)"--external-gateway",
			 (char *)"ext",	     NULL };
	_cleanup_json_ json_t *req = NULL;
	_cleanup_free_ char *got = NULL;
	struct ctl_options o;

	assert_int_equal(ctl_parse(ELEMENTSOF(argv) - 1, argv, &req, &o, NULL), 0);
	got = dump(req);
	assert_string_equal(got, "{\"op\":\"router.set\",\"args\":{\"router\":\"r1\","
				 "\"no_snat\":true,\"external_gateway\":\"ext\"}}");
}

/* ---- refusals ---- */

static const struct error_case {
	const char *cmdline;
	const char *msg;
} error_cases[] = {
	{ "network create net1 --subnett 10.0.0.0/24",
	  "network create: unknown option \"--subnett\"" },
	{ "network create x --subnet 10.9.0.0/24 --bogus",
	  "network create: unknown option \"--bogus\"" },
	{ "network create x --subnet=10.9.0.0/24 --bogus=1",
	  "network create: unknown option \"--bogus\"" },
	{ "network list --network net1", "network list: unknown option \"--network\"" },
	{ "--bogus status", "unknown option \"--bogus\"" },
	{ "network --bogus list", "network: unknown option \"--bogus\"" },
	{ "status -x", "status: unknown option \"-x\"" },
	{ "-hV", "unknown option \"-hV\"" },
	/* A command's options come after its verb. */
	{ "--subnet 10.0.0.0/24 network create net1", "unknown option \"--subnet\"" },

	{ "attachment list foo", "attachment list: unexpected argument \"foo\"" },
	{ "attachment list -o json foo", "attachment list: unexpected argument \"foo\"" },
	{ "status foo", "status: unexpected argument \"foo\"" },
	{ "network list all", "network list: unexpected argument \"all\"" },
	{ "network show a b", "network show: unexpected argument \"b\"" },
	{ "network create a b --subnet 10.0.0.0/24", "network create: unexpected argument \"b\"" },
	{ "port create x --network net1", "port create: unexpected argument \"x\"" },
	{ "vm plug tap port extra", "vm plug: unexpected argument \"extra\"" },
	{ "pool free a b", "pool free: unexpected argument \"b\"" },
	{ "trunk add-subport t p 101 7", "trunk add-subport: unexpected argument \"7\"" },

	{ "network show", "network show: missing argument NAME" },
	{ "network create --subnet 10.0.0.0/24", "network create: missing argument NAME" },
	{ "vm plug tap", "vm plug: missing argument PORT" },
	{ "trunk add-subport t p", "trunk add-subport: missing argument VLAN" },
	{ "pool populate -o json", "pool populate: missing argument NET" },
	{ "network create net1", "network create: missing option --subnet CIDR" },
	{ "port create --name vm1", "port create: missing option --network NET" },

	{ "network create net1 --subnet", "network create: option \"--subnet\" needs a value" },
	{ "network create net1 --subnet --mtu 1400",
	  "network create: option \"--subnet\" needs a value" },
	{ "attachment list -o", "attachment list: option \"-o\" needs a value" },
	{ "attachment list --output", "attachment list: option \"--output\" needs a value" },
	{ "network list --socket", "network list: option \"--socket\" needs a value" },
	{ "status --help=yes", "status: option \"--help\" takes no value" },
	{ "router set r --no-snat=yes", "router set: option \"--no-snat\" takes no value" },
	{ "port set vm1 --no-port-security=yes",
	  "port set: option \"--no-port-security\" takes no value" },
	{ "port set vm1 --allowed-address 10.0.0.5 --allowed-address",
	  "port set: option \"--allowed-address\" needs a value" },
	{ "port set vm1 --allowed-address --port-security",
	  "port set: option \"--allowed-address\" needs a value" },
	{ "port set --no-allowed-address", "port set: missing argument NAME" },
	{ "port create --network net1 --port-security",
	  "port create: unknown option \"--port-security\"" },

	{ "network create n --subnet 10.0.0.0/24 --mtu 0",
	  "network create: --mtu \"0\" is not a positive number" },
	{ "network create n --subnet 10.0.0.0/24 --mtu=1400x",
	  "network create: --mtu \"1400x\" is not a positive number" },
	{ "trunk add-subport t p 5000",
	  "trunk add-subport: VLAN \"5000\" is not a number in 1..4094" },
	{ "-o xml status", "unknown output format \"xml\" (table, json)" },

	{ "", "missing command (see kuryrctl --help)" },
	{ "-o json", "missing command (see kuryrctl --help)" },
	{ "frob", "unknown command \"frob\"" },
	{ "network", "network: missing command (create, list, show, delete)" },
	{ "network frob", "network: unknown command \"frob\"" },
};

static void test_parse_errors(void **state)
{
	for (size_t i = 0; i < ELEMENTSOF(error_cases); i++) {
		const struct error_case *c = &error_cases[i];
		char buf[512], *argv[ARGV_MAX];
		int argc = split(c->cmdline, buf, sizeof(buf), argv);
		json_t *sentinel = (json_t *)0x1, *req = sentinel;
		struct ctl_options o = { .socket = "untouched" };
		_cleanup_free_ char *msg = NULL;
		int r;

		r = ctl_parse(argc, argv, &req, &o, &msg);
		if (r != -EINVAL)
			fail_msg("\"%s\": %d, expected -EINVAL", c->cmdline, r);
		if (!msg || !streq(msg, c->msg))
			fail_msg("\"%s\":\n  expected %s\n       got %s", c->cmdline, c->msg,
				 msg ?: "(none)");
		/* ret_ untouched on failure. */
		assert_ptr_equal(req, sentinel);
		assert_string_equal(o.socket, "untouched");
	}
}

/* The whole of kuryrctl: status 2, exactly "kuryrctl: <msg>" on stderr,
 * nothing on stdout, nothing sent, although the socket is there. */
static void test_main_errors(void **state)
{
	struct server *s = *state;

	for (size_t i = 0; i < ELEMENTSOF(error_cases); i++) {
		const struct error_case *c = &error_cases[i];
		_cleanup_free_ char *want = NULL;
		struct run r;

		r = run_cmdline(s, c->cmdline);
		want = strdup_printf("kuryrctl: %s\n", c->msg);
		if (r.status != CTL_EXIT_USAGE || !streq(r.err, want) || *r.out)
			fail_msg("\"%s\": status %d, stderr \"%s\", stdout \"%s\"", c->cmdline,
				 r.status, r.err, r.out);
		run_release(&r);
	}
	assert_int_equal(json_array_size(s->requests), 0);
}

/* Refusals that are about the end of the command line, without a socket
 * option after them. */
static void test_main_errors_at_end(void **state)
{
	struct server *s = *state;
	static const struct error_case cases[] = {
		{ "network create net1 --subnet",
		  "network create: option \"--subnet\" needs a value" },
		{ "attachment list -o", "attachment list: option \"-o\" needs a value" },
		{ "", "missing command (see kuryrctl --help)" },
	};

	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char buf[512], *argv[ARGV_MAX + 2];
		int argc = split(cases[i].cmdline, buf, sizeof(buf), argv);
		_cleanup_free_ char *want = strdup_printf("kuryrctl: %s\n", cases[i].msg);
		struct run r;

		/* The socket first, so a refusal cannot be "no such socket". */
		memmove(argv + 3, argv + 1, sizeof(*argv) * (size_t)argc);
		argv[1] = (char *)"--socket";
		argv[2] = s->path;
		r = run_argv(s, argc + 2, argv);
		assert_int_equal(r.status, CTL_EXIT_USAGE);
		assert_string_equal(r.err, want);
		assert_string_equal(r.out, "");
		run_release(&r);
	}
	assert_int_equal(json_array_size(s->requests), 0);
}

/* ---- against the stand-in ---- */

static const char attachments[] =
    "{\"result\": [{\"origin\": \"cni\", \"container_id\": \"ctr1\", \"ifname\": \"eth0\","
    " \"netns\": \"/run/netns/a\","
    " \"network\": \"net1\", \"port\": \"p1\", \"host_ifname\": \"tap0123\","
    " \"mac\": \"02:00:00:00:00:01\", \"address\": \"10.0.0.5/24\", \"state\": \"done\","
    " \"created\": 1700000000}]}";

/* The bug this rework fixed: -o after the command printed a table. */
static void test_main_json_after_command(void **state)
{
	struct server *s = *state;
	_cleanup_json_ json_t *printed = NULL, *sent = json_loads(attachments, 0, NULL);
	_cleanup_free_ char *req = NULL;
	struct run r;

	s->reply = attachments;
	r = run_cmdline(s, "attachment list -o json");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	printed = json_loads(r.out, 0, NULL);
	if (!printed)
		fail_msg("not JSON: %s", r.out);
	assert_true(json_equal(printed, json_object_get(sent, "result")));
	assert_int_equal(json_array_size(s->requests), 1);
	req = dump(json_array_get(s->requests, 0));
	assert_string_equal(req, "{\"op\":\"attachment.list\",\"args\":{}}");
	run_release(&r);
}

static void test_main_table(void **state)
{
	struct server *s = *state;
	struct run r;

	s->reply = attachments;
	r = run_cmdline(s, "attachment list");
	assert_int_equal(r.status, 0);
	assert_string_equal(
	    r.out, "ORIGIN  CONTAINER ID  IFNAME  NETWORK  ADDRESS      HOST IFNAME  STATE\n"
		   "cni     ctr1          eth0    net1     10.0.0.5/24  tap0123      done\n");
	run_release(&r);
}

/* The socket named after the command is the one used. */
static void test_main_socket_after_command(void **state)
{
	struct server *s = *state;
	char *argv[] = { (char *)"kuryrctl",
			 (char *)"network",
			 (char *)"list",
			 (char *)"--socket",
			 s->path,
			 (char *)"-o",
			 (char *)"json",
			 NULL };
	struct run r;

	s->reply = "{\"result\": [{\"name\": \"net1\", \"subnet\": \"10.0.0.0/24\"}]}";
	r = run_argv(s, ELEMENTSOF(argv) - 1, argv);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "[\n  {\n    \"name\": \"net1\",\n    \"subnet\": "
				   "\"10.0.0.0/24\"\n  }\n]\n");
	assert_int_equal(json_array_size(s->requests), 1);
	run_release(&r);
}

/* kuryrd refusing: status 1, its message and details on one line. */
static void test_main_daemon_error(void **state)
{
	struct server *s = *state;
	struct run r;

	s->reply = "{\"error\": {\"code\": 409, \"msg\": \"cannot delete the network\","
		   " \"details\": \"it has ports\"}}";
	r = run_cmdline(s, "network delete net1");
	assert_int_equal(r.status, 1);
	assert_string_equal(r.err, "kuryrctl: cannot delete the network: it has ports\n");
	assert_string_equal(r.out, "");
	run_release(&r);
}

/* ---- help and version ---- */

static void test_help(void **state)
{
	struct server *s = *state;
	static const char *const anywhere[] = { "--help", "-h", "network create --help",
						"attachment list foo -h" };
	struct run r;

	for (size_t i = 0; i < ELEMENTSOF(anywhere); i++) {
		char buf[128], *argv[ARGV_MAX];
		int argc = split(anywhere[i], buf, sizeof(buf), argv);
		json_t *req = (json_t *)0x1;
		struct ctl_options o;

		/* "attachment list foo -h": foo is refused before -h is read. */
		if (i == 3) {
			assert_int_equal(ctl_parse(argc, argv, &req, &o, NULL), -EINVAL);
			continue;
		}
		assert_int_equal(ctl_parse(argc, argv, &req, &o, NULL), 0);
		assert_int_equal(o.action, CTL_ACTION_HELP);
		assert_null(req);
	}

	r = run_cmdline(s, "--help");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, "");
	/* Made from the table: every command, with its words and options. */
	for (const struct ctl_command *c = ctl_commands; c->group; c++) {
		char line[128];

		snprintf(line, sizeof(line), "\n  %s%s%s", c->group, c->verb ? " " : "",
			 c->verb ?: "");
		if (!strstr(r.out, line))
			fail_msg("help has no line for \"%s\"", line + 3);
	}
	assert_non_null(strstr(r.out,
			       "\n  network create NAME --subnet CIDR... [--gateway IP|none]"
			       " [--mtu N]\n      [--external] [--physical-network NAME]\n"));
	assert_non_null(strstr(r.out, "\n  pool free [NET] "));
	/* A repeatable option, and flags without a value. */
	assert_non_null(strstr(r.out, "\n  port set NAME [--allowed-address IP[/LEN][,MAC]]... "
				      "[--no-allowed-address]\n      [--port-security] "
				      "[--no-port-security]\n"));
	assert_non_null(strstr(r.out, "--socket PATH"));
	run_release(&r);

	/* Help on a group shows that group. */
	r = run_cmdline(s, "pool --help");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\n  pool populate NET "));
	assert_null(strstr(r.out, "network create"));
	run_release(&r);

	r = run_cmdline(s, "status -V");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "kuryrctl " KURYR_VERSION "\n");
	run_release(&r);
	assert_int_equal(json_array_size(s->requests), 0);
}

/* ---- output ---- */

static char *output_of(const char *cmdline, const char *result_json)
{
	char buf[256], *argv[ARGV_MAX], *text = NULL;
	int argc = split(cmdline, buf, sizeof(buf), argv);
	_cleanup_json_ json_t *req = NULL, *result = NULL;
	struct ctl_options o;
	size_t n;
	FILE *f;

	assert_int_equal(ctl_parse(argc, argv, &req, &o, NULL), 0);
	if (result_json) {
		result = json_loads(result_json, JSON_DECODE_ANY, NULL);
		assert_non_null(result);
	}
	f = open_memstream(&text, &n);
	assert_non_null(f);
	ctl_output(f, &o, result);
	fclose(f);
	return text;
}

static void test_output(void **state)
{
	static const char nets[] =
	    "[{\"name\": \"net1\", \"subnet\": \"10.77.0.0/24\", \"gateway\":"
	    " \"10.77.0.1\", \"mtu\": 1400, \"ports\": 3},"
	    " {\"name\": \"n2\", \"subnet\": \"10.1.0.0/16\", \"gateway\":"
	    " null, \"mtu\": 1442, \"ports\": 12}]";
	static const char port[] = "{\"name\": \"vm1\", \"up\": true, \"mtu\": 1442, \"ip\": null,"
				   " \"tags\": [\"a\", 1]}";
	char *s;

	s = output_of("network list", nets);
	assert_string_equal(s, "NAME  SUBNET        GATEWAY    SUBNET6  MTU   PORTS\n"
			       "net1  10.77.0.0/24  10.77.0.1  -        1400  3\n"
			       "n2    10.1.0.0/16   -          -        1442  12\n");
	free(s);
	s = output_of("network list", "[]");
	assert_string_equal(s, "NAME  SUBNET  GATEWAY  SUBNET6  MTU  PORTS\n");
	free(s);
	s = output_of("port show vm1", port);
	assert_string_equal(s, "name  vm1\n"
			       "up    yes\n"
			       "mtu   1442\n"
			       "ip    -\n"
			       "tags  [\"a\",1]\n");
	free(s);
	s = output_of("port show vm1 -o json", port);
	assert_string_equal(s, "{\n  \"name\": \"vm1\",\n  \"up\": true,\n  \"mtu\": 1442,\n"
			       "  \"ip\": null,\n  \"tags\": [\n    \"a\",\n    1\n  ]\n}\n");
	free(s);
	/* Nothing to show. */
	s = output_of("network delete net1", "null");
	assert_string_equal(s, "");
	free(s);
	s = output_of("-o json network delete net1", NULL);
	assert_string_equal(s, "");
	free(s);
	/* vm unplug prints nothing, whatever kuryrd answers. */
	s = output_of("-o json vm unplug tap0", "{\"name\": \"vm1\"}");
	assert_string_equal(s, "");
	free(s);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_odd_words),
		cmocka_unit_test(test_parse_flag),
		cmocka_unit_test(test_parse_errors),
		T(test_main_errors),
		T(test_main_errors_at_end),
		T(test_main_json_after_command),
		T(test_main_table),
		T(test_main_socket_after_command),
		T(test_main_daemon_error),
		T(test_help),
		cmocka_unit_test(test_output),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
