/* SPDX-License-Identifier: Apache-2.0 */
/* Backend "neutron": containers get real OpenStack Neutron ports, through
 * the Neutron API v2.0 (libcurl + jansson). This first cut speaks to a
 * neutron-server with auth_strategy=noauth at an explicit endpoint; the
 * ML2 driver (ML2/OVN here) programs the datapath, kuryrd plugs the port.
 *
 * Mapping:
 *   network -> Neutron network (by name) with its first IPv4 subnet
 *   port    -> Neutron port, device_owner "compute:kuryr",
 *              binding:host_id this node, name = the id kuryrd chose before
 *              creating it (so a port whose creation outcome was lost is
 *              still found and deleted); kuryr_port.name is Neutron's id,
 *              which is also the OVS iface-id ML2/OVN expects.
 *   pool    -> device_owner "compute:kuryr", no device_id. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "backend.h"
#include "json-util.h"

#define HTTP_TIMEOUT_MS 10000
#define DEVICE_OWNER	"compute:kuryr"

struct neutron_backend {
	struct backend base;
	char *endpoint; /* "http://127.0.0.1:9696" (no /v2.0) */
	char *project;
	char *host;
	bool last_ok;
};

static struct neutron_backend *to_neutron(struct backend *b)
{
	return (struct neutron_backend *)b;
}

struct buf {
	char *data;
	size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *userdata)
{
	struct buf *b = userdata;
	size_t add = size * n;
	char *nd;

	if (b->len + add > 64u * 1024 * 1024)
		return 0;
	nd = realloc(b->data, b->len + add + 1);
	if (!nd)
		return 0;
	memcpy(nd + b->len, p, add);
	b->data = nd;
	b->len += add;
	b->data[b->len] = 0;
	return add;
}

static int http_to_errno(long code)
{
	if (code >= 200 && code < 300)
		return 0;
	switch (code) {
	case 400:
		return -EINVAL;
	case 401:
	case 403:
		return -EACCES;
	case 404:
		return -ENOENT;
	case 409:
		return -EEXIST;
	case 413:
		return -E2BIG;
	case 503:
	case 429:
		return -EAGAIN;
	default:
		return -EIO;
	}
}

/* One API call. @body (stolen) may be NULL. *ret gets the decoded reply
 * (NULL for 204). Neutron's fault message goes to *reterr_msg. Idempotent
 * requests (GET, DELETE) are retried on connection errors and 5xx. */
static int api_t(struct neutron_backend *nb, const char *method, const char *path, json_t *body,
		 long timeout_ms, json_t **ret, char **reterr_msg);

static int api(struct neutron_backend *nb, const char *method, const char *path, json_t *body,
	       json_t **ret, char **reterr_msg)
{
	return api_t(nb, method, path, body, HTTP_TIMEOUT_MS, ret, reterr_msg);
}

