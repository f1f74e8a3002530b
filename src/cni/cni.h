/* SPDX-License-Identifier: Apache-2.0 */
/* CNI specification pieces shared by kuryr-cni and kuryrd: versions, error
 * codes, input validation and result building. Depends on libc and jansson
 * only, since kuryr-cni links it and is exec'd once per container. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Error codes of the CNI spec (1-99) and ours (100+). */
enum cni_error_code {
	CNI_ERR_INCOMPATIBLE_VERSION = 1,
	CNI_ERR_UNSUPPORTED_FIELD = 2,
	CNI_ERR_UNKNOWN_CONTAINER = 3,
	CNI_ERR_INVALID_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_INVALID_CONFIG = 7,
	CNI_ERR_TRY_AGAIN = 11,
	CNI_ERR_NOT_AVAILABLE = 50,
	CNI_ERR_LIMITED_CONNECTIVITY = 51,
	/* The container already has an attachment with this CNI_IFNAME. */
	KURYR_ERR_ALREADY_ATTACHED = 100,
	/* A device named CNI_IFNAME already exists in the container netns. */
	KURYR_ERR_IFNAME_EXISTS = 101,
	/* The backend refused or failed (detail in the message). */
	KURYR_ERR_BACKEND = 102,
	/* Creating or configuring a network device failed. */
	KURYR_ERR_DATAPATH = 103,
	/* The requested IP or MAC is invalid or already in use. */
	KURYR_ERR_ADDRESS = 104,
};

#define CNI_VERSION_LATEST "1.1.0"

/* The versions this plugin speaks, as a JSON array (new reference). */
json_t *cni_supported_versions(void);
bool cni_version_supported(const char *v);
/* Compare two "x.y.z" versions like strcmp. */
int cni_version_cmp(const char *a, const char *b);

/* Check a CNI_IFNAME: 1-15 bytes, not "." or "..", no '/', ':' or white
 * space. 0 or -EINVAL with the reason in *reterr_msg. */
int cni_ifname_check(const char *name, char **reterr_msg);

/* Check a container id: non-empty, [A-Za-z0-9_.-], up to 256 bytes. */
int cni_container_id_check(const char *id, char **reterr_msg);

/* Whether @fd is a network namespace (nsfs, NS_GET_NSTYPE is
 * CLONE_NEWNET): 0, or -EINVAL (-errno if it cannot be asked) with "not a
 * network namespace" in *reterr_msg. */
int cni_netns_check(int fd, char **reterr_msg);

/* Open the network namespace at @path (CNI_NETNS) for passing to kuryrd:
 * 0 and an O_RDONLY|O_CLOEXEC fd in *ret_fd, or -errno with the reason in
 * *reterr_msg ("path does not exist", "not a network namespace", ...);
 * *ret_fd is untouched then. */
int cni_netns_open(const char *path, int *ret_fd, char **reterr_msg);

/* A CNI error object {"cniVersion", "code", "msg", "details"}. */
json_t *cni_error_new(const char *cni_version, int code, const char *msg, const char *details);

struct cni_ip {
	int family;	  /* AF_INET / AF_INET6 */
	char address[64]; /* "10.0.0.5/24" */
	char gateway[48]; /* "" if none */
};

struct cni_attach_result {
	char host_ifname[16];
	char host_mac[18];
	char ifname[16];
	char mac[18];
	uint32_t mtu;
	char sandbox[4096];
	/* One per family at most, IPv4 first; each an entry of "ips" on the
	 * container's interface, and a default route of its family where it
	 * has a gateway. */
	struct cni_ip ips[2];
	unsigned n_ips;
};

/* Build the ADD result for @version (0.4.0 adds "version" to ips; 1.1.0 adds
 * "mtu" to interfaces). @dns (borrowed, may be NULL) is copied in. */
json_t *cni_result_new(const char *version, const struct cni_attach_result *a, const json_t *dns);

/* The CNI_* environment of one invocation (NULL where unset). */
struct cni_env {
	const char *command;
	const char *container_id;
	const char *netns;
	const char *ifname;
	const char *args;
	const char *path;
};

/* Check an ADD/DEL/CHECK/STATUS/GC invocation (not VERSION) with the
 * netconf @in (@len bytes, untrusted) and build the kuryrd request
 * {"op", "env", "config"}. Returns 0 and the request in *ret, or a CNI
 * error code (> 0) and the CNI error object, in the netconf's version when
 * it got that far, in *ret. */
int cni_request_build(const struct cni_env *env, const char *in, size_t len, json_t **ret);
