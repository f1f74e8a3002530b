/* SPDX-License-Identifier: Apache-2.0 */
/* kuryrd's unix socket: one SOCK_SEQPACKET connection per request, each
 * answered on a thread of its own, at most [daemon] workers at once. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "cni/cni.h"
#include "daemon-private.h"
#include "json-util.h"
#include "log.h"
#include "proto/proto.h"

struct conn {
	struct kuryrd *d;
	int fd;
};

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	_cleanup_free_ char *err = NULL;
	_cleanup_json_ json_t *req = NULL, *reply = NULL;
	_cleanup_close_ int netns_fd = -1;
	int r;

	r = proto_recv_fd(c->fd, 5000, &req, &netns_fd, &err);
	if (r < 0)
		reply = reply_error(CNI_ERR_DECODE, "cannot read the request",
				    err ? err : strerror(-r));
	else
		reply = kuryrd_handle(c->d, req, netns_fd);
	r = proto_send(c->fd, reply);
	if (r < 0)
		log_warn("event=reply-failed error=\"%s\"", strerror(-r));
	close(c->fd);
	sem_post(&c->d->workers);
	free(c);
	return NULL;
}

static int listen_socket(const char *path, char **reterr_msg)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_free_ char *dir = strdup(path);
	_cleanup_close_ int fd = -1;
	char *slash;
	mode_t old;
	int r;

	if (!dir)
		return -ENOMEM;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		set_errmsg(reterr_msg, "socket path %s is too long", path);
		return -ENAMETOOLONG;
	}
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			r = -errno;
			set_errmsg(reterr_msg, "cannot create %s: %s", dir, strerror(errno));
			return r;
		}
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	(void)unlink(path);
	/* Root only: the socket hands out network access to any netns. */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0) {
		r = -errno;
		set_errmsg(reterr_msg, "cannot bind %s: %s", path, strerror(errno));
		return r;
	}
	if (listen(fd, 256) < 0)
		return -errno;
	return TAKE_FD(fd);
}

static void serve_one(struct kuryrd *d, int fd)
{
	pthread_attr_t attr;
	struct conn *c;
	pthread_t t;

	c = malloc(sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	*c = (struct conn){ .d = d, .fd = fd };
	/* At most cfg.workers requests at once; the rest queue here. */
	sem_wait(&d->workers);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&t, &attr, conn_thread, c) != 0) {
		sem_post(&d->workers);
		close(fd);
		free(c);
	}
	pthread_attr_destroy(&attr);
}

int kuryrd_serve(struct kuryrd *d, char **reterr_msg)
{
	_cleanup_close_ int lfd = -1, sfd = -1;
	struct pollfd p[2];
	sigset_t mask;
	int r;

	r = metrics_start(d, reterr_msg);
	if (r < 0)
		return r;
	lfd = listen_socket(d->cfg.socket, reterr_msg);
	if (lfd < 0)
		return lfd;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		return -errno;
	log_info("event=ready socket=%s backend=%s %s ovs=%s bridge=%s metrics=%s", d->cfg.socket,
		 d->backend->ops->name, d->backend->ops->describe(d->backend), d->cfg.ovs_db,
		 d->bridge ? bridge_name(d->bridge) : "-",
		 *d->cfg.metrics_address ? d->cfg.metrics_address : "off");
	p[0] = (struct pollfd){ .fd = lfd, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	for (;;) {
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			serve_one(d, fd);
	}
	/* Let requests in flight finish. */
	for (int i = 0; i < d->cfg.workers; i++)
		sem_wait(&d->workers);
	(void)unlink(d->cfg.socket);
	log_info("event=stopped");
	return 0;
}