static int api_t(struct neutron_backend *nb, const char *method, const char *path, json_t *body,
		 long timeout_ms, json_t **ret, char **reterr_msg)
{
	_cleanup_free_ char *url = NULL, *payload = NULL;
	bool idempotent = streq(method, "GET") || streq(method, "DELETE");
	int attempts = idempotent ? 4 : 1, r = -EIO;

	if (asprintf(&url, "%s/v2.0%s", nb->endpoint, path) < 0) {
		json_decref(body);
		return -ENOMEM;
	}
	if (body) {
		payload = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (!payload)
			return -ENOMEM;
	}
	for (int a = 0; a < attempts; a++) {
		struct buf b = { 0 };
		struct curl_slist *h = NULL;
		CURL *c = curl_easy_init();
		CURLcode cc;
		long code = 0;

		if (!c)
			return -ENOMEM;
		h = curl_slist_append(h, "Content-Type: application/json");
		h = curl_slist_append(h, "Accept: application/json");
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
		curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		if (payload)
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
		cc = curl_easy_perform(c);
		if (cc == CURLE_OK)
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		curl_slist_free_all(h);
		curl_easy_cleanup(c);

		if (cc != CURLE_OK) {
			r = cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
			set_errmsg(reterr_msg, "%s %s: %s", method, path, curl_easy_strerror(cc));
		} else {
			r = http_to_errno(code);
			if (r < 0) {
				_cleanup_json_ json_t *fault =
				    json_loads(b.data ? b.data : "", 0, NULL);
				const char *msg = json_object_get_str(
				    json_object_get(fault, "NeutronError"), "message");

				set_errmsg(reterr_msg, "%s %s: HTTP %ld: %s", method, path, code,
					   msg ? msg : "no message");
			} else if (ret) {
				*ret = b.len ? json_loadb(b.data, b.len, 0, NULL) : NULL;
				if (b.len && !*ret) {
					set_errmsg(reterr_msg, "%s %s: reply is not JSON", method,
						   path);
					r = -EBADMSG;
				}
			}
		}
		free(b.data);
		nb->last_ok = cc == CURLE_OK;
		if (!(r == -ECONNREFUSED || r == -EIO || r == -EAGAIN || r == -ETIMEDOUT))
			break;
		if (a + 1 < attempts) {
			/* Back off 50, 100, 200 ms. */
			struct timespec ts = { 0, 50000000L << a };

			nanosleep(&ts, NULL);
		}
	}
	return r;
}

