/* The host<->sandbox link of a runtime that joins a network namespace by path (crun and runc
 * net=veth, runsc net=hostinet|netstack, nspawn net=veth): a namespace pinned in the box's state
 * directory (SB_RT_NETNS_FILE) with a veth pair from core/veth.c in the driver's own range
 * ("<prefix><slot>" on the host, eth0 inside, a /30 with host .1 and box .2, no default route).
 * A runtime that makes the namespace itself gets the pair moved into it once its box runs
 * (sb_rt_net_attach: lxc). The pair's name and addresses are kept beside the pin (SB_RT_NET_FILE): box_addr reads them,
 * and destroy and doctor delete the host end by that name. The namespace itself goes when its pin
 * is unmounted with the directory's other mounts and the box's processes are gone, taking the pair
 * with it; deleting the host end first frees its name and slot at once rather than whenever the
 * kernel gets round to the namespace. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/util.h"
#include "drivers/runtime_util.h"

#define SB_RT_NET_FILE "net.addr"

/* Record the pair in dir (or, when rc < 0 already, delete it). */
static int record(const struct sb_veth *v, const char *dir, int rc, struct sb_error *err)
{
	char path[1300];
	snprintf(path, sizeof(path), "%s/" SB_RT_NET_FILE, dir);
	if (rc == 0) {
		char host[48], box[48], text[160];
		sb_ip_str(v->host_ip, host, sizeof(host));
		sb_ip_str(v->box_ip, box, sizeof(box));
		int n = snprintf(text, sizeof(text), "veth=%s\nhost=%s\nbox=%s\n", v->host_if, host, box);
		rc = sb_write_file_atomic(path, text, (size_t)n, err);
	}
	if (rc < 0) {
		sb_veth_delete(v->host_if);
		sb_error_prefix(err, "veth for %s", dir);
	}
	return rc;
}

int sb_rt_net_link(struct sb_veth_range *range, const char *dir, struct sb_error *err)
{
	char pin[1300];
	snprintf(pin, sizeof(pin), "%s/" SB_RT_NETNS_FILE, dir);
	struct sb_veth v;
	int rc = sb_veth_link_make(range, pin, &v, err);
	return record(&v, dir, rc, err);
}

int sb_rt_net_attach(struct sb_veth_range *range, const char *dir, pid_t pid, struct sb_error *err)
{
	char ns[64];
	snprintf(ns, sizeof(ns), "/proc/%d/ns/net", (int)pid);
	struct sb_veth v = {.slot = -1};
	int fd = open(ns, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sb_error_set(err, errno, "cannot open %s: %s", ns, strerror(errno));
	int rc = sb_veth_create(range, fd, &v, err);
	if (rc == 0 && (rc = sb_veth_box_setup_in(fd, &v)) < 0)
		rc = sb_error_set(err, -rc, "configuring eth0 in %s: %s", ns, strerror(-rc));
	close(fd);
	return record(&v, dir, rc, err);
}

/* The value of key= in dir's net file, or "" (no link). */
static void net_kv(const char *dir, const char *key, char *out, size_t len)
{
	char path[1300], *text = NULL;
	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/" SB_RT_NET_FILE, dir);
	if (sb_read_file(path, &text, NULL, NULL) < 0)
		return;
	size_t kl = strlen(key);
	for (char *save, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, key, kl) == 0 && l[kl] == '=')
			snprintf(out, len, "%s", l + kl + 1);
	free(text);
}

int sb_rt_net_addr(const char *dir, struct sb_box_addr *out)
{
	net_kv(dir, "host", out->host_ip, sizeof(out->host_ip));
	net_kv(dir, "box", out->box_ip, sizeof(out->box_ip));
	return out->host_ip[0] && out->box_ip[0] ? 0 : -ENOTSUP;
}

void sb_rt_net_release(const struct sb_veth_range *range, const char *dir)
{
	char veth[32];
	net_kv(dir, "veth", veth, sizeof(veth));
	/* only a name of the driver's range: doctor reads the directories of dead runs */
	if (veth[0] && strncmp(veth, range->prefix, strlen(range->prefix)) == 0)
		sb_veth_delete(veth);
}
