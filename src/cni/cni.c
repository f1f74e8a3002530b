/* SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>

#include "cni.h"
#include "macro.h"

static const char *const supported[] = { "0.4.0", "1.0.0", "1.1.0" };

json_t *cni_supported_versions(void)
{
	json_t *a = json_array();

	for (size_t i = 0; i < ELEMENTSOF(supported); i++)
		json_array_append_new(a, json_string(supported[i]));
	return a;
}

bool cni_version_supported(const char *v)
{
	for (size_t i = 0; v && i < ELEMENTSOF(supported); i++)
		if (streq(v, supported[i]))
			return true;
	return false;
}

int cni_version_cmp(const char *a, const char *b)
{
	unsigned x[3] = { 0 }, y[3] = { 0 };

	sscanf(a, "%u.%u.%u", &x[0], &x[1], &x[2]);
	sscanf(b, "%u.%u.%u", &y[0], &y[1], &y[2]);
	for (int i = 0; i < 3; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

int cni_ifname_check(const char *name, char **reterr_msg)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0) {
		set_errmsg(reterr_msg, "CNI_IFNAME is empty");
		return -EINVAL;
	}
	if (len > 15) {
		set_errmsg(reterr_msg, "CNI_IFNAME \"%s\" is %zu bytes long, the limit is 15", name,
			   len);
		return -EINVAL;
	}
	if (streq(name, ".") || streq(name, "..")) {
		set_errmsg(reterr_msg, "CNI_IFNAME \"%s\" is not a valid interface name", name);
		return -EINVAL;
	}
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == ':' || isspace((unsigned char)*p)) {
			set_errmsg(reterr_msg, "CNI_IFNAME \"%s\" contains '%c'", name, *p);
			return -EINVAL;
		}
	return 0;
}

int cni_container_id_check(const char *id, char **reterr_msg)
{
	size_t len = id ? strlen(id) : 0;

	if (len == 0) {
		set_errmsg(reterr_msg, "CNI_CONTAINERID is empty");
		return -EINVAL;
	}
	if (len > 256) {
		set_errmsg(reterr_msg, "CNI_CONTAINERID is %zu bytes long, the limit is 256", len);
		return -EINVAL;
	}
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-') {
			set_errmsg(reterr_msg, "CNI_CONTAINERID contains '%c'", *p);
			return -EINVAL;
		}
	return 0;
}

int cni_netns_check(int fd, char **reterr_msg)
{
	struct statfs sfs;
	int t;

	if (fstatfs(fd, &sfs) < 0) {
		int r = -errno;

		set_errmsg(reterr_msg, "cannot tell what it is: %s", strerror(errno));
		return r;
	}
	/* The filesystem first: the ioctl's number means something else to
	 * whatever device file CNI_NETNS might name. */
	t = sfs.f_type == NSFS_MAGIC ? ioctl(fd, NS_GET_NSTYPE) : -1;
	if (t != CLONE_NEWNET) {
		set_errmsg(reterr_msg, "not a network namespace");
		return -EINVAL;
	}
	return 0;
}

