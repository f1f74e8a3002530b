/* SPDX-License-Identifier: Apache-2.0 */
/* IpamDriver: the backend's IPAM behind Docker's. A pool is a subnet
 * Docker will make a network of (RequestPool comes before CreateNetwork,
 * which links them); the gateway and auxiliary addresses asked before
 * that are only noted. A container's address is its port's: RequestAddress
 * makes the port (or takes one from the network's pool, no backend call)
 * and answers with what the backend gave it. IPv4 only: Docker asks for
 * each family separately and cannot say which IPv4 request an IPv6 one
 * belongs to, so a dual-stack network uses Docker's default IPAM with
 * -d kuryr (CreateEndpoint then makes the port with both addresses).
 * --ip-range becomes the backend subnet's allocation range. */
#include <arpa/inet.h>
#include <stdio.h>

#include "docker-private.h"
#include "json-util.h"
#include "log.h"

/* "10.0.0.0/24" → "10.0.0.1": the pool's first host. */
static int first_host(const char *cidr, char out[INET_ADDRSTRLEN])
{
	struct in_addr a;
	uint32_t net;
	uint8_t len;

	if (cidr4_parse(cidr, &net, &len) < 0)
		return -EINVAL;
	a.s_addr = htonl(net + 1);
	return inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN) ? 0 : -EINVAL;
}

static bool pool_taken(struct store_record *recs, size_t n, const char *cidr)
{
	for (size_t i = 0; i < n; i++) {
		_cleanup_json_ json_t *v = json_loads(recs[i].value, 0, NULL);

		if (streq_ptr(json_object_get_str(v, "pool"), cidr))
			return true;
	}
	return false;
}

/* A /24 of [docker] subnet_pool that no pool of ours has. */
static int pick_subnet(struct kuryrd *d, char out[32], char **reterr_msg)
{
	struct store_record *recs = NULL;
	size_t n = 0;
	uint32_t net;
	uint8_t len;
	int r;

	if (cidr4_parse(d->cfg.docker_subnet_pool, &net, &len) < 0 || len > 24) {
		set_errmsg(reterr_msg,
			   "[docker] subnet_pool %s is not an IPv4 prefix of /24 or wider",
			   d->cfg.docker_subnet_pool);
		return -EINVAL;
	}
	r = store_record_list(d->store, DOCKER_KIND_POOL, &recs, &n);
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot read the store: %s", strerror(-r));
		return r;
	}
	r = -ENOSPC;
	for (uint32_t i = 0; i < (1u << (24 - len)); i++) {
		struct in_addr a = { .s_addr = htonl(net + (i << 8)) };
		char ip[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &a, ip, sizeof(ip));
		snprintf(out, 32, "%s/24", ip);
		if (!pool_taken(recs, n, out)) {
			r = 0;
			break;
		}
	}
	store_records_free(recs, n);
	if (r < 0)
		set_errmsg(reterr_msg, "every /24 of [docker] subnet_pool %s is in use",
			   d->cfg.docker_subnet_pool);
	return r;
}

json_t *docker_request_pool(struct kuryrd *d, json_t *body, char **reterr_msg)
{
	const char *pool = json_object_get_str(body, "Pool");
	const char *sub = json_object_get_str(body, "SubPool");
	char cidr[32], key[DOCKER_KEY_LEN + 1], id[96];
	_cleanup_json_ json_t *rec = NULL;
	uint32_t net;
	uint8_t len;
	int r;

	if (json_is_true(json_object_get(body, "V6"))) {
		set_errmsg(reterr_msg, "kuryr's IPAM serves IPv4 pools; for IPv6 use Docker's "
				       "default IPAM driver with -d kuryr");
		return NULL;
	}
	if (pool && *pool) {
		if (cidr4_parse(pool, &net, &len) < 0) {
			set_errmsg(reterr_msg, "pool %s is not an IPv4 prefix", pool);
			return NULL;
		}
		snprintf(cidr, sizeof(cidr), "%s", pool);
	} else if (pick_subnet(d, cidr, reterr_msg) < 0)
		return NULL;
	/* --ip-range: the backend's IPAM hands out that part only. */
	if (sub && *sub) {
		struct ip4_span al[2], ex[3];
		unsigned na, ne;

		if (backend_ip_range(cidr, sub, NULL, al, &na, ex, &ne, reterr_msg) < 0)
			return NULL;
	}
	docker_key_new(key);
	snprintf(id, sizeof(id), "kuryr/%.8s/%s", key, cidr);
	rec = json_pack("{s:s, s:s, s:s, s:s}", "pool", cidr, "gateway", "", "network", "",
			"ip_range", sub ? sub : "");
	r = rec ? docker_record_put(d, DOCKER_KIND_POOL, id, rec) : -ENOMEM;
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot record the pool: %s", strerror(-r));
		return NULL;
	}
	log_info("event=docker-pool pool=%s", id);
	return json_pack("{s:s, s:s, s:{}}", "PoolID", id, "Pool", cidr, "Data");
}

