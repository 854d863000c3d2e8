/* Host<->sandbox links: network namespaces and veth pairs over rtnetlink (core/veth.c), shared by
 * the drivers that make a sandbox's network themselves (native, the OCI runtimes, nspawn). */
#pragma once
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* One driver's share of the host: interfaces "<prefix><slot>", addresses 10.<octet>.<slot>/30.
 * One static range per driver family; next is the cursor its threads share. */
struct sb_veth_range {
	const char *prefix; /* at most 4 characters (interface names have 15) */
	unsigned octet;
	_Atomic int next;   /* -1: start at a pid-dependent slot */
};
#define SB_VETH_RANGE(prefix, octet) {(prefix), (octet), -1}

struct sb_veth {
	int slot;                 /* -1 = no veth */
	char host_if[16];
	uint32_t host_ip, box_ip; /* network byte order */
};

/* Bring lo up in the calling thread's network namespace. */
int sb_net_lo_up(void);
/* A new network namespace with lo up, made by the calling thread, which then returns to its own:
 * *fd is a descriptor of the new namespace (a box joins it with setns). -errno. */
int sb_netns_new(int *fd);
/* Keep the namespace netns_fd alive without a process: bind-mount it on path (an empty file made
 * here). Released by unmounting path; the namespace, and the veth in it, go with the last user. */
int sb_netns_pin(int netns_fd, const char *path);
/* Create the veth pair (peer "eth0" in the namespace netns_fd) in range, address and bring up the
 * host side. On failure nothing is left and net->slot is -1. */
int sb_veth_create(struct sb_veth_range *range, int netns_fd, struct sb_veth *net, struct sb_error *err);
/* Inside the namespace: address eth0 and bring it up. */
int sb_veth_box_setup(const struct sb_veth *net);
/* From outside: enter netns_fd on this thread, bring lo and eth0 up, come back. -errno. */
int sb_veth_box_setup_in(int netns_fd, const struct sb_veth *net);
/* All of it for a runtime that joins a namespace by path: a new namespace pinned at pin_path with
 * a configured pair in range. On failure what was made is left for the caller to release (unmount
 * pin_path, sb_veth_delete(net->host_if)). */
int sb_veth_link_make(struct sb_veth_range *range, const char *pin_path, struct sb_veth *net,
		      struct sb_error *err);
/* Delete a host interface by name (its peer goes with it); absent is success. -errno. */
int sb_veth_delete(const char *host_if);
void sb_ip_str(uint32_t ip, char *buf, size_t len);