static char *escape(const char *s)
{
	CURL *c = curl_easy_init();
	char *e = c ? curl_easy_escape(c, s, 0) : NULL;
	char *r = e ? strdup(e) : NULL;

	curl_free(e);
	if (c)
		curl_easy_cleanup(c);
	return r;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

/* The first "@kind"s object named @name (GET /@kinds?name=@name): 0 with
 * a new reference in *ret, or -ENOENT. */
static int first_by_name(struct neutron_backend *nb, const char *kind, const char *name,
			 json_t **ret, char **reterr_msg)
{
	_cleanup_free_ char *path = NULL, *e = escape(name), *key = NULL;
	_cleanup_json_ json_t *res = NULL;
	json_t *list;
	int r;

	if (!e || asprintf(&path, "/%ss?name=%s", kind, e) < 0 || asprintf(&key, "%ss", kind) < 0)
		return -ENOMEM;
	r = api(nb, "GET", path, NULL, &res, reterr_msg);
	if (r < 0)
		return r;
	list = json_object_get(res, key);
	if (json_array_size(list) == 0) {
		set_errmsg(reterr_msg, "%s \"%s\" does not exist", kind, name);
		return -ENOENT;
	}
	*ret = json_incref(json_array_get(list, 0));
	return 0;
}

/* Network @name (or @id) and its first IPv4 subnet. */
static int fill_network(struct neutron_backend *nb, json_t *net, struct kuryr_network *ret,
			char **reterr_msg)
{
	_cleanup_json_ json_t *subs = NULL;
	_cleanup_free_ char *path = NULL;
	json_t *sub;
	int r;

	*ret = (struct kuryr_network){ 0 };
	copy_str(ret->name, sizeof(ret->name), json_object_get_str(net, "name"));
	copy_str(ret->id, sizeof(ret->id), json_object_get_str(net, "id"));
	ret->mtu = (uint32_t)json_integer_value(json_object_get(net, "mtu"));
	if (!ret->mtu)
		ret->mtu = KURYR_DEFAULT_MTU;
	if (asprintf(&path, "/subnets?network_id=%s&ip_version=4", ret->id) < 0)
		return -ENOMEM;
	r = api(nb, "GET", path, NULL, &subs, reterr_msg);
	if (r < 0)
		return r;
	sub = json_array_get(json_object_get(subs, "subnets"), 0);
	copy_str(ret->cidr, sizeof(ret->cidr), json_object_get_str(sub, "cidr"));
	copy_str(ret->gateway, sizeof(ret->gateway), json_object_get_str(sub, "gateway_ip"));
	return 0;
}

static int neutron_network_get(struct backend *b, const char *name, struct kuryr_network *ret,
			       char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *net = NULL;
	int r;

	r = first_by_name(nb, "network", name, &net, reterr_msg);
	if (r < 0)
		return r;
	return fill_network(nb, net, ret, reterr_msg);
}

static int neutron_network_list(struct backend *b, struct kuryr_network **ret, size_t *ret_n,
				char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ struct kuryr_network *out = NULL;
	json_t *nets;
	size_t n = 0;
	int r;

	r = api(nb, "GET", "/networks", NULL, &res, reterr_msg);
	if (r < 0)
		return r;
	nets = json_object_get(res, "networks");
	out = calloc(json_array_size(nets) + 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(nets); i++) {
		r = fill_network(nb, json_array_get(nets, i), &out[n], reterr_msg);
		if (r < 0)
			return r;
		n++;
	}
	*ret = TAKE_PTR(out);
	*ret_n = n;
	return 0;
}

static int neutron_network_create(struct backend *b, const struct network_spec *spec,
				  struct kuryr_network *ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL, *sres = NULL;
	_cleanup_free_ char *path = NULL;
	struct kuryr_network existing;
	const char *id;
	json_t *body, *sub;
	int r;

	if (neutron_network_get(b, spec->name, &existing, NULL) == 0) {
		set_errmsg(reterr_msg, "network \"%s\" already exists", spec->name);
		return -EEXIST;
	}
	body =
	    json_pack("{s:{s:s, s:s}}", "network", "name", spec->name, "project_id", nb->project);
	if (spec->mtu)
		json_object_set_new(json_object_get(body, "network"), "mtu",
				    json_integer(spec->mtu));
	r = api(nb, "POST", "/networks", body, &res, reterr_msg);
	if (r < 0)
		return r;
	id = json_object_get_str(json_object_get(res, "network"), "id");
	sub = json_pack("{s:{s:s, s:s, s:i, s:s, s:s}}", "subnet", "network_id", id ? id : "",
			"cidr", spec->cidr ? spec->cidr : "", "ip_version", 4, "project_id",
			nb->project, "name", spec->name);
	if (spec->gateway)
		json_object_set_new(json_object_get(sub, "subnet"), "gateway_ip",
				    *spec->gateway ? json_string(spec->gateway) : json_null());
	r = api(nb, "POST", "/subnets", sub, &sres, reterr_msg);
	if (r < 0) {
		/* No half-made network. */
		if (asprintf(&path, "/networks/%s", id ? id : "") >= 0)
			(void)api(nb, "DELETE", path, NULL, NULL, NULL);
		return r;
	}
	return fill_network(nb, json_object_get(res, "network"), ret, reterr_msg);
}

static int neutron_network_delete(struct backend *b, const char *name, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_free_ char *path = NULL;
	struct kuryr_network n;
	int r;

	r = neutron_network_get(b, name, &n, reterr_msg);
	if (r < 0)
		return r;
	if (asprintf(&path, "/networks/%s", n.id) < 0)
		return -ENOMEM;
	r = api(nb, "DELETE", path, NULL, NULL, reterr_msg);
	return r == -EEXIST ? -EBUSY : r;
}

static void row_to_port(struct neutron_backend *nb, json_t *p, const char *network_name,
			struct kuryr_port *ret)
{
	const char *owner = json_object_get_str(p, "device_owner");
	const char *dev = json_object_get_str(p, "device_id");
	json_t *ip = json_array_get(json_object_get(p, "fixed_ips"), 0);

	*ret = (struct kuryr_port){ 0 };
	copy_str(ret->name, sizeof(ret->name), json_object_get_str(p, "id"));
	copy_str(ret->network, sizeof(ret->network), network_name);
	copy_str(ret->mac, sizeof(ret->mac), json_object_get_str(p, "mac_address"));
	copy_str(ret->ip, sizeof(ret->ip), json_object_get_str(ip, "ip_address"));
	ret->up = streq_ptr(json_object_get_str(p, "status"), "ACTIVE");
	if (owner && streq(owner, DEVICE_OWNER)) {
		if (dev && *dev) {
			ret->owner = PORT_OWNER_CONTAINER;
			copy_str(ret->device_id, sizeof(ret->device_id), dev);
		} else {
			ret->owner = PORT_OWNER_POOL;
			copy_str(ret->device_id, sizeof(ret->device_id),
				 json_object_get_str(p, "binding:host_id"));
		}
	} else {
		ret->owner = PORT_OWNER_VM;
		copy_str(ret->device_id, sizeof(ret->device_id), dev);
	}
	(void)nb;
}

/* The port by Neutron id, or by the name kuryrd gave it. */
static int find_port(struct neutron_backend *nb, const char *name, json_t **ret, char **reterr_msg)
{
	_cleanup_free_ char *path = NULL, *e = escape(name);
	_cleanup_json_ json_t *res = NULL;
	int r;

	if (!e || asprintf(&path, "/ports/%s", e) < 0)
		return -ENOMEM;
	r = api(nb, "GET", path, NULL, &res, NULL);
	if (r == 0) {
		*ret = json_incref(json_object_get(res, "port"));
		return 0;
	}
	return first_by_name(nb, "port", name, ret, reterr_msg);
}

static int network_name_of(struct neutron_backend *nb, const char *id, char *out, size_t size)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_json_ json_t *res = NULL;

	if (asprintf(&path, "/networks/%s", id) < 0)
		return -ENOMEM;
	if (api(nb, "GET", path, NULL, &res, NULL) < 0)
		return -ENOENT;
	copy_str(out, size, json_object_get_str(json_object_get(res, "network"), "name"));
	return 0;
}

