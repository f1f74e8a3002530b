/* SPDX-License-Identifier: Apache-2.0 */
/* kuryrd's unix socket: one SOCK_SEQPACKET connection per request, each
 * answered by one of at most [daemon] workers threads. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include "cni/cni.h"
#include "daemon-private.h"
#include "fs-util.h"
#include "json-util.h"
#include "log.h"
#include "proto/proto.h"

/* The workers: threads that stay, each blocked in accept() and answering
 * one connection at a time (a thread per connection cost its creation and
 * a cold stack on every ADD). One more is started whenever none is idle,
 * up to [daemon] workers; further connections wait in the backlog. */
struct server {
	struct kuryrd *d;
	int lfd;
	pthread_mutex_t lock;
	pthread_cond_t gone; /* a worker exited */
	unsigned threads, idle, max;
	bool stop;
};

static void serve_conn(struct kuryrd *d, int fd)
{
	_cleanup_free_ char *err = NULL;
	_cleanup_json_ json_t *req = NULL, *reply = NULL;
	_cleanup_close_ int netns_fd = -1;
	int r;

	r = proto_recv_fd(fd, 5000, &req, &netns_fd, &err);
	if (r < 0)
		reply = reply_error(CNI_ERR_DECODE, "cannot read the request",
				    err ? err : strerror(-r));
	else
		reply = kuryrd_handle(d, req, netns_fd);
	r = proto_send(fd, reply);
	if (r < 0)
		log_warn("event=reply-failed error=\"%s\"", strerror(-r));
}

static int worker_spawn(struct server *sv);

static void *worker(void *arg)
{
	struct server *sv = arg;

	for (;;) {
		int fd = accept4(sv->lfd, NULL, NULL, SOCK_CLOEXEC);

		pthread_mutex_lock(&sv->lock);
		if (sv->stop) {
			pthread_mutex_unlock(&sv->lock);
			if (fd >= 0)
				close(fd);
			break;
		}
		if (fd < 0) {
			pthread_mutex_unlock(&sv->lock);
			continue; /* EINTR, ECONNABORTED, EMFILE: try again */
		}
		sv->idle--;
		if (sv->idle == 0 && sv->threads < sv->max)
			(void)worker_spawn(sv);
		pthread_mutex_unlock(&sv->lock);
		serve_conn(sv->d, fd);
		close(fd);
		pthread_mutex_lock(&sv->lock);
		sv->idle++;
		pthread_mutex_unlock(&sv->lock);
	}
	pthread_mutex_lock(&sv->lock);
	sv->threads--;
	sv->idle--;
	pthread_cond_signal(&sv->gone);
	pthread_mutex_unlock(&sv->lock);
	return NULL;
}

/* With sv->lock held. */
static int worker_spawn(struct server *sv)
{
	pthread_attr_t attr;
	pthread_t t;
	int r;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	r = -pthread_create(&t, &attr, worker, sv);
	pthread_attr_destroy(&attr);
	if (r == 0) {
		sv->threads++;
		sv->idle++;
	}
	return r;
}

int kuryrd_serve(struct kuryrd *d, char **reterr_msg)
{
	_cleanup_close_ int lfd = -1, sfd = -1;
	struct server sv = { .d = d, .max = (unsigned)d->cfg.workers };
	struct pollfd p;
	sigset_t mask;
	int r;

	r = metrics_start(d, reterr_msg);
	if (r == 0)
		r = docker_start(d, reterr_msg);
	if (r < 0)
		return r;
	lfd = unix_listen(d->cfg.socket, SOCK_SEQPACKET, 256, reterr_msg);
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
	sv.lfd = lfd;
	pthread_mutex_init(&sv.lock, NULL);
	pthread_cond_init(&sv.gone, NULL);
	pthread_mutex_lock(&sv.lock);
	r = worker_spawn(&sv);
	pthread_mutex_unlock(&sv.lock);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot start a worker thread: %s", strerror(-r));
		goto out;
	}
	p = (struct pollfd){ .fd = sfd, .events = POLLIN };
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
	/* Stop: no new connections (a shut down socket wakes every accept()),
	 * the requests in flight finish. */
	pthread_mutex_lock(&sv.lock);
	sv.stop = true;
	pthread_mutex_unlock(&sv.lock);
	shutdown(lfd, SHUT_RDWR);
	pthread_mutex_lock(&sv.lock);
	while (sv.threads)
		pthread_cond_wait(&sv.gone, &sv.lock);
	pthread_mutex_unlock(&sv.lock);
	(void)unlink(d->cfg.socket);
	log_info("event=stopped");
out:
	pthread_cond_destroy(&sv.gone);
	pthread_mutex_destroy(&sv.lock);
	return r;
}
