/* SPDX-License-Identifier: Apache-2.0 */
/* Network namespaces as descriptors: opening one and checking that it is a
 * network namespace, making a named one under /run/netns the way
 * iproute2's "ip netns add" does, and writing one of its sysctls (per
 * namespace, with no netlink request to set them). Both are done by a
 * throwaway thread, so the caller never changes namespace. */
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "macro.h"
#include "nl-private.h"

/* Where named network namespaces live (iproute2's NETNS_RUN_DIR). */
#define NL_NETNS_RUN_DIR "/run/netns"

int nl_netns_open(const char *path, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	struct statfs sfs;
	int t;

	if (!path || !ret_fd)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	t = ioctl(fd, NS_GET_NSTYPE);
	if (t >= 0) {
		if (t != CLONE_NEWNET)
			return -EINVAL;
	} else if (errno == ENOTTY || errno == EINVAL) {
		/* Not nsfs at all, or a kernel older than 4.11: nsfs is then
		 * the best we can tell, and setns(CLONE_NEWNET) checks the
		 * rest. */
		if (fstatfs(fd, &sfs) < 0)
			return -errno;
		if (sfs.f_type != NSFS_MAGIC)
			return -EINVAL;
	} else
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

struct netns_create_args {
	const char *path;
	int r;
};

/* A throwaway thread: unshare its network namespace and pin it with a bind
 * mount, the way "ip netns add" does. The calling thread never moves. */
static void *netns_create_thread(void *arg)
{
	struct netns_create_args *a = arg;

	if (unshare(CLONE_NEWNET) < 0)
		a->r = -errno;
	else if (mount("/proc/thread-self/ns/net", a->path, "none", MS_BIND, NULL) < 0)
		a->r = -errno;
	else
		a->r = 0;
	return NULL;
}

/* Make /run/netns a shared mount point, as "ip netns add" does. A
 * namespace bind-mounted on the plain directory would be hidden (not
 * unmounted) when iproute2 later bind-mounts /run/netns onto itself, and
 * "ip netns del" would then fail with EBUSY for good. Shared, every mount
 * namespace sees namespaces come and go there. */
static int netns_run_dir_prepare(void)
{
	bool made_mount = false;

	if (mkdir(NL_NETNS_RUN_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	while (mount("", NL_NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) < 0) {
		/* EINVAL: not a mount point yet; make it one, once. */
		if (errno != EINVAL || made_mount)
			return -errno;
		if (mount(NL_NETNS_RUN_DIR, NL_NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
			return -errno;
		made_mount = true;
	}
	return 0;
}

int nl_netns_create(const char *name, int *ret_fd)
{
	struct netns_create_args a = { .r = -EIO };
	char path[256];
	int fd, r;

	if (!name || !*name || strchr(name, '/') ||
	    snprintf(path, sizeof(path), NL_NETNS_RUN_DIR "/%s", name) >= (int)sizeof(path))
		return -EINVAL;
	if (nl_netns_open(path, ret_fd) == 0)
		return 0;
	r = netns_run_dir_prepare();
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
	if (fd < 0)
		return -errno;
	close(fd);
	a.path = path;
	r = nl_thread_run(netns_create_thread, &a);
	if (r < 0)
		return r;
	if (a.r < 0) {
		(void)unlink(path);
		return a.r;
	}
	return nl_netns_open(path, ret_fd);
}

struct netns_sysctl_args {
	int netns_fd;
	const char *path;
	const char *value;
	int r;
};

/* A throwaway thread: /proc/sys/net shows the namespace of the task that
 * looks it up, this thread's once it has moved. */
static void *netns_sysctl_thread(void *arg)
{
	struct netns_sysctl_args *a = arg;
	_cleanup_close_ int fd = -1;
	size_t len = strlen(a->value);
	ssize_t n;

	if (setns(a->netns_fd, CLONE_NEWNET) < 0) {
		a->r = -errno;
		return NULL;
	}
	fd = open(a->path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		a->r = -errno;
		return NULL;
	}
	n = write(fd, a->value, len);
	a->r = n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
	return NULL;
}

int nl_netns_sysctl_write(int netns_fd, const char *key, const char *value)
{
	struct netns_sysctl_args a = { .netns_fd = netns_fd, .value = value, .r = -EIO };
	char path[256];
	int r;

	if (netns_fd < 0 || !key || !value || *key == '/' || strstr(key, "..") ||
	    snprintf(path, sizeof(path), "/proc/sys/%s", key) >= (int)sizeof(path))
		return -EINVAL;
	a.path = path;
	r = nl_thread_run(netns_sysctl_thread, &a);
	return r < 0 ? r : a.r;
}
