/* SPDX-License-Identifier: Apache-2.0 */
/* kuryr-cni: the CNI plugin. Validates its environment and netconf, hands
 * the request to kuryrd over its unix socket and prints what comes back.
 * No backend logic lives here; it links libc and jansson only, since the
 * runtime execs it once per container and verb. */
#include <stdio.h>

#include "cni.h"
#include "build-config.h"
#include "json-util.h"
#include "proto/proto.h"

#define STDIN_MAX	 (1024 * 1024)
/* ADD waits for the port to come up on the daemon side; allow for it. */
#define REPLY_TIMEOUT_MS 120000

static const char *version_out = CNI_VERSION_LATEST;

static int fail(int code, const char *msg, const char *details)
{
	_cleanup_json_ json_t *e = cni_error_new(version_out, code, msg, details);

	json_dumpf(e, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	return 1;
}

static int usage(void)
{
	printf("kuryr-cni %s - CNI plugin of Kuryr-C\n\n"
	       "Run by a container runtime as a CNI plugin (spec %s): CNI_COMMAND and the\n"
	       "other CNI_* variables in the environment, the network configuration on\n"
	       "standard input. It forwards the request to kuryrd over its unix socket\n"
	       "(netconf key \"daemon_socket\", default %s).\n\n"
	       "  --help      this text\n"
	       "  --version   print the version\n",
	       KURYR_VERSION, CNI_VERSION_LATEST, KURYR_DEFAULT_SOCKET);
	return 0;
}

static char *read_stdin(size_t *ret_len)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	while (buf) {
		size_t n;

		if (len == cap) {
			char *nb;

			if (cap >= STDIN_MAX) {
				free(buf);
				return NULL;
			}
			cap *= 2;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, stdin);
		len += n;
		if (n == 0)
			break;
	}
	*ret_len = len;
	return buf;
}

static const char *const env_names[] = { "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS",
					 "CNI_PATH" };