int cni_netns_open(const char *path, int *ret_fd, char **reterr_msg)
{
	_cleanup_close_ int fd = -1;
	int r;

	if (!path || !*path) {
		set_errmsg(reterr_msg, "CNI_NETNS is not set");
		return -EINVAL;
	}
	/* O_NONBLOCK: a FIFO named there must not hang the runtime. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = -errno;
		if (r == -ENOENT)
			set_errmsg(reterr_msg, "path does not exist");
		else
			set_errmsg(reterr_msg, "cannot open it: %s", strerror(errno));
		return r;
	}
	r = cni_netns_check(fd, reterr_msg);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

json_t *cni_error_new(const char *cni_version, int code, const char *msg, const char *details)
{
	json_t *e = json_pack("{s:s, s:i, s:s}", "cniVersion",
			      cni_version ? cni_version : CNI_VERSION_LATEST, "code", code, "msg",
			      msg ? msg : "");

	if (e && details && *details)
		json_object_set_new(e, "details", json_string(details));
	return e;
}

json_t *cni_result_new(const char *version, const struct cni_attach_result *a, const json_t *dns)
{
	bool v04 = cni_version_cmp(version, "1.0.0") < 0;
	bool v11 = cni_version_cmp(version, "1.1.0") >= 0;
	json_t *host, *cont, *ips, *routes;
	json_t *r;

	host = json_pack("{s:s, s:s}", "name", a->host_ifname, "mac", a->host_mac);
	cont =
	    json_pack("{s:s, s:s, s:s}", "name", a->ifname, "mac", a->mac, "sandbox", a->sandbox);
	if (v11 && a->mtu) {
		json_object_set_new(host, "mtu", json_integer(a->mtu));
		json_object_set_new(cont, "mtu", json_integer(a->mtu));
	}
	ips = json_array();
	routes = json_array();
	for (unsigned i = 0; i < a->n_ips && i < ELEMENTSOF(a->ips); i++) {
		const struct cni_ip *ip = &a->ips[i];
		json_t *o = json_pack("{s:s, s:i}", "address", ip->address, "interface", 1);

		if (*ip->gateway)
			json_object_set_new(o, "gateway", json_string(ip->gateway));
		if (v04)
			json_object_set_new(o, "version",
					    json_string(ip->family == AF_INET6 ? "6" : "4"));
		json_array_append_new(ips, o);
		if (*ip->gateway)
			json_array_append_new(
			    routes, json_pack("{s:s, s:s}", "dst",
					      ip->family == AF_INET6 ? "::/0" : "0.0.0.0/0", "gw",
					      ip->gateway));
	}
	r = json_pack("{s:s, s:[o,o], s:o, s:o}", "cniVersion", version, "interfaces", host, cont,
		      "ips", ips, "routes", routes);
	json_object_set_new(r, "dns", dns ? json_deep_copy(dns) : json_object());
	return r;
}

static int request_error(json_t **ret, const char *version, int code, const char *msg,
			 const char *details)
{
	*ret = cni_error_new(version, code, msg, details);
	return code;
}

int cni_request_build(const struct cni_env *env, const char *in, size_t len, json_t **ret)
{
	static const char *const commands[][2] = {
		{ "ADD", "add" },	{ "DEL", "del" }, { "CHECK", "check" },
		{ "STATUS", "status" }, { "GC", "gc" },
	};
	const char *op = NULL, *ver, *version = CNI_VERSION_LATEST;
	char *err = NULL, details[256];
	json_error_t jerr;
	json_t *conf, *o, *e, *req;
	int code;

	if (!env->command || !*env->command)
		return request_error(ret, version, CNI_ERR_INVALID_ENV, "CNI_COMMAND is not set",
				     "expected one of ADD, DEL, CHECK, STATUS, GC, VERSION");
	for (size_t i = 0; i < ELEMENTSOF(commands); i++)
		if (streq(env->command, commands[i][0]))
			op = commands[i][1];
	if (!op)
		return request_error(ret, version, CNI_ERR_INVALID_ENV, "unknown CNI_COMMAND",
				     "expected one of ADD, DEL, CHECK, STATUS, GC, VERSION");

	conf = json_loadb(in, len, 0, &jerr);
	if (!conf) {
		snprintf(details, sizeof(details), "stdin line %d column %d: %s", jerr.line,
			 jerr.column, jerr.text);
		return request_error(ret, version, CNI_ERR_DECODE,
				     "cannot decode the network configuration", details);
	}
	if (!json_is_object(conf)) {
		json_decref(conf);
		return request_error(ret, version, CNI_ERR_DECODE,
				     "cannot decode the network configuration",
				     "stdin is not a JSON object");
	}
	ver = json_string_value(json_object_get(conf, "cniVersion"));
	if (!ver) {
		code = request_error(ret, version, CNI_ERR_INVALID_CONFIG,
				     "invalid network configuration",
				     "\"cniVersion\" is missing or not a string");
		goto out;
	}
	if (!cni_version_supported(ver)) {
		snprintf(details, sizeof(details),
			 "cniVersion \"%.64s\" is not one of 0.4.0, 1.0.0, 1.1.0", ver);
		code = request_error(ret, version, CNI_ERR_INCOMPATIBLE_VERSION,
				     "incompatible CNI version", details);
		goto out;
	}
	version = ver;
	if ((streq(op, "status") || streq(op, "gc")) && cni_version_cmp(ver, "1.1.0") < 0) {
		code = request_error(ret, version, CNI_ERR_INCOMPATIBLE_VERSION,
				     "incompatible CNI version",
				     "STATUS and GC need cniVersion 1.1.0");
		goto out;
	}
	static const char *const strings[] = { "name", "type", "network", "daemon_socket" };
	for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
		o = json_object_get(conf, strings[i]);
		/* name and type are required; the others optional. */
		if ((i < 2 && !o) || (o && !json_is_string(o))) {
			snprintf(details, sizeof(details), "\"%s\" is %s", strings[i],
				 o ? "not a string" : "missing");
			code = request_error(ret, version, CNI_ERR_INVALID_CONFIG,
					     "invalid network configuration", details);
			goto out;
		}
	}

	if (streq(op, "add") || streq(op, "del") || streq(op, "check")) {
		if (!env->container_id) {
			code = request_error(ret, version, CNI_ERR_INVALID_ENV,
					     "CNI_CONTAINERID is not set", NULL);
			goto out;
		}
		if (cni_container_id_check(env->container_id, &err) < 0) {
			code = request_error(ret, version, CNI_ERR_INVALID_ENV,
					     "invalid CNI_CONTAINERID", err);
			goto out;
		}
		if (!env->ifname) {
			code = request_error(ret, version, CNI_ERR_INVALID_ENV,
					     "CNI_IFNAME is not set", NULL);
			goto out;
		}
		if (cni_ifname_check(env->ifname, &err) < 0) {
			code = request_error(ret, version, CNI_ERR_INVALID_ENV,
					     "invalid CNI_IFNAME", err);
			goto out;
		}
		/* DEL may come without a netns (the container is gone). */
		if (!streq(op, "del") && (!env->netns || !*env->netns)) {
			code = request_error(ret, version, CNI_ERR_INVALID_ENV,
					     "CNI_NETNS is not set", NULL);
			goto out;
		}
	}

	e = json_object();
	if (env->container_id)
		json_object_set_new(e, "CNI_CONTAINERID", json_string(env->container_id));
	if (env->netns)
		json_object_set_new(e, "CNI_NETNS", json_string(env->netns));
	if (env->ifname)
		json_object_set_new(e, "CNI_IFNAME", json_string(env->ifname));
	if (env->args)
		json_object_set_new(e, "CNI_ARGS", json_string(env->args));
	if (env->path)
		json_object_set_new(e, "CNI_PATH", json_string(env->path));
	req = json_pack("{s:s, s:o, s:O}", "op", op, "env", e, "config", conf);
	if (!req) {
		code = request_error(ret, version, CNI_ERR_IO, "out of memory", NULL);
		goto out;
	}
	*ret = req;
	code = 0;
out:
	free(err);
	json_decref(conf); /* error objects hold copies of its strings */
	return code;
}
