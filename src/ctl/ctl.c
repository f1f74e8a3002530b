/* SPDX-License-Identifier: Apache-2.0 */
/* kuryrctl's commands and their parser. Every command is a row of
 * ctl_commands: the words and --options it takes, the request it sends and
 * how its answer prints; the parser, the help text and the dispatch all
 * read that table, so a new verb is one row. */
#include <ctype.h>
#include <stdarg.h>

#include "build-config.h"
#include "ctl.h"
#include "json-util.h"
#include "proto/proto.h"

/* kuryrd answers a pool populate only once the pool is full. */
#define CTL_TIMEOUT_MS	  60000
/* The most words a command takes (trunk add-subport TRUNK PORT VLAN); a
 * command with more needs this raised. */
#define CTL_OPERANDS_MAX  3
/* Help text is wrapped to fit a terminal of 80 columns. */
#define USAGE_WIDTH	  79
#define USAGE_INDENT	  6
#define USAGE_HELP_COLUMN 26

/* ---- value types ---- */

static int parse_positive(const char *s, json_t **ret)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v <= 0)
		return -EINVAL;
	*ret = json_integer(v);
	return *ret ? 0 : -ENOMEM;
}

/* "none": a network without a gateway, which kuryrd reads as "". */
static int parse_gateway(const char *s, json_t **ret)
{
	*ret = json_string(streq(s, "none") ? "" : s);
	return *ret ? 0 : -ENOMEM;
}

static int parse_vlan(const char *s, json_t **ret)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end || v < 1 || v > 4094)
		return -EINVAL;
	*ret = json_integer(v);
	return *ret ? 0 : -ENOMEM;
}

static const struct ctl_value_type value_positive = { parse_positive, "a positive number" };
static const struct ctl_value_type value_gateway = { parse_gateway, "an address or none" };
static const struct ctl_value_type value_vlan = { parse_vlan, "a number in 1..4094" };

/* ---- the commands ---- */

static const char *const network_cols[] = { "name", "subnet", "gateway", "subnet6",
					    "mtu",  "ports",  NULL };
static const char *const port_cols[] = { "name", "network", "mac",   "ip",	  "ip6",
					 "up",	 "host",    "owner", "device_id", NULL };
static const char *const pool_cols[] = { "key",	     "ready", "in_use", "draining",
					 "creating", "hits",  "misses", NULL };
static const char *const router_cols[] = { "name", "id", "external_gateway", NULL };
static const char *const fip_cols[] = { "ip", "network", "port", "fixed_ip", "id", NULL };
static const char *const sg_cols[] = { "id", "name", NULL };
static const char *const rule_cols[] = {
	"id",	    "direction",	"ethertype",	"protocol", "port_min",
	"port_max", "remote_ip_prefix", "remote_group", NULL
};
static const char *const qos_cols[] = { "name",	     "id",   "max_kbps", "max_burst_kbps",
					"direction", "dscp", NULL };
static const char *const lb_cols[] = { "name", "vip", "network", "status", "id", NULL };
static const char *const member_cols[] = { "address", "port", "health", "owner", "id", NULL };
static const char *const attach_cols[] = { "origin",  "container_id", "ifname", "network",
					   "address", "host_ifname",  "state",	NULL };

static const struct ctl_operand name_operand[] = { { "name", "NAME" }, { 0 } };
static const struct ctl_operand tap_operand[] = { { "tap", "TAP" }, { 0 } };
static const struct ctl_operand router_operand[] = { { "router", "ROUTER" }, { 0 } };
static const struct ctl_operand trunk_operand[] = { { "trunk", "TRUNK" }, { 0 } };
static const struct ctl_operand net_operand[] = { { "network", "NET" }, { 0 } };
static const struct ctl_option network_option[] = { { "network", "network", "NET" }, { 0 } };

#define OPERANDS(...) ((const struct ctl_operand[]){ __VA_ARGS__, { 0 } })
#define OPTIONS(...)  ((const struct ctl_option[]){ __VA_ARGS__, { 0 } })