static int neutron_port_get(struct backend *b, const char *name, struct kuryr_port *ret,
			    char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *p = NULL;
	char net[128] = "";
	int r;

	r = find_port(nb, name, &p, reterr_msg);
	if (r < 0)
		return r;
	(void)network_name_of(nb, json_object_get_str(p, "network_id"), net, sizeof(net));
	row_to_port(nb, p, net, ret);
	return 0;
}

static json_t *port_body(struct neutron_backend *nb, const struct port_spec *spec,
			 const struct kuryr_network *net, const char *name)
{
	json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "network_id", net->id, "project_id",
			      nb->project, "binding:host_id", nb->host, "device_owner",
			      spec->owner == PORT_OWNER_VM ? "" : DEVICE_OWNER, "device_id",
			      spec->owner == PORT_OWNER_POOL ? ""
			      : spec->device_id		     ? spec->device_id
							     : "",
			      "name", name ? name : "");

	if (spec->owner == PORT_OWNER_VM)
		json_object_set_new(p, "binding:host_id", json_string(""));
	if (spec->mac)
		json_object_set_new(p, "mac_address", json_string(spec->mac));
	if (spec->ip)
		json_object_set_new(p, "fixed_ips", json_pack("[{s:s}]", "ip_address", spec->ip));
	return p;
}

static int neutron_port_create(struct backend *b, const struct port_spec *spec,
			       struct kuryr_port *ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	struct kuryr_network net;
	uint32_t subnet;
	uint8_t len;
	json_t *p;
	int r;

	if (spec->net)
		net = *spec->net;
	else {
		r = neutron_network_get(b, spec->network, &net, reterr_msg);
		if (r < 0)
			return r;
	}
	r = api(nb, "POST", "/ports",
		json_pack("{s:o}", "port", port_body(nb, spec, &net, spec->name)), &res,
		reterr_msg);
	if (r < 0)
		return r == -EEXIST ? -EEXIST : r;
	p = json_object_get(res, "port");
	row_to_port(nb, p, net.name, ret);
	if (spec->owner != PORT_OWNER_VM) {
		/* The vif_type picks the binding driver: only "ovs" exists here. */
		const char *vif = json_object_get_str(p, "binding:vif_type");

		if (!streq_ptr(vif, "ovs")) {
			set_errmsg(reterr_msg,
				   "Neutron bound port %s as vif_type \"%s\" on host %s; kuryrd "
				   "plugs only \"ovs\"",
				   ret->name, vif ? vif : "", nb->host);
			(void)b->ops->port_delete(b, ret->name, NULL);
			return -EPROTONOSUPPORT;
		}
	}
	if (backend_parse_cidr4(net.cidr, &subnet, &len) == 0)
		ret->prefixlen = len;
	if (!*ret->ip || !*ret->mac) {
		set_errmsg(reterr_msg, "Neutron gave port %s no IPv4 address", ret->name);
		(void)b->ops->port_delete(b, ret->name, NULL);
		return -EIO;
	}
	return 0;
}

