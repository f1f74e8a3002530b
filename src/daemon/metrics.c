/* SPDX-License-Identifier: Apache-2.0 */
/* /metrics (Prometheus text) over HTTP, served by libmicrohttpd on
 * [daemon] metrics_address, and the counters it reports. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdio.h>

#include "daemon-private.h"
#include "log.h"

static const double add_buckets[ADD_BUCKETS] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
						 0.1,	0.25,	0.5,   1,    2.5,   5 };
static const char *const op_names[M_N] = { "add", "del", "check", "status", "gc", "other" };

void metrics_count_request(struct kuryrd *d, enum metric_op op, bool error)
{
	atomic_fetch_add(&d->m.requests[op][error ? 1 : 0], 1);
}

void metrics_observe_add(struct kuryrd *d, uint64_t us)
{
	size_t i;

	for (i = 0; i < ADD_BUCKETS && (double)us / 1e6 > add_buckets[i]; i++)
		;
	atomic_fetch_add(&d->m.add_bucket[i], 1);
	atomic_fetch_add(&d->m.add_sum_us, us);
	atomic_fetch_add(&d->m.add_count, 1);
}

static void write_metrics(struct kuryrd *d, FILE *f)
{
	unsigned long cum = 0;
	int n;

	fprintf(f, "# HELP kuryr_cni_requests_total CNI requests served, by verb and outcome.\n"
		   "# TYPE kuryr_cni_requests_total counter\n");
	for (size_t i = 0; i < M_N; i++)
		for (int e = 0; e < 2; e++)
			fprintf(f, "kuryr_cni_requests_total{op=\"%s\",result=\"%s\"} %lu\n",
				op_names[i], e ? "error" : "ok", atomic_load(&d->m.requests[i][e]));
	n = store_count(d->store);
	fprintf(f,
		"# HELP kuryr_attachments Containers attached on this node.\n"
		"# TYPE kuryr_attachments gauge\nkuryr_attachments %d\n"
		"# HELP kuryr_add_duration_seconds Time to answer a CNI ADD.\n"
		"# TYPE kuryr_add_duration_seconds histogram\n",
		n < 0 ? 0 : n);
	for (size_t i = 0; i <= ADD_BUCKETS; i++) {
		cum += atomic_load(&d->m.add_bucket[i]);
		if (i < ADD_BUCKETS)
			fprintf(f, "kuryr_add_duration_seconds_bucket{le=\"%g\"} %lu\n",
				add_buckets[i], cum);
		else
			fprintf(f, "kuryr_add_duration_seconds_bucket{le=\"+Inf\"} %lu\n", cum);
	}
	fprintf(f, "kuryr_add_duration_seconds_sum %.6f\nkuryr_add_duration_seconds_count %lu\n",
		(double)atomic_load(&d->m.add_sum_us) / 1e6, atomic_load(&d->m.add_count));
	if (d->pool)
		pool_write_metrics(d->pool, f);
	if (d->backend->ops->write_metrics)
		d->backend->ops->write_metrics(d->backend, f);
}

static enum MHD_Result http_handler(void *cls, struct MHD_Connection *conn, const char *url,
				    const char *method, const char *version,
				    const char *upload_data, size_t *upload_size, void **ptr)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *body = NULL;
	size_t len = 0;
	FILE *f;

	if (!streq(method, "GET"))
		return MHD_NO;
	if (!streq(url, "/metrics")) {
		static const char nf[] = "not found: try /metrics\n";

		resp = MHD_create_response_from_buffer(sizeof(nf) - 1, (void *)nf,
						       MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(conn, MHD_HTTP_NOT_FOUND, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	f = open_memstream(&body, &len);
	if (!f)
		return MHD_NO;
	write_metrics(cls, f);
	fclose(f);
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

int metrics_start(struct kuryrd *d, char **reterr_msg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *addr = d->cfg.metrics_address;
	const char *colon = strrchr(addr, ':');
	char host[64];
	unsigned port;

	if (!*addr)
		return 0;
	if (!colon || (size_t)(colon - addr) >= sizeof(host) ||
	    sscanf(colon + 1, "%u", &port) != 1 || port == 0 || port > 65535)
		goto bad;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		goto bad;
	sa.sin_port = htons((uint16_t)port);
	d->http = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
				   (uint16_t)port, NULL, NULL, http_handler, d,
				   MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
	if (!d->http) {
		set_errmsg(reterr_msg, "cannot serve metrics on %s", addr);
		return -EADDRINUSE;
	}
	return 0;
bad:
	set_errmsg(reterr_msg, "metrics_address \"%s\" is not IPv4:PORT", addr);
	return -EINVAL;
}

void metrics_stop(struct kuryrd *d)
{
	if (d->http)
		MHD_stop_daemon(d->http);
	d->http = NULL;
}
