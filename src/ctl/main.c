/* SPDX-License-Identifier: Apache-2.0 */
/* kuryrctl: the operator's command line. Every verb is one request to
 * kuryrd over its unix socket; output is a plain table or, with -o json,
 * kuryrd's JSON as is. */
#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>

#include "build-config.h"
#include "json-util.h"
#include "proto/proto.h"

#define CTL_TIMEOUT_MS 60000

static const char *sock_path = KURYR_DEFAULT_SOCKET;
static bool json_out;

static void usage(FILE *f)
{
	fprintf(f,
		"kuryrctl %s - operate a Kuryr-C node\n\n"
		"Usage: kuryrctl [--socket PATH] [-o table|json] COMMAND\n\n"
		"  network create NAME --subnet CIDR [--gateway IP|none] [--mtu N]\n"
		"  network list | network show NAME | network delete NAME\n"
		"  port create --network NET [--name N] [--mac MAC] [--ip IP] [--device-id ID]\n"
		"  port list [--network NET] | port show NAME | port delete NAME\n"
		"  vm plug TAP PORT        put a hypervisor's tap device on the bridge for PORT\n"
		"  vm unplug TAP\n"
		"  trunk create PARENT_PORT [--name N]   (backend neutron)\n"
		"  trunk show TRUNK | trunk delete TRUNK\n"
		"  trunk add-subport TRUNK PORT VLAN | trunk remove-subport TRUNK PORT\n"
		"  security-group create NAME | show NAME | delete NAME   (backend neutron)\n"
		"  security-group rule-add NAME [--direction ingress|egress]\n"
		"      [--protocol tcp|udp|icmp] [--port N[:M]] [--remote-ip CIDR]\n"
		"  qos create NAME --max-kbps N [--max-burst-kbps N] | qos delete NAME\n"
		"  pool list [--network NET] | pool show NET\n"
		"  pool populate NET       fill NET's pool to ports_pool_min now\n"
		"  pool free [NET]         delete the ready entries of NET's pool (all pools)\n"
		"  attachment list         containers attached on this node\n"
		"  status                  daemon and backend state\n\n"
		"  --socket PATH  kuryrd's socket (default %s)\n"
		"  -o FORMAT      table (default) or json\n"
		"  -h, --help     this text;  -V, --version  the version\n",
		KURYR_VERSION, KURYR_DEFAULT_SOCKET);
}

static _noreturn_ _printf_(1, 2) void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kuryrctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void print_value(const json_t *v)
{
	if (json_is_string(v))
		fputs(json_string_value(v), stdout);
	else if (json_is_integer(v))
		printf("%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		fputs(json_is_true(v) ? "yes" : "no", stdout);
	else if (json_is_null(v) || !v)
		fputs("-", stdout);
	else {
		_cleanup_free_ char *s = json_dumps(v, JSON_COMPACT);

		fputs(s ? s : "?", stdout);
	}
}

static int value_width(const json_t *v)
{
	char buf[64];

	if (json_is_string(v))
		return (int)strlen(json_string_value(v));
	if (json_is_integer(v))
		return snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	if (json_is_boolean(v))
		return json_is_true(v) ? 3 : 2;
	return 1;
}

/* A table of @rows (objects) with @cols as headers. */
static void print_table(const json_t *rows, const char *const *cols)
{
	int w[16] = { 0 };
	size_t nc = 0;

	while (cols[nc] && nc < ELEMENTSOF(w)) {
		w[nc] = (int)strlen(cols[nc]);
		nc++;
	}
	for (size_t i = 0; i < json_array_size(rows); i++)
		for (size_t c = 0; c < nc; c++) {
			int n = value_width(json_object_get(json_array_get(rows, i), cols[c]));

			if (n > w[c])
				w[c] = n;
		}
	for (size_t c = 0; c < nc; c++) {
		for (const char *p = cols[c]; *p; p++)
			putchar(*p == '_' ? ' ' : toupper((unsigned char)*p));
		printf("%*s", c + 1 < nc ? w[c] - (int)strlen(cols[c]) + 2 : 0, "");
	}
	putchar('\n');
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *row = json_array_get(rows, i);

		for (size_t c = 0; c < nc; c++) {
			json_t *v = json_object_get(row, cols[c]);

			print_value(v);
			if (c + 1 < nc)
				printf("%*s", w[c] - value_width(v) + 2, "");
		}
		putchar('\n');
	}
}

static void print_object(const json_t *o)
{
	const char *k;
	json_t *v;
	int w = 0;

	json_object_foreach((json_t *)o, k, v)
		if ((int)strlen(k) > w)
			w = (int)strlen(k);
	json_object_foreach((json_t *)o, k, v) {
		printf("%-*s  ", w, k);
		print_value(v);
		putchar('\n');
	}
}

