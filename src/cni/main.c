/* SPDX-License-Identifier: Apache-2.0 */
/* kuryr-cni: the CNI plugin. Validates its environment and netconf, hands
 * the request to kuryrd over its unix socket and prints what comes back.
 * No backend logic lives here; it links libc and jansson only, since the
 * runtime execs it once per container and verb. It opens CNI_NETNS itself
 * and passes the descriptor along: the runtime may have mounted the netns
 * in a mount namespace of its own, where kuryrd cannot see the path. */
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

int main(int argc, char **argv)
{
	_cleanup_json_ json_t *req = NULL, *reply = NULL;
	_cleanup_free_ char *in = NULL, *err = NULL, *nserr = NULL;
	_cleanup_close_ int nsfd = -1;
	const struct cni_env env = {
		.command = getenv("CNI_COMMAND"),
		.container_id = getenv("CNI_CONTAINERID"),
		.netns = getenv("CNI_NETNS"),
		.ifname = getenv("CNI_IFNAME"),
		.args = getenv("CNI_ARGS"),
		.path = getenv("CNI_PATH"),
	};
	const char *sock, *op;
	json_t *o, *conf;
	size_t len = 0;
	int r;

	/* jansson would read /dev/urandom for its hash seed: three system
	 * calls on every exec, to protect a process that lives for one
	 * request against inputs from its own runtime. */
	json_object_seed((size_t)getpid());
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
	if (env.command && streq(env.command, "VERSION")) {
		_cleanup_json_ json_t *v = json_pack("{s:s, s:o}", "cniVersion", CNI_VERSION_LATEST,
						     "supportedVersions", cni_supported_versions());
		json_dumpf(v, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		return 0;
	}
	if (env.command && *env.command) {
		in = read_stdin(&len);
		if (!in)
			return fail(CNI_ERR_IO, "cannot read the network configuration from stdin",
				    "larger than 1 MiB or out of memory");
	}
	r = cni_request_build(&env, in ? in : "", len, &req);
	if (r > 0) {
		json_dumpf(req, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		return 1;
	}
	conf = json_object_get(req, "config");
	version_out = json_string_value(json_object_get(conf, "cniVersion"));
	op = json_string_value(json_object_get(req, "op"));
	sock = json_string_value(json_object_get(conf, "daemon_socket"));
	if (!sock)
		sock = KURYR_DEFAULT_SOCKET;

	/* DEL must succeed for a container that is gone: without a netns it
	 * goes without a descriptor. */
	if (streq(op, "add") || streq(op, "check") ||
	    (streq(op, "del") && env.netns && *env.netns)) {
		r = cni_netns_open(env.netns, &nsfd, &nserr);
		if (r < 0 && !streq(op, "del"))
			return fail(CNI_ERR_INVALID_ENV, "invalid CNI_NETNS", nserr);
	}

	r = proto_call_fd(sock, req, nsfd, REPLY_TIMEOUT_MS, &reply, &err);
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