static int neutron_port_create_bulk(struct backend *b, const struct port_spec *spec, unsigned n,
				    struct kuryr_port *ret, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	struct kuryr_network net;
	json_t *list, *ports;
	char batch[12 + 37];
	uint32_t subnet;
	uint8_t len = 24;
	int r;

	if (spec->net)
		net = *spec->net;
	else {
		r = neutron_network_get(b, spec->network, &net, reterr_msg);
		if (r < 0)
			return r;
	}
	(void)backend_parse_cidr4(net.cidr, &subnet, &len);
	/* The batch's ports share a name: if the POST's outcome is lost (a
	 * timeout), whatever it created is found by that name and deleted,
	 * never created twice. */
	backend_random_uuid(batch + 12);
	memcpy(batch, "kuryr-batch-", 12);
	list = json_array();
	for (unsigned i = 0; i < n; i++)
		json_array_append_new(list, port_body(nb, spec, &net, batch));
	/* One bulk POST: Neutron creates all or none, at ~0.4 s of server time
	 * per port here, so the timeout grows with the batch. */
	r = api_t(nb, "POST", "/ports", json_pack("{s:o}", "ports", list),
		  HTTP_TIMEOUT_MS + 1000L * n, &res, reterr_msg);
	if (r == -ETIMEDOUT || r == -ECONNREFUSED) {
		_cleanup_json_ json_t *found = NULL;
		_cleanup_free_ char *path = NULL;
		json_t *made;

		if (asprintf(&path, "/ports?name=%s&fields=id", batch) >= 0 &&
		    api(nb, "GET", path, NULL, &found, NULL) == 0) {
			made = json_object_get(found, "ports");
			for (size_t i = 0; i < json_array_size(made); i++)
				(void)b->ops->port_delete(
				    b, json_object_get_str(json_array_get(made, i), "id"), NULL);
		}
	}
	if (r < 0)
		return r;
	ports = json_object_get(res, "ports");
	if (json_array_size(ports) != n) {
		set_errmsg(reterr_msg, "Neutron created %zu of %u ports", json_array_size(ports),
			   n);
		for (size_t i = 0; i < json_array_size(ports); i++)
			(void)b->ops->port_delete(
			    b, json_object_get_str(json_array_get(ports, i), "id"), NULL);
		return -EIO;
	}
	for (unsigned i = 0; i < n; i++) {
		row_to_port(nb, json_array_get(ports, i), net.name, &ret[i]);
		ret[i].prefixlen = len;
	}
	return 0;
}

static int neutron_port_list(struct backend *b, const char *network, struct kuryr_port **ret,
			     size_t *ret_n, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;
	_cleanup_free_ struct kuryr_port *out = NULL;
	_cleanup_free_ char *path = NULL;
	struct kuryr_network net = { 0 };
	json_t *ports;
	int r;

	if (network) {
		r = neutron_network_get(b, network, &net, reterr_msg);
		if (r < 0)
			return r;
		if (asprintf(&path, "/ports?network_id=%s", net.id) < 0)
			return -ENOMEM;
	} else if (!(path = strdup("/ports?device_owner=" DEVICE_OWNER)))
		return -ENOMEM;
	r = api(nb, "GET", path, NULL, &res, reterr_msg);
	if (r < 0)
		return r;
	ports = json_object_get(res, "ports");
	out = calloc(json_array_size(ports) + 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(ports); i++) {
		json_t *p = json_array_get(ports, i);
		char name[128] = "";

		if (network)
			copy_str(name, sizeof(name), net.name);
		else
			(void)network_name_of(nb, json_object_get_str(p, "network_id"), name,
					      sizeof(name));
		row_to_port(nb, p, name, &out[i]);
	}
	*ret_n = json_array_size(ports);
	*ret = TAKE_PTR(out);
	return 0;
}