static int call(const char *op, json_t *args, json_t **ret_result)
{
	_cleanup_json_ json_t *req =
	    json_pack("{s:s, s:o}", "op", op, "args", args ? args : json_object());
	_cleanup_json_ json_t *reply = NULL;
	_cleanup_free_ char *err = NULL;
	json_t *e;
	int r;

	r = proto_call(sock_path, req, CTL_TIMEOUT_MS, &reply, &err);
	if (r < 0) {
		fprintf(stderr, "kuryrctl: %s\n", err ? err : strerror(-r));
		return 1;
	}
	e = json_object_get(reply, "error");
	if (e) {
		const char *d = json_object_get_str(e, "details");

		fprintf(stderr, "kuryrctl: %s%s%s\n", json_object_get_str(e, "msg") ?: "failed",
			d ? ": " : "", d ? d : "");
		return 1;
	}
	*ret_result = json_incref(json_object_get(reply, "result"));
	return 0;
}

static int output(const json_t *result, const char *const *cols)
{
	if (json_out) {
		if (result && !json_is_null(result)) {
			json_dumpf(result, stdout, JSON_INDENT(2));
			putchar('\n');
		}
		return 0;
	}
	if (json_is_array(result))
		print_table(result, cols);
	else if (json_is_object(result))
		print_object(result);
	return 0;
}

static const char *const network_cols[] = { "name", "subnet", "gateway", "mtu", "ports", NULL };
static const char *const port_cols[] = { "name", "network", "mac",	 "ip",
					 "up",	 "owner",   "device_id", NULL };
static const char *const pool_cols[] = { "key",	     "ready", "in_use", "draining",
					 "creating", "hits",  "misses", NULL };
static const char *const attach_cols[] = { "container_id", "ifname", "network", "address",
					   "host_ifname",  "state",  NULL };