const struct ctl_command ctl_commands[] = {
	{ "network", "create", "network.create", .operands = name_operand,
	  .options = OPTIONS({ "subnet", "subnet", "CIDR", .required = true, .repeat = true },
			     { "gateway", "gateway", "IP|none", &value_gateway },
			     { "mtu", "mtu", "N", &value_positive }, { "external", "external" },
			     { "physical-network", "physical_network", "NAME" },
			     { "ipv6-mode", "ipv6_mode", "slaac|dhcpv6-stateful" }),
	  .columns = network_cols,
	  .help = "--subnet once per family: IPv4, IPv6 (a /64 for slaac), or both" },
	{ "network", "list", "network.list", .columns = network_cols },
	{ "network", "show", "network.show", .operands = name_operand, .columns = network_cols },
	{ "network", "delete", "network.delete", .operands = name_operand,
	  .columns = network_cols },

	{ "port", "create", "port.create",
	  .options = OPTIONS(
	      { "network", "network", "NET", .required = true }, { "name", "name", "N" },
	      { "mac", "mac", "MAC" }, { "ip", "ip", "IP" }, { "device-id", "device_id", "ID" },
	      { "allowed-address", "allowed_addresses", "IP[/LEN][,MAC]", .repeat = true },
	      { "no-port-security", "no_port_security" }),
	  .columns = port_cols },
	{ "port", "set", "port.set", .operands = name_operand,
	  .options = OPTIONS(
	      { "allowed-address", "allowed_addresses", "IP[/LEN][,MAC]", .repeat = true },
	      { "no-allowed-address", "no_allowed_address" }, { "port-security", "port_security" },
	      { "no-port-security", "no_port_security" }),
	  .columns = port_cols, .help = "add allowed addresses, turn port security on or off" },
	{ "port", "list", "port.list", .options = network_option, .columns = port_cols },
	{ "port", "show", "port.show", .operands = name_operand, .columns = port_cols },
	{ "port", "delete", "port.delete", .operands = name_operand, .columns = port_cols },
	{ "port", "migrate", "port.migrate", .operands = name_operand,
	  .options =
	      OPTIONS({ "to", "to", "NODE" }, { "finish", "finish" }, { "cancel", "cancel" }),
	  .columns = port_cols,
	  .help = "bind on NODE too (its traffic there after the workload's RARP); "
		  "--finish: NODE alone; --cancel: back" },

	{ "vm", "plug", "vm.plug", .operands = OPERANDS({ "tap", "TAP" }, { "port", "PORT" }),
	  .columns = port_cols, .help = "put a hypervisor's tap device on the bridge for PORT" },
	{ "vm", "unplug", "vm.unplug", .operands = tap_operand, .silent = true },

	{ "trunk", "create", "trunk.create", .operands = OPERANDS({ "port", "PARENT_PORT" }),
	  .options = OPTIONS({ "name", "name", "N" }) },
	{ "trunk", "show", "trunk.show", .operands = trunk_operand },
	{ "trunk", "delete", "trunk.delete", .operands = trunk_operand },
	{ "trunk", "add-subport", "trunk.add-subport",
	  .operands =
	      OPERANDS({ "trunk", "TRUNK" }, { "port", "PORT" }, { "vlan", "VLAN", &value_vlan }) },
	{ "trunk", "remove-subport", "trunk.remove-subport",
	  .operands = OPERANDS({ "trunk", "TRUNK" }, { "port", "PORT" }) },

	{ "security-group", "create", "security-group.create", .operands = name_operand },
	{ "security-group", "list", "security-group.list", .columns = sg_cols },
	{ "security-group", "show", "security-group.show", .operands = name_operand },
	{ "security-group", "delete", "security-group.delete", .operands = name_operand },
	{ "security-group", "rule-add", "security-group.rule-add", .operands = name_operand,
	  .options = OPTIONS({ "direction", "direction", "ingress|egress" },
			     { "ethertype", "ethertype", "IPv4|IPv6" },
			     { "protocol", "protocol", "tcp|udp|icmp|icmpv6|any" },
			     { "port", "port", "N[:M]" }, { "remote-ip", "remote_ip", "CIDR" },
			     { "remote-group", "remote_group", "GROUP" }),
	  .help = "allow traffic; prints the rule with its id" },
	{ "security-group", "rule-delete", "security-group.rule-delete",
	  .operands = OPERANDS({ "rule", "RULE_ID" }), .silent = true },
	{ "security-group", "rule-list", "security-group.rule-list", .operands = name_operand,
	  .columns = rule_cols },

	/* kuryrd checks the numbers (and that a policy limits or marks):
	 * they go as the strings given. */
	{ "qos", "create", "qos.create", .operands = name_operand,
	  .options =
	      OPTIONS({ "max-kbps", "max_kbps", "N" }, { "max-burst-kbps", "max_burst_kbps", "N" },
		      { "direction", "direction", "egress|ingress" }, { "dscp", "dscp", "MARK" }),
	  .help = "a limit, a DSCP mark or both" },
	{ "qos", "list", "qos.list", .columns = qos_cols },
	{ "qos", "show", "qos.show", .operands = name_operand },
	{ "qos", "delete", "qos.delete", .operands = name_operand },

	{ "router", "create", "router.create", .operands = router_operand },
	{ "router", "list", "router.list", .columns = router_cols },
	{ "router", "show", "router.show", .operands = router_operand },
	{ "router", "delete", "router.delete", .operands = router_operand, .silent = true },
	{ "router", "add-subnet", "router.add-subnet",
	  .operands = OPERANDS({ "router", "ROUTER" }, { "network", "NET" }),
	  .help = "NET's gateway address becomes the router's port" },
	{ "router", "remove-subnet", "router.remove-subnet",
	  .operands = OPERANDS({ "router", "ROUTER" }, { "network", "NET" }) },
	{ "router", "set", "router.set", .operands = router_operand,
	  .options =
	      OPTIONS({ "external-gateway", "external_gateway", "EXTNET" },
		      { "no-external-gateway", "no_external_gateway" }, { "no-snat", "no_snat" }) },

	{ "floating-ip", "create", "floating-ip.create",
	  .operands = OPERANDS({ "network", "EXTNET" }),
	  .options = OPTIONS({ "port", "port", "PORT", .required = true }, { "ip", "ip", "IP" }),
	  .help = "reach PORT from outside at an address of EXTNET" },
	{ "floating-ip", "list", "floating-ip.list", .columns = fip_cols },
	{ "floating-ip", "delete", "floating-ip.delete", .operands = OPERANDS({ "fip", "FIP" }),
	  .silent = true },

	{ "loadbalancer", "create", "loadbalancer.create",
	  .operands = OPERANDS({ "loadbalancer", "NAME" }),
	  .options =
	      OPTIONS({ "network", "network", "NET", .required = true }, { "vip", "vip", "IP" }),
	  .help = "a VIP on NET (on a router); --vip: that address" },
	{ "loadbalancer", "list", "loadbalancer.list", .columns = lb_cols },
	{ "loadbalancer", "show", "loadbalancer.show",
	  .operands = OPERANDS({ "loadbalancer", "LB" }) },
	{ "loadbalancer", "delete", "loadbalancer.delete",
	  .operands = OPERANDS({ "loadbalancer", "LB" }), .silent = true,
	  .help = "with its pools and members" },
	{ "loadbalancer", "pool-create", "loadbalancer.pool-create",
	  .operands = OPERANDS({ "loadbalancer", "LB" }, { "pool", "POOL" }),
	  .options = OPTIONS(
	      { "protocol", "protocol", "tcp|udp|sctp", .required = true },
	      { "port", "port", "N", .required = true }, { "member-port", "member_port", "N" },
	      { "algorithm", "algorithm", "source-ip-port|source-ip" },
	      { "health-check", "health_check", "tcp|udp-connect" }, { "delay", "delay", "S" },
	      { "timeout", "timeout", "S" }, { "max-retries", "max_retries", "N" }),
	  .help = "the VIP's port N, to members' --member-port (default N)" },
	{ "loadbalancer", "pool-show", "loadbalancer.pool-show",
	  .operands = OPERANDS({ "pool", "POOL" }) },
	{ "loadbalancer", "pool-delete", "loadbalancer.pool-delete",
	  .operands = OPERANDS({ "pool", "POOL" }), .silent = true },
	{ "loadbalancer", "member-add", "loadbalancer.member-add",
	  .operands = OPERANDS({ "pool", "POOL" }),
	  .options = OPTIONS({ "address", "address", "IP" }, { "container", "container", "ID" },
			     { "port", "port", "PORT" }, { "member-port", "member_port", "N" }),
	  .help = "one of --address, --container (on this node), --port" },
	{ "loadbalancer", "member-remove", "loadbalancer.member-remove",
	  .operands = OPERANDS({ "pool", "POOL" }, { "member", "MEMBER" }), .silent = true,
	  .help = "MEMBER: IP, IP:PORT or its id" },
	{ "loadbalancer", "member-list", "loadbalancer.member-list",
	  .operands = OPERANDS({ "pool", "POOL" }), .columns = member_cols },

	{ "pool", "list", "pool.list", .options = network_option, .columns = pool_cols },
	{ "pool", "show", "pool.show", .operands = net_operand, .columns = pool_cols },
	{ "pool", "populate", "pool.populate", .operands = net_operand, .columns = pool_cols,
	  .help = "fill NET's pool to ports_pool_min now" },
	{ "pool", "free", "pool.free", .operands = OPERANDS({ "network", "NET", .optional = true }),
	  .columns = pool_cols, .help = "delete the ready entries of NET's pool (all pools)" },

	{ "attachment", "list", "attachment.list", .columns = attach_cols,
	  .help = "containers attached on this node" },
	{ "status", NULL, "daemon.status", .help = "daemon and backend state" },
	{ 0 },
};

