/* SPDX-License-Identifier: Apache-2.0 */
/* Background unplugs: a pre-wired entry's pod device, detached at DEL,
 * deleted here (an RCU grace period each, paid off the DEL path); then the
 * entry is ready again. */
#include <stdio.h>

#include "macro.h"
#include "pool-private.h"

void drain_queue(struct pool_mgr *m, struct drain_job *j)
{
	pthread_mutex_lock(&m->lock);
	j->next = m->jobs;
	m->jobs = j;
	pthread_cond_signal(&m->drain_wake);
	pthread_mutex_unlock(&m->lock);
}

static void drain_one(struct pool_mgr *m, struct drain_job *j)
{
	bool broken = false;

	/* No netns: the device was already gone, or not ours to touch. */
	if (j->netns_fd >= 0) {
		broken = binding_unplug(m->pp.prewire,
					&(struct binding_req){ .port = &j->port,
							       .netns_fd = j->netns_fd,
							       .ifname = j->ifname },
					&j->st, NULL) < 0;
		close(j->netns_fd);
	}
	drain_done(m, j->port.name, broken);
}

void *drain_thread(void *arg)
{
	struct pool_mgr *m = arg;

	pthread_mutex_lock(&m->lock);
	/* Queued jobs are finished even when stopping. */
	while (!m->stop || m->jobs) {
		struct drain_job *jobs;

		if (!m->jobs) {
			pthread_cond_wait(&m->drain_wake, &m->lock);
			continue;
		}
		jobs = m->jobs;
		m->jobs = NULL;
		pthread_mutex_unlock(&m->lock);
		while (jobs) {
			struct drain_job *j = jobs;

			jobs = j->next;
			drain_one(m, j);
			free(j);
		}
		pthread_mutex_lock(&m->lock);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}