json_t *docker_release_pool(struct kuryrd *d, json_t *body, char **reterr_msg)
{
	const char *id = json_object_get_str(body, "PoolID");

	if (id)
		docker_record_delete(d, DOCKER_KIND_POOL, id);
	return json_object();
}

/* "ADDR" of pool @cidr as "ADDR/LEN". */
static json_t *address_reply(const char *ip, const char *cidr)
{
	const char *slash = strchr(cidr, '/');
	char a[80];

	snprintf(a, sizeof(a), "%s%s", ip, slash ? slash : "");
	return json_pack("{s:s, s:{}}", "Address", a, "Data");
}

json_t *docker_request_address(struct kuryrd *d, json_t *body, char **reterr_msg)
{
	const char *id = json_object_get_str(body, "PoolID");
	const char *want = json_object_get_str(body, "Address");
	const char *type =
	    json_object_get_str(json_object_get(body, "Options"), "RequestAddressType");
	_cleanup_json_ json_t *pool = docker_record_get(d, DOCKER_KIND_POOL, id), *net = NULL,
			      *rec = NULL;
	const char *cidr = json_object_get_str(pool, "pool");
	const char *nid = json_object_get_str(pool, "network");
	char key[DOCKER_KEY_LEN + 1], rid[160], ip[48];
	struct attachment a;
	uint8_t len;
	int r;

	if (!cidr) {
		set_errmsg(reterr_msg, "unknown pool %s", id ? id : "(none)");
		return NULL;
	}
	if (want && !*want)
		want = NULL;
	if (want && inet_pton(AF_INET, want, &(struct in_addr){ 0 }) != 1) {
		set_errmsg(reterr_msg, "%s is not an IPv4 address", want);
		return NULL;
	}
	if (streq_ptr(type, "com.docker.network.gateway")) {
		char gw[INET_ADDRSTRLEN];

		if (!want && first_host(cidr, gw) < 0) {
			set_errmsg(reterr_msg, "pool %s has no host address", cidr);
			return NULL;
		}
		json_object_set_new(pool, "gateway", json_string(want ? want : gw));
		r = docker_record_put(d, DOCKER_KIND_POOL, id, pool);
		if (r < 0) {
			set_errmsg(reterr_msg, "cannot record the gateway: %s", strerror(-r));
			return NULL;
		}
		return address_reply(want ? want : gw, cidr);
	}
	/* Before its network exists (an auxiliary address): noted by
	 * Docker, nothing to reserve yet. */
	if (!nid || !*nid) {
		if (!want) {
			set_errmsg(reterr_msg, "pool %s has no network yet", id);
			return NULL;
		}
		return address_reply(want, cidr);
	}
	net = docker_record_get(d, DOCKER_KIND_NETWORK, nid);
	if (!net) {
		set_errmsg(reterr_msg, "pool %s: its network %.12s is gone", id, nid);
		return NULL;
	}
	docker_key_new(key);
	r = docker_port_attach(
	    d,
	    &(struct docker_port_req){
		.key = key, .network = net, .ip = want, .label = "docker (address reserved)" },
	    &a, reterr_msg);
	if (r < 0)
		return NULL;
	if (addr_split(a.address, ip, sizeof(ip), &len) < 0 || !*ip) {
		set_errmsg(reterr_msg, "the backend gave port %s no IPv4 address", a.port);
		goto undo;
	}
	snprintf(rid, sizeof(rid), "%s %s", id, ip);
	rec = json_pack("{s:s}", "key", key);
	r = rec ? docker_record_put(d, DOCKER_KIND_ADDRESS, rid, rec) : -ENOMEM;
	if (r < 0) {
		set_errmsg(reterr_msg, "cannot record the address: %s", strerror(-r));
		goto undo;
	}
	log_info("event=docker-address pool=%s ip=%s port=%s", id, ip, a.port);
	return json_pack("{s:s, s:{}}", "Address", a.address, "Data");
undo:
	(void)docker_port_detach(d, key, NULL);
	return NULL;
}

json_t *docker_release_address(struct kuryrd *d, json_t *body, char **reterr_msg)
{
	const char *id = json_object_get_str(body, "PoolID");
	const char *ip = json_object_get_str(body, "Address");
	_cleanup_json_ json_t *pool = docker_record_get(d, DOCKER_KIND_POOL, id), *rec = NULL;
	const char *key;
	char rid[160];

	if (!pool || !ip)
		return json_object(); /* nothing of ours */
	if (streq_ptr(json_object_get_str(pool, "gateway"), ip)) {
		json_object_set_new(pool, "gateway", json_string(""));
		(void)docker_record_put(d, DOCKER_KIND_POOL, id, pool);
		return json_object();
	}
	snprintf(rid, sizeof(rid), "%s %s", id, ip);
	rec = docker_record_get(d, DOCKER_KIND_ADDRESS, rid);
	key = json_object_get_str(rec, "key");
	if (!key)
		return json_object(); /* an auxiliary address */
	if (docker_port_detach(d, key, reterr_msg) < 0)
		return NULL;
	docker_record_delete(d, DOCKER_KIND_ADDRESS, rid);
	log_info("event=docker-address-released pool=%s ip=%s", id, ip);
	return json_object();
}