/* Parse --key VALUE options after the positional words into @args. */
static void parse_opts(int argc, char **argv, int first, json_t *args, const char *const *allowed)
{
	for (int i = first; i < argc; i++) {
		const char *k = argv[i];
		bool ok = false;

		if (strncmp(k, "--", 2) != 0)
			die("unexpected argument \"%s\" (see --help)", k);
		for (size_t a = 0; allowed[a]; a++)
			if (streq(k + 2, allowed[a]))
				ok = true;
		if (!ok)
			die("unknown option \"%s\" (see --help)", k);
		if (i + 1 >= argc)
			die("option \"%s\" needs a value", k);
		if (streq(k, "--mtu")) {
			char *end;
			long v = strtol(argv[i + 1], &end, 10);

			if (*end || v <= 0)
				die("--mtu \"%s\" is not a positive number", argv[i + 1]);
			json_object_set_new(args, "mtu", json_integer(v));
		} else if (streq(k, "--gateway") && streq(argv[i + 1], "none"))
			json_object_set_new(args, "gateway", json_string(""));
		else {
			char key[32];

			snprintf(key, sizeof(key), "%s", k + 2);
			for (char *p = key; *p; p++)
				if (*p == '-')
					*p = '_';
			json_object_set_new(args, key, json_string(argv[i + 1]));
		}
		i++;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	_cleanup_json_ json_t *result = NULL;
	json_t *args;
	const char *obj, *verb;
	int c, r;

	/* "+": stop at the first word so verbs' own --options pass through. */
	while ((c = getopt_long(argc, argv, "+s:o:hV", opts, NULL)) >= 0)
		switch (c) {
		case 's':
			sock_path = optarg;
			break;
		case 'o':
			if (streq(optarg, "json"))
				json_out = true;
			else if (!streq(optarg, "table"))
				die("unknown output format \"%s\" (table, json)", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("kuryrctl %s\n", KURYR_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	obj = argv[0];
	verb = argc > 1 ? argv[1] : "";
	args = json_object();

	if (streq(obj, "status")) {
		r = call("daemon.status", args, &result);
		return r ?: output(result, NULL);
	}
	if (streq(obj, "network")) {
		if (streq(verb, "create")) {
			if (argc < 3 || strncmp(argv[2], "--", 2) == 0)
				die("%s", "network create needs a NAME");
			json_object_set_new(args, "name", json_string(argv[2]));
			parse_opts(argc, argv, 3, args,
				   (const char *const[]){ "subnet", "gateway", "mtu", NULL });
			if (!json_object_get(args, "subnet"))
				die("%s", "network create needs --subnet CIDR");
		} else if (streq(verb, "show") || streq(verb, "delete")) {
			if (argc != 3)
				die("network %s needs exactly one NAME", verb);
			json_object_set_new(args, "name", json_string(argv[2]));
		} else if (streq(verb, "list")) {
			parse_opts(argc, argv, 2, args, (const char *const[]){ NULL });
		} else
			die("unknown network command \"%s\" (see --help)", verb);
		char op[32];

		snprintf(op, sizeof(op), "network.%s", verb);
		r = call(op, args, &result);
		return r ?: output(result, network_cols);
	}
	if (streq(obj, "port")) {
		if (streq(verb, "create")) {
			parse_opts(argc, argv, 2, args,
				   (const char *const[]){ "network", "name", "mac", "ip",
							  "device-id", NULL });
			if (!json_object_get(args, "network"))
				die("%s", "port create needs --network NET");
		} else if (streq(verb, "list")) {
			parse_opts(argc, argv, 2, args, (const char *const[]){ "network", NULL });
		} else if (streq(verb, "show") || streq(verb, "delete")) {
			if (argc != 3)
				die("port %s needs exactly one NAME", verb);
			json_object_set_new(args, "name", json_string(argv[2]));
		} else
			die("unknown port command \"%s\" (see --help)", verb);
		char op[32];

		snprintf(op, sizeof(op), "port.%s", verb);
		r = call(op, args, &result);
		return r ?: output(result, port_cols);
	}
	if (streq(obj, "vm")) {
		if (streq(verb, "plug")) {
			if (argc != 4)
				die("%s", "vm plug needs TAP and PORT");
			json_object_set_new(args, "tap", json_string(argv[2]));
			json_object_set_new(args, "port", json_string(argv[3]));
			r = call("vm.plug", args, &result);
			return r ?: output(result, port_cols);
		}
		if (streq(verb, "unplug")) {
			if (argc != 3)
				die("%s", "vm unplug needs TAP");
			json_object_set_new(args, "tap", json_string(argv[2]));
			return call("vm.unplug", args, &result);
		}
		die("unknown vm command \"%s\" (see --help)", verb);
	}
	if (streq(obj, "security-group") || streq(obj, "qos")) {
		char op[48];

		if (argc < 3 || strncmp(argv[2], "--", 2) == 0)
			die("%s %s needs a NAME", obj, verb);
		json_object_set_new(args, "name", json_string(argv[2]));
		if (streq(obj, "security-group") && streq(verb, "rule-add"))
			parse_opts(argc, argv, 3, args,
				   (const char *const[]){ "direction", "protocol", "port",
							  "remote-ip", NULL });
		else if (streq(obj, "qos") && streq(verb, "create"))
			parse_opts(argc, argv, 3, args,
				   (const char *const[]){ "max-kbps", "max-burst-kbps", NULL });
		else if (streq(verb, "create") || streq(verb, "show") || streq(verb, "delete")) {
			if (argc != 3 || (streq(obj, "qos") && streq(verb, "show")))
				die("%s %s takes exactly one NAME", obj, verb);
		} else
			die("unknown %s command \"%s\" (see --help)", obj, verb);
		snprintf(op, sizeof(op), "%s.%s", obj, verb);
		r = call(op, args, &result);
		return r ?: output(result, NULL);
	}
	if (streq(obj, "trunk")) {
		char op[32];

		if (streq(verb, "create")) {
			if (argc < 3 || strncmp(argv[2], "--", 2) == 0)
				die("%s", "trunk create needs a PARENT_PORT");
			json_object_set_new(args, "port", json_string(argv[2]));
			parse_opts(argc, argv, 3, args, (const char *const[]){ "name", NULL });
		} else if (streq(verb, "show") || streq(verb, "delete")) {
			if (argc != 3)
				die("trunk %s needs exactly one TRUNK", verb);
			json_object_set_new(args, "trunk", json_string(argv[2]));
		} else if (streq(verb, "add-subport")) {
			char *end;
			long vlan;

			if (argc != 5)
				die("%s", "trunk add-subport needs TRUNK PORT VLAN");
			vlan = strtol(argv[4], &end, 10);
			if (*end || vlan < 1 || vlan > 4094)
				die("VLAN \"%s\" is not a number in 1..4094", argv[4]);
			json_object_set_new(args, "trunk", json_string(argv[2]));
			json_object_set_new(args, "port", json_string(argv[3]));
			json_object_set_new(args, "vlan", json_integer(vlan));
		} else if (streq(verb, "remove-subport")) {
			if (argc != 4)
				die("%s", "trunk remove-subport needs TRUNK PORT");
			json_object_set_new(args, "trunk", json_string(argv[2]));
			json_object_set_new(args, "port", json_string(argv[3]));
		} else
			die("unknown trunk command \"%s\" (see --help)", verb);
		snprintf(op, sizeof(op), "trunk.%s", verb);
		r = call(op, args, &result);
		return r ?: output(result, NULL);
	}
	if (streq(obj, "pool")) {
		char op[32];

		if (streq(verb, "list")) {
			parse_opts(argc, argv, 2, args, (const char *const[]){ "network", NULL });
		} else if (streq(verb, "show") || streq(verb, "populate")) {
			if (argc != 3)
				die("pool %s needs exactly one network", verb);
			json_object_set_new(args, "network", json_string(argv[2]));
		} else if (streq(verb, "free")) {
			if (argc > 3)
				die("%s", "pool free takes at most one network");
			if (argc == 3)
				json_object_set_new(args, "network", json_string(argv[2]));
		} else
			die("unknown pool command \"%s\" (see --help)", verb);
		snprintf(op, sizeof(op), "pool.%s", verb);
		r = call(op, args, &result);
		return r ?: output(result, pool_cols);
	}
	if (streq(obj, "attachment") && streq(verb, "list")) {
		r = call("attachment.list", args, &result);
		return r ?: output(result, attach_cols);
	}
	die("unknown command \"%s\" (see --help)", obj);
}
