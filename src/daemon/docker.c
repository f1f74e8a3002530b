/* SPDX-License-Identifier: Apache-2.0 */
/* The Docker plugin socket: libnetwork's remote driver protocol (POST
 * /Method with a JSON body, a JSON reply, {"Err": ...} on failure) over
 * HTTP on a unix socket, served by libmicrohttpd, one thread per
 * connection (dockerd keeps its connections open and a call may wait for
 * a port to come up). Also the records both drivers keep, the endpoint's
 * port as an attachment, and what a restart finds. */
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "cni/cni.h"
#include "docker-private.h"
#include "fs-util.h"
#include "json-util.h"
#include "log.h"
#include "time-util.h"

#define DOCKER_MAX_BODY	      (1 << 20)
/* dockerd asks for an endpoint's address and creates it within
 * milliseconds: an address unclaimed this long is no one's. */
#define DOCKER_RESERVED_MAX_S 300
/* dockerd moves a joined endpoint's device into the container within
 * this: found here later, it came back without a Leave. */
#define DOCKER_JOIN_MOVE_S    10

static json_t *activate(struct kuryrd *d, json_t *body, char **reterr_msg)
{
	return json_pack("{s:[s,s]}", "Implements", "NetworkDriver", "IpamDriver");
}

/* Networks span nodes (the backend's), endpoints are this node's. */
static json_t *network_caps(struct kuryrd *d, json_t *body, char **reterr_msg)
{
	return json_pack("{s:s, s:s}", "Scope", "local", "ConnectivityScope", "global");
}

/* No MAC at RequestAddress (docker would then make one up for every
 * container, and a pool's port has its own); kuryrd keeps its pools, so
 * no replay after a restart. */
static json_t *ipam_caps(struct kuryrd *d, json_t *body, char **reterr_msg)
{
	return json_pack("{s:b, s:b}", "RequiresMACAddress", 0, "RequiresRequestReplay", 0);
}

static json_t *address_spaces(struct kuryrd *d, json_t *body, char **reterr_msg)
{
	return json_pack("{s:s, s:s}", "LocalDefaultAddressSpace", "kuryr-local",
			 "GlobalDefaultAddressSpace", "kuryr-global");
}

/* Calls with nothing to do here: external connectivity is the backend's
 * routers', discovery and global allocation are swarm's. */
static json_t *nothing(struct kuryrd *d, json_t *body, char **reterr_msg)
{
	return json_object();
}

static const struct {
	const char *path;
	docker_method_fn fn;
} methods[] = {
	{ "/Plugin.Activate", activate },
	{ "/NetworkDriver.GetCapabilities", network_caps },
	{ "/NetworkDriver.CreateNetwork", docker_create_network },
	{ "/NetworkDriver.DeleteNetwork", docker_delete_network },
	{ "/NetworkDriver.CreateEndpoint", docker_create_endpoint },
	{ "/NetworkDriver.EndpointOperInfo", docker_endpoint_info },
	{ "/NetworkDriver.DeleteEndpoint", docker_delete_endpoint },
	{ "/NetworkDriver.Join", docker_join },
	{ "/NetworkDriver.Leave", docker_leave },
	{ "/NetworkDriver.ProgramExternalConnectivity", nothing },
	{ "/NetworkDriver.RevokeExternalConnectivity", nothing },
	{ "/NetworkDriver.DiscoverNew", nothing },
	{ "/NetworkDriver.DiscoverDelete", nothing },
	{ "/NetworkDriver.AllocateNetwork", nothing },
	{ "/NetworkDriver.FreeNetwork", nothing },
	{ "/IpamDriver.GetCapabilities", ipam_caps },
	{ "/IpamDriver.GetDefaultAddressSpaces", address_spaces },
	{ "/IpamDriver.RequestPool", docker_request_pool },
	{ "/IpamDriver.ReleasePool", docker_release_pool },
	{ "/IpamDriver.RequestAddress", docker_request_address },
	{ "/IpamDriver.ReleaseAddress", docker_release_address },
};

