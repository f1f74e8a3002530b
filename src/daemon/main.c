/* SPDX-License-Identifier: Apache-2.0 */
/* kuryrd: the Kuryr-C node daemon. */
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "build-config.h"
#include "config.h"
#include "daemon.h"
#include "log.h"

static void usage(void)
{
	printf("kuryrd %s - Kuryr-C node daemon\n\n"
	       "Usage: kuryrd [-c FILE] [--log-level LEVEL]\n\n"
	       "  -c, --config FILE   configuration (default %s; built-in defaults if absent\n"
	       "                      and not given explicitly)\n"
	       "      --log-level L   error, warning, info or debug (overrides the file)\n"
	       "  -h, --help          this text\n"
	       "  -V, --version       print the version\n",
	       KURYR_VERSION, KURYR_DEFAULT_CONFIG);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	_cleanup_free_ char *err = NULL;
	struct kuryr_config cfg;
	struct kuryrd *d = NULL;
	const char *path = NULL, *level = NULL;
	enum log_level lvl;
	sigset_t mask;
	int c, r;

	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) >= 0)
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'l':
			level = optarg;
			break;
		case 'h':
			usage();
			return 0;
		case 'V':
			printf("kuryrd %s\n", KURYR_VERSION);
			return 0;
		default:
			fprintf(stderr, "kuryrd: see --help\n");
			return 2;
		}
	if (optind < argc) {
		fprintf(stderr, "kuryrd: unexpected argument \"%s\" (see --help)\n", argv[optind]);
		return 2;
	}

	/* A few malloc arenas are enough for a daemon whose requests are
	 * short: one per worker thread would keep each one's free pages. */
	mallopt(M_ARENA_MAX, 2);
	if (config_init(&cfg) < 0) {
		fprintf(stderr, "kuryrd: out of memory\n");
		return 1;
	}
	if (path || access(KURYR_DEFAULT_CONFIG, F_OK) == 0) {
		r = config_load(&cfg, path ? path : KURYR_DEFAULT_CONFIG, &err);
		if (r < 0) {
			fprintf(stderr, "kuryrd: %s\n", err);
			config_release(&cfg);
			return 1;
		}
	}
	/* Only the chosen backend's: an OS_CLOUD set for the openstack CLI
	 * does not stop an OVN node. */
	r = config_finish(&cfg, &err);
	if (r < 0) {
		fprintf(stderr, "kuryrd: %s\n", err ? err : strerror(-r));
		config_release(&cfg);
		return 1;
	}
	if (!level)
		level = cfg.log_level;
	if (log_level_from_string(level, &lvl) < 0) {
		fprintf(stderr, "kuryrd: unknown log level \"%s\" (error, warning, info, debug)\n",
			level);
		config_release(&cfg);
		return 1;
	}
	log_set_level(lvl);

	/* Every thread inherits this mask; the serve loop reads the signals
	 * from a signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	r = kuryrd_new(&cfg, &d, &err);
	if (r < 0) {
		log_err("event=start-failed error=\"%s\"", err ? err : strerror(-r));
		config_release(&cfg);
		return 1;
	}
	r = kuryrd_serve(d, &err);
	if (r < 0)
		log_err("event=serve-failed error=\"%s\"", err ? err : strerror(-r));
	kuryrd_free(d);
	config_release(&cfg);
	return r < 0 ? 1 : 0;
}