/* ---- global options ---- */

enum global_id {
	GLOBAL_SOCKET,
	GLOBAL_OUTPUT,
	GLOBAL_HELP,
	GLOBAL_VERSION,
};

static const struct global_option {
	enum global_id id;
	const char *name;
	char short_name;
	const char *metavar; /* NULL: takes no value */
	const char *help;
} global_options[] = {
	{ GLOBAL_SOCKET, "socket", 's', "PATH",
	  "kuryrd's socket (default " KURYR_DEFAULT_SOCKET ")" },
	{ GLOBAL_OUTPUT, "output", 'o', "FORMAT", "table (default) or json" },
	{ GLOBAL_HELP, "help", 'h', NULL, "this text" },
	{ GLOBAL_VERSION, "version", 'V', NULL, "the version" },
};

/* ---- parser ---- */

struct parser {
	struct ctl_options o;
	const struct ctl_command *command;
	const char *group; /* from the table */
	const char *words[CTL_OPERANDS_MAX];
	size_t n_words;
	json_t *options; /* the command's options seen, in their order */
};

static const char *command_group(const char *word)
{
	for (const struct ctl_command *c = ctl_commands; c->group; c++)
		if (streq(c->group, word))
			return c->group;
	return NULL;
}

static const struct ctl_command *command_find(const char *group, const char *verb)
{
	for (const struct ctl_command *c = ctl_commands; c->group; c++)
		if (streq(c->group, group) && streq_ptr(c->verb, verb))
			return c;
	return NULL;
}

