/* SPDX-License-Identifier: Apache-2.0 */
/* kuryrctl's command line: the table of commands (group, verb, the words
 * and options each takes, the request it becomes, how its answer prints),
 * the parser that turns argv into a request for kuryrd, and the output
 * formats. Split from main() so that the unit tests drive all of it without
 * a daemon. Depends on libc, jansson and src/proto only, like kuryrctl. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

enum ctl_format {
	CTL_FORMAT_TABLE,
	CTL_FORMAT_JSON,
};

/* What the command line asks for. */
enum ctl_action {
	CTL_ACTION_CALL,    /* send the request, print the answer */
	CTL_ACTION_HELP,    /* -h, --help */
	CTL_ACTION_VERSION, /* -V, --version */
};

/* kuryrctl's exit status for a command line it refuses. */
#define CTL_EXIT_USAGE 2

/* Turns one command-line word into its JSON value in the request. */
struct ctl_value_type {
	/* 0 and a new reference in *ret, -EINVAL if @s is not a valid word,
	 * -ENOMEM. */
	int (*parse)(const char *s, json_t **ret);
	/* What a valid word is, for the error: "a positive number". */
	const char *expect;
};

/* A positional word of a command. */
struct ctl_operand {
	const char *key;		   /* in the request's "args"; NULL ends a list */
	const char *metavar;		   /* in usage and errors: "NAME" */
	const struct ctl_value_type *type; /* NULL: the word as a string */
	bool optional;			   /* only the last ones may be */
};

/* A --name VALUE (or --name=VALUE) option of a command. */
struct ctl_option {
	const char *name; /* without the dashes: "device-id"; NULL ends a list */
	const char *key;  /* in the request's "args": "device_id" */
	const char *metavar;
	const struct ctl_value_type *type; /* NULL: the value as a string */
	bool required;
	/* May be given more than once: its values go as an array, in their
	 * order (else the last one counts). */
	bool repeat;
};

/* One command: "GROUP VERB ..." sends {"op": op, "args": {...}}. */
struct ctl_command {
	const char *group;
	const char *verb; /* NULL where the group is the whole command ("status") */
	const char *op;
	const struct ctl_operand *operands; /* NULL: takes no words */
	const struct ctl_option *options;   /* NULL: takes no options */
	/* The columns a listing prints as a table; NULL: key/value lines. */
	const char *const *columns;
	bool silent; /* prints nothing on success, whatever the format */
	const char *help;
};

/* Every command, ending with one whose group is NULL. */
extern const struct ctl_command ctl_commands[];

struct ctl_options {
	enum ctl_action action;
	const char *socket; /* borrowed from argv, or KURYR_DEFAULT_SOCKET */
	enum ctl_format format;
	/* The command named; NULL only for help or version asked before it. */
	const struct ctl_command *command;
	/* The group named (borrowed from the table), for help on it; or NULL. */
	const char *group;
};

/* Parse @argv (argv[0] is the program). Global options (--socket PATH,
 * -o|--output FORMAT, -h|--help, -V|--version) go anywhere; the command's
 * own --options anywhere after its verb; "--" ends options. Help and
 * version win as soon as they are seen.
 *
 * Returns 0, *ret_opts filled in and, for CTL_ACTION_CALL, the request
 * {"op", "args"} in *ret_request (new reference; NULL otherwise). On a
 * command line it refuses, -EINVAL and one line saying what and where
 * ("network create: unknown option \"--subnett\"") in *reterr_msg; -ENOMEM.
 * The ret_ parameters are untouched on failure. */
int ctl_parse(int argc, char *const *argv, json_t **ret_request, struct ctl_options *ret_opts,
	      char **reterr_msg);

/* The help text, made from the command table: every command, or only
 * those of @group if it is not NULL. */
void ctl_usage(FILE *f, const char *group);

/* Print kuryrd's @result (borrowed, may be NULL) for the command in @opts,
 * as a table or key/value lines, or as JSON. */
void ctl_output(FILE *f, const struct ctl_options *opts, const json_t *result);

/* All of kuryrctl: parse @argv, call kuryrd, print to @out, errors (one
 * line each, "kuryrctl: ...") to @err. Returns the exit status: 0,
 * 1 if kuryrd cannot be reached or refuses, CTL_EXIT_USAGE for a refused
 * command line (then nothing is sent). */
int ctl_main(int argc, char **argv, FILE *out, FILE *err);
