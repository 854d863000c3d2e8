/* The host<->sandbox link of the OCI runtimes (crun and runc net=veth, runsc net=hostinet|netstack):
 * a network namespace pinned in the box's bundle (SB_OCI_NETNS_FILE), which config.json makes the
 * container join, with a veth pair from core/veth.c: "sbo<slot>" on the host, eth0 inside, one /30
 * of 10.214.0.0/16 (host .1, box .2, no default route). The pair's name and addresses are kept in
 * the bundle (SB_OCI_NET_FILE): box_addr reads them, and destroy and doctor delete the host end by
 * that name. The namespace itself goes when its pin is unmounted with the bundle's other mounts and
 * the container's processes are gone, taking the pair with it; deleting the host end first makes
 * its name and slot free at once rather than when the kernel gets round to the namespace. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "core/veth.h"
#include "drivers/oci.h"

#define SB_OCI_NET_FILE "net.addr"

static struct sb_veth_range oci_range = SB_VETH_RANGE(SB_OCI_IF_PREFIX, 214);

int sb_oci_net_link(const char *bundle, struct sb_error *err)
{
	char pin[1300], path[1300];
	snprintf(pin, sizeof(pin), "%s/" SB_OCI_NETNS_FILE, bundle);
	snprintf(path, sizeof(path), "%s/" SB_OCI_NET_FILE, bundle);
	struct sb_veth v;
	int rc = sb_veth_link_make(&oci_range, pin, &v, err);
	if (rc == 0) {
		char host[48], box[48], text[160];
		sb_ip_str(v.host_ip, host, sizeof(host));
		sb_ip_str(v.box_ip, box, sizeof(box));
		int n = snprintf(text, sizeof(text), "veth=%s\nhost=%s\nbox=%s\n", v.host_if, host, box);
		rc = sb_write_file_atomic(path, text, (size_t)n, err);
	}
	if (rc < 0) {
		sb_veth_delete(v.host_if);
		sb_error_prefix(err, "veth for %s", bundle);
	}
	return rc;
}

/* The value of key= in the bundle's net file, or "" (no link). */
static void net_kv(const char *bundle, const char *key, char *out, size_t len)
{
	char path[1300], *text = NULL;
	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/" SB_OCI_NET_FILE, bundle);
	if (sb_read_file(path, &text, NULL, NULL) < 0)
		return;
	size_t kl = strlen(key);
	for (char *save, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, key, kl) == 0 && l[kl] == '=')
			snprintf(out, len, "%s", l + kl + 1);
	free(text);
}

int sb_oci_box_addr(struct sb_box *box, struct sb_box_addr *out, struct sb_error *err)
{
	const char *bundle = sb_oci_box_bundle(box);
	net_kv(bundle, "host", out->host_ip, sizeof(out->host_ip));
	net_kv(bundle, "box", out->box_ip, sizeof(out->box_ip));
	if (!out->host_ip[0] || !out->box_ip[0])
		return sb_error_set(err, ENOTSUP, "box %s has no veth (net=veth makes one; runsc: hostinet or netstack)",
				    strrchr(bundle, '/') ? strrchr(bundle, '/') + 1 : bundle);
	return 0;
}

void sb_oci_net_release(const char *bundle)
{
	char veth[32];
	net_kv(bundle, "veth", veth, sizeof(veth));
	/* only a name of this range: the file is ours, but doctor reads bundles of dead runs */
	if (strncmp(veth, SB_OCI_IF_PREFIX, strlen(SB_OCI_IF_PREFIX)) == 0)
		sb_veth_delete(veth);
}