static size_t operands_count(const struct ctl_command *c, bool required_only)
{
	size_t n = 0;

	for (const struct ctl_operand *a = c->operands; a && a->key; a++)
		if (!required_only || !a->optional)
			n++;
	return n;
}

/* Refuse the command line: -EINVAL and "WHERE: WHAT" in *reterr_msg, WHERE
 * being as much of the command as was read. */
static _printf_(3, 4) int refuse(const struct parser *p, char **reterr_msg, const char *fmt, ...)
{
	_cleanup_free_ char *what = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	if (p->command && p->command->verb)
		set_errmsg(reterr_msg, "%s %s: %s", p->command->group, p->command->verb, what);
	else if (p->group)
		set_errmsg(reterr_msg, "%s: %s", p->group, what);
	else
		set_errmsg(reterr_msg, "%s", what);
	return -EINVAL;
}

/* A word that is surely an option rather than an option's value: the next
 * option after one whose value was forgotten. "-" and "-5" are values;
 * "--name=-x" passes any other value that starts with a dash. */
static bool looks_like_option(const char *w)
{
	return w[0] == '-' && w[1] && !isdigit((unsigned char)w[1]);
}

static int apply_global(struct parser *p, const struct global_option *g, const char *value,
			char **reterr_msg)
{
	switch (g->id) {
	case GLOBAL_SOCKET:
		p->o.socket = value;
		return 0;
	case GLOBAL_OUTPUT:
		if (streq(value, "json"))
			p->o.format = CTL_FORMAT_JSON;
		else if (streq(value, "table"))
			p->o.format = CTL_FORMAT_TABLE;
		else
			return refuse(p, reterr_msg, "unknown output format \"%s\" (table, json)",
				      value);
		return 0;
	case GLOBAL_HELP:
		p->o.action = CTL_ACTION_HELP;
		return 1;
	case GLOBAL_VERSION:
		p->o.action = CTL_ACTION_VERSION;
		return 1;
	}
	return 0;
}