int main(int argc, char **argv)
{
	_cleanup_json_ json_t *conf = NULL, *req = NULL, *reply = NULL, *env = NULL;
	_cleanup_free_ char *in = NULL, *err = NULL;
	const char *cmd = getenv("CNI_COMMAND");
	const char *ver, *sock, *op;
	json_error_t jerr;
	json_t *o;
	size_t len = 0;
	bool needs_container;
	int r;

	if (argc > 1) {
		if (streq(argv[1], "--help") || streq(argv[1], "-h"))
			return usage();
		if (streq(argv[1], "--version")) {
			printf("kuryr-cni %s (CNI %s)\n", KURYR_VERSION, CNI_VERSION_LATEST);
			return 0;
		}
		fprintf(stderr, "kuryr-cni: unknown argument \"%s\" (see --help)\n", argv[1]);
		return 2;
	}
	if (!cmd || !*cmd)
		return fail(CNI_ERR_INVALID_ENV, "CNI_COMMAND is not set",
			    "expected one of ADD, DEL, CHECK, STATUS, GC, VERSION");

	if (streq(cmd, "VERSION")) {
		_cleanup_json_ json_t *v = json_pack("{s:s, s:o}", "cniVersion", CNI_VERSION_LATEST,
						     "supportedVersions", cni_supported_versions());
		json_dumpf(v, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		return 0;
	}

	if (streq(cmd, "ADD"))
		op = "add";
	else if (streq(cmd, "DEL"))
		op = "del";
	else if (streq(cmd, "CHECK"))
		op = "check";
	else if (streq(cmd, "STATUS"))
		op = "status";
	else if (streq(cmd, "GC"))
		op = "gc";
	else
		return fail(CNI_ERR_INVALID_ENV, "unknown CNI_COMMAND",
			    "expected one of ADD, DEL, CHECK, STATUS, GC, VERSION");

	in = read_stdin(&len);
	if (!in)
		return fail(CNI_ERR_IO, "cannot read the network configuration from stdin",
			    "larger than 1 MiB or out of memory");
	conf = json_loadb(in, len, 0, &jerr);
	if (!conf) {
		char d[256];

		snprintf(d, sizeof(d), "stdin line %d column %d: %s", jerr.line, jerr.column,
			 jerr.text);
		return fail(CNI_ERR_DECODE, "cannot decode the network configuration", d);
	}
	if (!json_is_object(conf))
		return fail(CNI_ERR_DECODE, "cannot decode the network configuration",
			    "stdin is not a JSON object");

	ver = json_object_get_str(conf, "cniVersion");
	if (!ver)
		return fail(CNI_ERR_INVALID_CONFIG, "invalid network configuration",
			    "\"cniVersion\" is missing or not a string");
	if (!cni_version_supported(ver)) {
		char d[256];

		snprintf(d, sizeof(d), "cniVersion \"%.64s\" is not one of 0.4.0, 1.0.0, 1.1.0",
			 ver);
		return fail(CNI_ERR_INCOMPATIBLE_VERSION, "incompatible CNI version", d);
	}
	version_out = ver;
	if ((streq(op, "status") || streq(op, "gc")) && cni_version_cmp(ver, "1.1.0") < 0)
		return fail(CNI_ERR_INCOMPATIBLE_VERSION, "incompatible CNI version",
			    "STATUS and GC need cniVersion 1.1.0");
	if (!json_object_get_str(conf, "name"))
		return fail(CNI_ERR_INVALID_CONFIG, "invalid network configuration",
			    "\"name\" is missing or not a string");
	if (!json_object_get_str(conf, "type"))
		return fail(CNI_ERR_INVALID_CONFIG, "invalid network configuration",
			    "\"type\" is missing or not a string");
	o = json_object_get(conf, "network");
	if (o && !json_is_string(o))
		return fail(CNI_ERR_INVALID_CONFIG, "invalid network configuration",
			    "\"network\" is not a string");
	o = json_object_get(conf, "daemon_socket");
	if (o && !json_is_string(o))
		return fail(CNI_ERR_INVALID_CONFIG, "invalid network configuration",
			    "\"daemon_socket\" is not a string");
	sock = o ? json_string_value(o) : KURYR_DEFAULT_SOCKET;

	needs_container = streq(op, "add") || streq(op, "del") || streq(op, "check");
	if (needs_container) {
		const char *id = getenv("CNI_CONTAINERID"), *ifname = getenv("CNI_IFNAME");
		const char *netns = getenv("CNI_NETNS");

		if (!id)
			return fail(CNI_ERR_INVALID_ENV, "CNI_CONTAINERID is not set", NULL);
		if (cni_container_id_check(id, &err) < 0)
			return fail(CNI_ERR_INVALID_ENV, "invalid CNI_CONTAINERID", err);
		if (!ifname)
			return fail(CNI_ERR_INVALID_ENV, "CNI_IFNAME is not set", NULL);
		if (cni_ifname_check(ifname, &err) < 0)
			return fail(CNI_ERR_INVALID_ENV, "invalid CNI_IFNAME", err);
		/* DEL may come without a netns (the container is gone). */
		if (!streq(op, "del") && (!netns || !*netns))
			return fail(CNI_ERR_INVALID_ENV, "CNI_NETNS is not set", NULL);
	}

	env = json_object();
	for (size_t i = 0; i < ELEMENTSOF(env_names); i++) {
		const char *v = getenv(env_names[i]);

		if (v)
			json_object_set_new(env, env_names[i], json_string(v));
	}
	req = json_pack("{s:s, s:O, s:O}", "op", op, "env", env, "config", conf);
	if (!req)
		return fail(CNI_ERR_IO, "out of memory", NULL);

	r = proto_call(sock, req, REPLY_TIMEOUT_MS, &reply, &err);
	if (r < 0) {
		if (streq(op, "status"))
			return fail(CNI_ERR_NOT_AVAILABLE, "kuryrd is not available", err);
		return fail(CNI_ERR_TRY_AGAIN, "kuryrd is not available, try again later", err);
	}

	o = json_object_get(reply, "error");
	if (o) {
		json_int_t code = json_integer_value(json_object_get(o, "code"));

		return fail(code > 0 ? (int)code : CNI_ERR_IO,
			    json_object_get_str(o, "msg") ?: "kuryrd failed",
			    json_object_get_str(o, "details"));
	}
	o = json_object_get(reply, "result");
	if (o && !json_is_null(o)) {
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	}
	return 0;
}