static int neutron_port_delete(struct backend *b, const char *name, char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *p = NULL;
	_cleanup_free_ char *path = NULL;
	int r;

	r = find_port(nb, name, &p, reterr_msg);
	if (r < 0)
		return r;
	if (asprintf(&path, "/ports/%s", json_object_get_str(p, "id")) < 0)
		return -ENOMEM;
	return api(nb, "DELETE", path, NULL, NULL, reterr_msg);
}

static int neutron_port_wait_up(struct backend *b, const char *name, int timeout_ms,
				char **reterr_msg)
{
	struct neutron_backend *nb = to_neutron(b);

	/* Neutron has no watch: poll the port's status. */
	for (int waited = 0; waited <= timeout_ms; waited += 50) {
		_cleanup_json_ json_t *p = NULL;
		struct timespec ts = { 0, 50000000L };
		int r = find_port(nb, name, &p, reterr_msg);

		if (r < 0)
			return r;
		if (streq_ptr(json_object_get_str(p, "status"), "ACTIVE"))
			return 0;
		nanosleep(&ts, NULL);
	}
	set_errmsg(reterr_msg, "Neutron port %s did not become ACTIVE within %d ms", name,
		   timeout_ms);
	return -ETIMEDOUT;
}

static bool neutron_connected(struct backend *b)
{
	struct neutron_backend *nb = to_neutron(b);
	_cleanup_json_ json_t *res = NULL;

	return api(nb, "GET", "/networks?limit=1&fields=id", NULL, &res, NULL) == 0;
}

static void neutron_free(struct backend *b)
{
	struct neutron_backend *nb = to_neutron(b);

	free(nb->endpoint);
	free(nb->project);
	free(nb->host);
	free(nb);
}

static const struct backend_ops neutron_ops = {
	.name = "neutron",
	.network_create = neutron_network_create,
	.network_get = neutron_network_get,
	.network_list = neutron_network_list,
	.network_delete = neutron_network_delete,
	.port_create = neutron_port_create,
	.port_create_bulk = neutron_port_create_bulk,
	.port_get = neutron_port_get,
	.port_list = neutron_port_list,
	.port_delete = neutron_port_delete,
	.port_wait_up = neutron_port_wait_up,
	.connected = neutron_connected,
	.wait_active_on_add = true,
	.free = neutron_free,
};

int backend_neutron_new(const char *endpoint, const char *project, const char *host,
			struct backend **ret, char **reterr_msg)
{
	struct neutron_backend *nb;
	size_t len;

	if (!endpoint || strncmp(endpoint, "http", 4) != 0) {
		set_errmsg(reterr_msg, "[neutron] endpoint_override \"%s\" is not an http(s) URL",
			   endpoint ? endpoint : "");
		return -EINVAL;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	nb = calloc(1, sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	nb->base.ops = &neutron_ops;
	nb->endpoint = strdup(endpoint);
	nb->project = strdup(project);
	nb->host = strdup(host);
	if (!nb->endpoint || !nb->project || !nb->host) {
		neutron_free(&nb->base);
		return -ENOMEM;
	}
	len = strlen(nb->endpoint);
	while (len && nb->endpoint[len - 1] == '/')
		nb->endpoint[--len] = 0;
	if (len > 5 && streq(nb->endpoint + len - 5, "/v2.0"))
		nb->endpoint[len - 5] = 0;
	*ret = &nb->base;
	return 0;
}