static int apply_option(struct parser *p, const struct ctl_option *opt, const char *value,
			char **reterr_msg)
{
	json_t *v = NULL;
	int r;

	if (!opt->metavar) /* a flag */
		v = json_true();
	else if (opt->type) {
		r = opt->type->parse(value, &v);
		if (r == -EINVAL)
			return refuse(p, reterr_msg, "--%s \"%s\" is not %s", opt->name, value,
				      opt->type->expect);
		if (r < 0)
			return r;
	} else if (!(v = json_string(value)))
		return -ENOMEM;
	if (opt->repeat) {
		json_t *a = json_object_get(p->options, opt->key);

		if (!a && json_object_set_new(p->options, opt->key, a = json_array()) < 0)
			return -ENOMEM;
		return json_array_append_new(a, v) < 0 ? -ENOMEM : 0;
	}
	/* Given twice, the last one counts (in the first one's place). */
	return json_object_set_new(p->options, opt->key, v) < 0 ? -ENOMEM : 0;
}

/* The option in argv[*i], and its value: after '=' in the same word, the
 * rest of a short option's word, or the next word (then *i moves on to it).
 * Returns 0, 1 if parsing should stop here (help, version), or -errno. */
static int parse_option(struct parser *p, int argc, char *const *argv, int *i, char **reterr_msg)
{
	const char *w = argv[*i], *value = NULL;
	const struct global_option *g = NULL;
	const struct ctl_option *opt = NULL;
	_cleanup_free_ char *shown = NULL; /* the option as the user spelt it */

	if (w[1] == '-') {
		const char *eq = strchr(w, '=');
		size_t len = eq ? (size_t)(eq - w) : strlen(w);

		shown = strndup(w, len);
		if (!shown)
			return -ENOMEM;
		if (eq)
			value = eq + 1;
		for (size_t k = 0; k < ELEMENTSOF(global_options) && !g; k++)
			if (streq(global_options[k].name, shown + 2))
				g = &global_options[k];
		for (const struct ctl_option *o = p->command ? p->command->options : NULL;
		     !g && !opt && o && o->name; o++)
			if (streq(o->name, shown + 2))
				opt = o;
	} else {
		shown = strdup(w);
		if (!shown)
			return -ENOMEM;
		for (size_t k = 0; k < ELEMENTSOF(global_options) && !g; k++)
			if (global_options[k].short_name == w[1])
				g = &global_options[k];
		/* -ojson, -s/run/k.sock; but not -hV. */
		if (g && w[2]) {
			if (g->metavar)
				value = w + 2;
			else
				g = NULL;
		}
	}
	if (!g && !opt)
		return refuse(p, reterr_msg, "unknown option \"%s\"", shown);
	if ((g && !g->metavar) || (opt && !opt->metavar)) {
		if (value)
			return refuse(p, reterr_msg, "option \"%s\" takes no value", shown);
		return g ? apply_global(p, g, NULL, reterr_msg)
			 : apply_option(p, opt, NULL, reterr_msg);
	}
	if (!value) {
		if (*i + 1 >= argc || looks_like_option(argv[*i + 1]))
			return refuse(p, reterr_msg, "option \"%s\" needs a value", shown);
		value = argv[++*i];
	}
	return g ? apply_global(p, g, value, reterr_msg) : apply_option(p, opt, value, reterr_msg);
}

/* A word that is not an option: the group, the verb, or the command's next
 * operand. */