/* ---- HTTP ---- */

struct upload {
	char *buf;
	size_t len;
	bool too_big;
};

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, json_t *reply)
{
	char *text = json_dumps(reply, JSON_COMPACT);
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (!text)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/vnd.docker.plugins.v1.2+json");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result respond_err(struct MHD_Connection *conn, unsigned status, const char *msg)
{
	_cleanup_json_ json_t *e = json_pack("{s:s}", "Err", msg);

	return respond(conn, status, e);
}

static json_t *call(struct kuryrd *d, const char *url, const struct upload *up, unsigned *status,
		    char **reterr_msg)
{
	json_error_t jerr;
	_cleanup_json_ json_t *body = NULL;

	for (size_t i = 0; i < ELEMENTSOF(methods); i++) {
		if (!streq(url, methods[i].path))
			continue;
		/* Go's encoder: an object, a trailing newline; the handshake's
		 * calls have no body at all. */
		if (up->len) {
			body = json_loadb(up->buf, up->len, 0, &jerr);
			if (!json_is_object(body)) {
				set_errmsg(reterr_msg, "%s: the body is not a JSON object: %s",
					   url + 1, body ? "not an object" : jerr.text);
				*status = MHD_HTTP_BAD_REQUEST;
				return NULL;
			}
		} else
			body = json_object();
		*status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		return methods[i].fn(d, body, reterr_msg);
	}
	/* dockerd takes a 404 for "not implemented". */
	*status = MHD_HTTP_NOT_FOUND;
	set_errmsg(reterr_msg, "%s: no such method", url);
	return NULL;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_size, void **ptr)
{
	struct kuryrd *d = cls;
	struct upload *up = *ptr;
	_cleanup_free_ char *err = NULL;
	_cleanup_json_ json_t *reply = NULL;
	unsigned status = MHD_HTTP_OK;
	uint64_t t0;

	if (!up) {
		up = calloc(1, sizeof(*up));
		if (!up)
			return MHD_NO;
		*ptr = up;
		return MHD_YES;
	}
	if (*upload_size) {
		if (up->len + *upload_size > DOCKER_MAX_BODY)
			up->too_big = true;
		else {
			char *nb = realloc(up->buf, up->len + *upload_size);

			if (!nb)
				return MHD_NO;
			memcpy(nb + up->len, upload_data, *upload_size);
			up->buf = nb;
			up->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (!streq(method, "POST"))
		return respond_err(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				   "the plugin API takes POST requests only");
	if (up->too_big)
		return respond_err(conn, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
	t0 = now_us();
	reply = call(d, url, up, &status, &err);
	if (reply) {
		log_debug("event=docker-call method=%s us=%" PRIu64, url + 1, now_us() - t0);
		return respond(conn, MHD_HTTP_OK, reply);
	}
	log_warn("event=docker-call-failed method=%s us=%" PRIu64 ": %s", url + 1, now_us() - t0,
		 err ? err : "");
	return respond_err(conn, status, err ? err : "failed");
}

static void completed(void *cls, struct MHD_Connection *conn, void **ptr,
		      enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *ptr;

	if (up)
		free(up->buf);
	free(up);
	*ptr = NULL;
}

/* ---- records ---- */

json_t *docker_record_get(struct kuryrd *d, const char *kind, const char *id)
{
	_cleanup_free_ char *text = NULL;

	if (!id || store_record_get(d->store, kind, id, &text) < 0)
		return NULL;
	return json_loads(text, 0, NULL);
}

int docker_record_put(struct kuryrd *d, const char *kind, const char *id, json_t *value)
{
	_cleanup_free_ char *text = json_dumps(value, JSON_COMPACT);

	if (!text)
		return -ENOMEM;
	return store_record_put(d->store, kind, id, text);
}

void docker_record_delete(struct kuryrd *d, const char *kind, const char *id)
{
	int r = store_record_delete(d->store, kind, id);

	if (r < 0)
		log_warn("event=docker-record-delete-failed kind=%s id=%s: %s", kind, id,
			 strerror(-r));
}

/* ---- an endpoint's port ---- */

void docker_key_new(char key[DOCKER_KEY_LEN + 1])
{
	char u[UUID_STR_LEN];
	size_t n = 0;

	uuid_random(u);
	for (const char *p = u; *p && n < DOCKER_KEY_LEN; p++)
		if (*p != '-')
			key[n++] = *p;
	key[n] = 0;
}

void docker_row_ids(const char *key, char cid[64], char ifname[16])
{
	snprintf(cid, 64, DOCKER_ROW_PREFIX "%s", key);
	snprintf(ifname, 16, "kyr%.12s", key);
}

int docker_port_get(struct kuryrd *d, const char *key, struct attachment *ret)
{
	char cid[64], ifname[16];

	docker_row_ids(key, cid, ifname);
	return store_get(d->store, cid, ifname, ret);
}

/* A CNI error reply's words, for dockerd's Err. */
static void reply_message(json_t *reply, char **reterr_msg)
{
	json_t *e = json_object_get(reply, "error");
	const char *msg = json_object_get_str(e, "msg"), *det = json_object_get_str(e, "details");

	set_errmsg(reterr_msg, "%s%s%s", msg ? msg : "failed", det ? ": " : "", det ? det : "");
}

int docker_port_attach(struct kuryrd *d, const struct docker_port_req *req, struct attachment *ret,
		       char **reterr_msg)
{
	json_t *net = req->network;
	const char *network = json_object_get_str(net, "network");
	_cleanup_json_ json_t *conf = NULL, *reply = NULL;
	json_t *rc = json_object(), *ips = json_array(), *v;
	char cid[64], ifname[16];
	struct cni_req c;

	docker_row_ids(req->key, cid, ifname);
	conf = json_pack("{s:s, s:s, s:s, s:o}", "cniVersion", CNI_VERSION_LATEST, "name", "docker",
			 "network", network ? network : "", "runtimeConfig", rc);
	if (!conf)
		return -ENOMEM;
	if (req->ip && *req->ip)
		json_array_append_new(ips, json_string(req->ip));
	if (req->ip6 && *req->ip6)
		json_array_append_new(ips, json_string(req->ip6));
	if (json_array_size(ips))
		json_object_set(rc, "ips", ips);
	json_decref(ips);
	if (req->mac && *req->mac)
		json_object_set_new(rc, "mac", json_string(req->mac));
	if ((v = json_object_get(req->policies, "security_groups")
		     ?: json_object_get(net, "security_groups")))
		json_object_set(conf, "security_groups", v);
	if ((v = json_object_get(req->policies, "qos_policy")
		     ?: json_object_get(net, "qos_policy")))
		json_object_set(conf, "qos_policy", v);
	c = (struct cni_req){ .op = "ADD",
			      .version = CNI_VERSION_LATEST,
			      .cid = cid,
			      .ifname = ifname,
			      .netns = req->label,
			      .netns_fd = d->docker->netns_fd,
			      .network = network ? network : "",
			      .conf = conf,
			      .handed_over = true };
	reply = cni_add(d, &c);
	if (json_object_get(reply, "error")) {
		reply_message(reply, reterr_msg);
		return -EIO;
	}
	return store_get(d->store, cid, ifname, ret);
}

int docker_port_discard(struct kuryrd *d, const char *key, char **reterr_msg)
{
	char cid[64], ifname[16];

	docker_row_ids(key, cid, ifname);
	return attachment_discard(d, cid, ifname, d->docker->netns_fd, reterr_msg);
}

int docker_port_detach(struct kuryrd *d, const char *key, char **reterr_msg)
{
	_cleanup_json_ json_t *reply = NULL;
	char cid[64], ifname[16];

	docker_row_ids(key, cid, ifname);
	/* dockerd has moved the device back out of the container into our
	 * netns by now, where a pool's entry is detached and reused. */
	reply = attachment_del(d, cid, ifname, d->docker->netns_fd);
	if (reply) {
		reply_message(reply, reterr_msg);
		return -EIO;
	}
	return 0;
}

/* ---- start, stop, and after a restart ---- */

/* The records that name an endpoint's key: its address's (kuryr's IPAM)
 * and its endpoint's. */
static const char *const keyed_kinds[] = { DOCKER_KIND_ADDRESS, DOCKER_KIND_ENDPOINT };

/* A keyed record: its kind, id, value and the key it names (or NULL). */
struct keyed {
	const char *kind;
	const struct store_record *rec;
	json_t *value;
	const char *key;
};

/* Call @cb for every record of @kinds; a nonzero return stops the walk
 * and is returned; -errno if the store cannot be read. */
static int foreach_keyed(struct kuryrd *d, const char *const *kinds, size_t n_kinds,
			 int (*cb)(struct kuryrd *d, const struct keyed *k, void *userdata),
			 void *userdata)
{
	int r = 0;

	for (size_t i = 0; i < n_kinds && r == 0; i++) {
		struct store_record *recs = NULL;
		size_t n = 0;

		r = store_record_list(d->store, kinds[i], &recs, &n);
		for (size_t j = 0; j < n && r == 0; j++) {
			_cleanup_json_ json_t *v = json_loads(recs[j].value, 0, NULL);
			struct keyed k = { kinds[i], &recs[j], v, json_object_get_str(v, "key") };

			r = cb(d, &k, userdata);
		}
		store_records_free(recs, n);
	}
	return r;
}

struct key_match {
	const char *key;
	json_t *found; /* the first match's value, referenced */
	bool delete;   /* delete every match instead */
};

static int match_key(struct kuryrd *d, const struct keyed *k, void *userdata)
{
	struct key_match *m = userdata;

	if (!streq_ptr(k->key, m->key))
		return 0;
	if (m->delete) {
		docker_record_delete(d, k->kind, k->rec->id);
		return 0;
	}
	m->found = json_incref(k->value);
	return 1;
}

/* The record of @kinds that names @key, in *ret (NULL: none); -errno if
 * the store cannot say. */
static int record_of_key(struct kuryrd *d, const char *const *kinds, size_t n_kinds,
			 const char *key, json_t **ret)
{
	struct key_match m = { .key = key };
	int r = foreach_keyed(d, kinds, n_kinds, match_key, &m);

	*ret = m.found;
	return r < 0 ? r : 0;
}

/* Drop the records that name endpoint key @key. */
static void forget_key(struct kuryrd *d, const char *key)
{
	struct key_match m = { .key = key, .delete = true };

	(void)foreach_keyed(d, keyed_kinds, ELEMENTSOF(keyed_kinds), match_key, &m);
}

static int drop_if_rowless(struct kuryrd *d, const struct keyed *k, void *userdata)
{
	struct attachment a;

	if (k->key && docker_port_get(d, k->key, &a) == -ENOENT)
		docker_record_delete(d, k->kind, k->rec->id);
	return 0;
}

/* The endpoint key of a Docker endpoint's row, or NULL for another row. */
static const char *row_key(const struct attachment *a)
{
	size_t n = strlen(DOCKER_ROW_PREFIX);

	return strncmp(a->container_id, DOCKER_ROW_PREFIX, n) ? NULL : a->container_id + n;
}

/* What a crash left: rows no record names (kuryrd died between the row
 * and its record: dockerd saw the call fail and never comes back for
 * it), and records whose row is gone (a rolled back ADD). */
static void docker_recover(struct kuryrd *d)
{
	_cleanup_free_ struct attachment *rows = NULL;
	size_t n = 0;

	if (store_list(d->store, &rows, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *key = row_key(&rows[i]);
		_cleanup_json_ json_t *rec = NULL;
		_cleanup_free_ char *err = NULL;

		/* A store that cannot say keeps the row. */
		if (!key || record_of_key(d, keyed_kinds, ELEMENTSOF(keyed_kinds), key, &rec) < 0 ||
		    rec)
			continue;
		log_info("event=docker-recover-orphan port=%s", rows[i].port);
		if (docker_port_detach(d, key, &err) < 0)
			log_warn("event=docker-recover-failed port=%s: %s", rows[i].port,
				 err ? err : "");
	}
	(void)foreach_keyed(d, keyed_kinds, ELEMENTSOF(keyed_kinds), drop_if_rowless, NULL);
}

/* Why finished Docker row @a is no one's any more, or NULL. */
static const char *orphaned(struct kuryrd *d, const struct attachment *a, const char *key,
			    time_t now)
{
	static const char *const ep_kind[] = { DOCKER_KIND_ENDPOINT };
	_cleanup_json_ json_t *ep = NULL;
	json_int_t joined;

	if (record_of_key(d, ep_kind, 1, key, &ep) < 0)
		return NULL;
	joined = json_integer_value(json_object_get(ep, "joined"));
	if (attachment_gone(d, a))
		return "its container is gone";
	if (!ep && now - a->created > DOCKER_RESERVED_MAX_S)
		return "reserved, and no endpoint came for it";
	/* Joined, and its device back here without a Leave: dockerd removed
	 * the container while we could not be told. */
	if (joined && now - joined > DOCKER_JOIN_MOVE_S && device_here(a->ifname))
		return "dockerd took it out of its container without a Leave";
	return NULL;
}

void docker_sweep(struct kuryrd *d)
{
	_cleanup_free_ struct attachment *rows = NULL;
	time_t now = time(NULL);
	size_t n = 0;

	if (store_list(d->store, &rows, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct attachment *a = &rows[i];
		const char *key = row_key(a), *why;
		_cleanup_free_ char *err = NULL;

		if (!key || a->state != ATTACH_DONE || !(why = orphaned(d, a, key, now)))
			continue;
		if (docker_port_detach(d, key, &err) < 0) {
			log_warn("event=docker-sweep-failed port=%s: %s", a->port, err ? err : "");
			continue;
		}
		forget_key(d, key);
		log_info("event=docker-swept port=%s address=%s: %s", a->port, a->address, why);
	}
}

int docker_start(struct kuryrd *d, char **reterr_msg)
{
	_cleanup_close_ int lfd = -1;
	struct docker *dk;
	int r;

	if (!d->cfg.docker_enabled)
		return 0;
	dk = calloc(1, sizeof(*dk));
	if (!dk)
		return -ENOMEM;
	dk->d = d;
	dk->netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (dk->netns_fd < 0) {
		r = -errno;
		set_errmsg(reterr_msg, "cannot open kuryrd's own netns: %s", strerror(errno));
		free(dk);
		return r;
	}
	__atomic_store_n(&d->docker, dk, __ATOMIC_RELEASE);
	docker_recover(d);
	docker_sweep(d);
	lfd = unix_listen(d->cfg.docker_socket, SOCK_STREAM | SOCK_NONBLOCK, 64, reterr_msg);
	if (lfd < 0)
		return lfd;
	dk->http = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, handler, d, MHD_OPTION_LISTEN_SOCKET, lfd, MHD_OPTION_NOTIFY_COMPLETED,
	    completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, 0U, MHD_OPTION_END);
	if (!dk->http) {
		set_errmsg(reterr_msg, "cannot serve the Docker plugin API on %s",
			   d->cfg.docker_socket);
		return -EIO;
	}
	TAKE_FD(lfd); /* the daemon's now */
	log_info("event=docker-ready socket=%s", d->cfg.docker_socket);
	return 0;
}

void docker_stop(struct kuryrd *d)
{
	struct docker *dk = d->docker;

	if (!dk)
		return;
	if (dk->http) {
		MHD_stop_daemon(dk->http);
		(void)unlink(d->cfg.docker_socket);
	}
	if (dk->netns_fd >= 0)
		close(dk->netns_fd);
	free(dk);
	__atomic_store_n(&d->docker, NULL, __ATOMIC_RELEASE);
}