static int parse_word(struct parser *p, const char *w, char **reterr_msg)
{
	if (!p->group) {
		p->group = command_group(w);
		if (!p->group)
			return refuse(p, reterr_msg, "unknown command \"%s\"", w);
		/* A group without verbs is the command. */
		p->command = command_find(p->group, NULL);
		return 0;
	}
	if (!p->command) {
		p->command = command_find(p->group, w);
		if (!p->command)
			return refuse(p, reterr_msg, "unknown command \"%s\"", w);
		return 0;
	}
	if (p->n_words >= operands_count(p->command, false) || p->n_words >= ELEMENTSOF(p->words))
		return refuse(p, reterr_msg, "unexpected argument \"%s\"", w);
	p->words[p->n_words++] = w;
	return 0;
}

/* "network: missing command (create, list, show, delete)" */
static int refuse_no_verb(const struct parser *p, char **reterr_msg)
{
	char verbs[256] = "";
	size_t n = 0;

	for (const struct ctl_command *c = ctl_commands; c->group; c++)
		if (streq(c->group, p->group) && n < sizeof(verbs))
			n += (size_t)snprintf(verbs + n, sizeof(verbs) - n, "%s%s", n ? ", " : "",
					      c->verb);
	return refuse(p, reterr_msg, "missing command (%s)", verbs);
}

/* The request for a complete command line: operands first, then options in
 * the order given, as kuryrctl has always sent them. */
static int build_request(struct parser *p, json_t **ret, char **reterr_msg)
{
	const struct ctl_command *c = p->command;
	_cleanup_json_ json_t *args = NULL, *req = NULL;
	int r;

	if (p->n_words < operands_count(c, true))
		return refuse(p, reterr_msg, "missing argument %s",
			      c->operands[p->n_words].metavar);
	for (const struct ctl_option *o = c->options; o && o->name; o++)
		if (o->required && !json_object_get(p->options, o->key))
			return refuse(p, reterr_msg, "missing option --%s %s", o->name, o->metavar);

	args = json_object();
	if (!args)
		return -ENOMEM;
	for (size_t k = 0; k < p->n_words; k++) {
		const struct ctl_operand *a = &c->operands[k];
		json_t *v = NULL;

		if (a->type) {
			r = a->type->parse(p->words[k], &v);
			if (r == -EINVAL)
				return refuse(p, reterr_msg, "%s \"%s\" is not %s", a->metavar,
					      p->words[k], a->type->expect);
			if (r < 0)
				return r;
		} else if (!(v = json_string(p->words[k])))
			return -ENOMEM;
		if (json_object_set_new(args, a->key, v) < 0)
			return -ENOMEM;
	}
	if (json_object_update(args, p->options) < 0)
		return -ENOMEM;
	req = json_pack("{s:s, s:O}", "op", c->op, "args", args);
	if (!req)
		return -ENOMEM;
	*ret = TAKE_PTR(req);
	return 0;
}

int ctl_parse(int argc, char *const *argv, json_t **ret_request, struct ctl_options *ret_opts,
	      char **reterr_msg)
{
	_cleanup_json_ json_t *options = json_object();
	_cleanup_json_ json_t *req = NULL;
	struct parser p = {
		.o = { .action = CTL_ACTION_CALL, .socket = KURYR_DEFAULT_SOCKET },
		.options = options,
	};
	bool only_words = false;
	int r = 0;

	if (!options)
		return -ENOMEM;
	for (int i = 1; i < argc && r == 0; i++) {
		const char *w = argv[i];

		if (!only_words && streq(w, "--"))
			only_words = true;
		else if (!only_words && w[0] == '-' && w[1])
			r = parse_option(&p, argc, argv, &i, reterr_msg);
		else
			r = parse_word(&p, w, reterr_msg);
	}
	if (r < 0)
		return r;
	p.o.command = p.command;
	p.o.group = p.group;
	if (p.o.action == CTL_ACTION_CALL) {
		if (!p.group)
			return refuse(&p, reterr_msg, "missing command (see kuryrctl --help)");
		if (!p.command)
			return refuse_no_verb(&p, reterr_msg);
		r = build_request(&p, &req, reterr_msg);
		if (r < 0)
			return r;
	}
	*ret_request = TAKE_PTR(req);
	*ret_opts = p.o;
	return 0;
}

/* ---- help ---- */

/* Print @word after a space, or on a new indented line where it would
 * pass the right margin; returns the new column. */
static int usage_word(FILE *f, int col, const char *word)
{
	int len = (int)strlen(word);

	if (col > USAGE_INDENT && col + 1 + len > USAGE_WIDTH) {
		fprintf(f, "\n%*s%s", USAGE_INDENT, "", word);
		return USAGE_INDENT + len;
	}
	fprintf(f, " %s", word);
	return col + 1 + len;
}

static void usage_command(FILE *f, const struct ctl_command *c)
{
	char word[128];
	int col;

	col = fprintf(f, "  %s", c->group);
	if (c->verb)
		col = usage_word(f, col, c->verb);
	for (const struct ctl_operand *a = c->operands; a && a->key; a++) {
		snprintf(word, sizeof(word), a->optional ? "[%s]" : "%s", a->metavar);
		col = usage_word(f, col, word);
	}
	for (const struct ctl_option *o = c->options; o && o->name; o++) {
		if (!o->metavar)
			snprintf(word, sizeof(word), "[--%s]", o->name);
		else
			snprintf(word, sizeof(word), o->required ? "--%s %s%s" : "[--%s %s]%s",
				 o->name, o->metavar, o->repeat ? "..." : "");
		col = usage_word(f, col, word);
	}
	if (c->help) {
		int len = (int)strlen(c->help);

		if (col + 2 <= USAGE_HELP_COLUMN)
			fprintf(f, "%*s%s", USAGE_HELP_COLUMN - col, "", c->help);
		else if (col + 2 + len <= USAGE_WIDTH)
			fprintf(f, "  %s", c->help);
		else
			fprintf(f, "\n%*s%s", USAGE_HELP_COLUMN, "", c->help);
	}
	fputc('\n', f);
}

void ctl_usage(FILE *f, const char *group)
{
	fprintf(f,
		"kuryrctl %s - operate a Kuryr-C node\n\n"
		"Usage: kuryrctl [--socket PATH] [-o table|json] COMMAND\n\n",
		KURYR_VERSION);
	for (const struct ctl_command *c = ctl_commands; c->group; c++)
		if (!group || streq(c->group, group))
			usage_command(f, c);
	fputs("\nOptions, anywhere on the command line (\"--\" ends them):\n", f);
	for (size_t k = 0; k < ELEMENTSOF(global_options); k++) {
		const struct global_option *g = &global_options[k];
		int n = fprintf(f, "  -%c, --%s%s%s", g->short_name, g->name, g->metavar ? " " : "",
				g->metavar ?: "");

		fprintf(f, "%*s%s\n", n < 24 ? 24 - n : 1, "", g->help);
	}
}

/* ---- running it ---- */

static int call(const char *sock, const json_t *req, FILE *err, json_t **ret_result)
{
	_cleanup_json_ json_t *reply = NULL;
	_cleanup_free_ char *msg = NULL;
	json_t *e;
	int r;

	r = proto_call(sock, req, CTL_TIMEOUT_MS, &reply, &msg);
	if (r < 0) {
		fprintf(err, "kuryrctl: %s\n", msg ? msg : strerror(-r));
		return 1;
	}
	e = json_object_get(reply, "error");
	if (e) {
		const char *d = json_object_get_str(e, "details");

		fprintf(err, "kuryrctl: %s%s%s\n", json_object_get_str(e, "msg") ?: "failed",
			d ? ": " : "", d ? d : "");
		return 1;
	}
	*ret_result = json_incref(json_object_get(reply, "result"));
	return 0;
}

int ctl_main(int argc, char **argv, FILE *out, FILE *err)
{
	_cleanup_json_ json_t *req = NULL, *result = NULL;
	_cleanup_free_ char *msg = NULL;
	struct ctl_options o;
	int r;

	r = ctl_parse(argc, argv, &req, &o, &msg);
	if (r < 0) {
		fprintf(err, "kuryrctl: %s\n", msg ? msg : strerror(-r));
		return r == -EINVAL ? CTL_EXIT_USAGE : 1;
	}
	switch (o.action) {
	case CTL_ACTION_HELP:
		ctl_usage(out, o.group);
		return 0;
	case CTL_ACTION_VERSION:
		fprintf(out, "kuryrctl %s\n", KURYR_VERSION);
		return 0;
	case CTL_ACTION_CALL:
		break;
	}
	if (call(o.socket, req, err, &result))
		return 1;
	ctl_output(out, &o, result);
	return 0;
}
