/* Host<->sandbox links over rtnetlink (no `ip` process on the hot path), shared by every driver
 * that makes its sandbox's network itself (native, the OCI runtimes, nspawn).
 *
 * A namespace is made by the calling thread itself (sb_netns_new): unshare, keep a descriptor, bring
 * lo up, return to the thread's own namespace. A veth pair is "<prefix><slot>" on the host and
 * "eth0" in the namespace, addressed from 10.<octet>.0.0/16 as one /30 per slot (host .1, box .2);
 * the box gets no default route, so the only place its packets can go is the host end of its own
 * pair. Slots are claimed by the kernel: creating an interface whose name exists fails with EEXIST,
 * so concurrent runs never collide. Each user has a range of its own (prefix and octet), so the
 * interfaces a crashed run left are found by the prefix of the driver that made them. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h> /* before the linux/ headers, which then skip their copies of it */
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/veth.h"

#define SB_VETH_SLOTS 16384 /* /30s in a /16 */

union nl_req {
	struct nlmsghdr h;
	char buf[1024];
};

static struct rtattr *attr_add(struct nlmsghdr *h, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)h + NLMSG_ALIGN(h->nlmsg_len));
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void attr_end(struct nlmsghdr *h, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)((char *)h + h->nlmsg_len - (char *)nest);
}

/* Send one request and wait for its ack; -errno from the kernel's answer. */
static int nl_talk(struct nlmsghdr *h)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	h->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	h->nlmsg_seq = 1;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	int rc = 0;
	if (sendto(fd, h, h->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
	} else {
		char buf[4096];
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r < 0) {
			rc = -errno;
		} else {
			struct nlmsghdr *rh = (struct nlmsghdr *)buf;
			if (NLMSG_OK(rh, (unsigned)r) && rh->nlmsg_type == NLMSG_ERROR)
				rc = ((struct nlmsgerr *)NLMSG_DATA(rh))->error;
		}
	}
	close(fd);
	return rc;
}

static int link_up(int ifindex)
{
	union nl_req r;
	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.h.nlmsg_type = RTM_NEWLINK;
	struct ifinfomsg *ifi = NLMSG_DATA(&r.h);
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	ifi->ifi_flags = IFF_UP;
	ifi->ifi_change = IFF_UP;
	return nl_talk(&r.h);
}

static int addr_add(int ifindex, uint32_t ip, int prefix)
{
	union nl_req r;
	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	r.h.nlmsg_type = RTM_NEWADDR;
	r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	struct ifaddrmsg *ifa = NLMSG_DATA(&r.h);
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = (unsigned)ifindex;
	attr_add(&r.h, IFA_LOCAL, &ip, 4);
	attr_add(&r.h, IFA_ADDRESS, &ip, 4);
	return nl_talk(&r.h);
}

int sb_net_lo_up(void)
{
	/* One ioctl pair is cheaper than a netlink round trip. */
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	int rc = 0;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		rc = -errno;
	else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			rc = -errno;
	}
	close(fd);
	return rc;
}

/* The network namespace sandbench runs in, opened once (several threads may ask at once). */
static int host_netns_fd(void)
{
	static _Atomic int host_fd = -1;
	int fd = atomic_load(&host_fd);
	if (fd >= 0)
		return fd;
	int mine = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (mine < 0)
		return -errno;
	if (atomic_compare_exchange_strong(&host_fd, &fd, mine))
		return mine;
	close(mine); /* another thread was first */
	return fd;
}

int sb_netns_new(int *out_fd)
{
	*out_fd = -1;
	int host_fd = host_netns_fd();
	if (host_fd < 0)
		return host_fd;
	if (unshare(CLONE_NEWNET) < 0)
		return -errno;
	int rc = 0;
	int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		rc = -errno;
	/* lo must work in every box; bringing it up here keeps it off the child's path too. */
	if (rc == 0)
		rc = sb_net_lo_up();
	/* Back home before anything else can make a socket in the wrong namespace. */
	if (setns(host_fd, CLONE_NEWNET) < 0 && rc == 0)
		rc = -errno;
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	*out_fd = fd;
	return 0;
}

static void slot_addrs(unsigned octet, struct sb_veth *net)
{
	uint32_t base = (10u << 24) | (octet << 16) | ((uint32_t)net->slot * 4u);
	net->host_ip = htonl(base + 1);
	net->box_ip = htonl(base + 2);
}

static int veth_new(const char *host_if, int netns_fd)
{
	union nl_req r;
	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.h.nlmsg_type = RTM_NEWLINK;
	r.h.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	((struct ifinfomsg *)NLMSG_DATA(&r.h))->ifi_family = AF_UNSPEC;
	attr_add(&r.h, IFLA_IFNAME, host_if, strlen(host_if) + 1);
	struct rtattr *li = attr_add(&r.h, IFLA_LINKINFO, NULL, 0);
	attr_add(&r.h, IFLA_INFO_KIND, "veth", 5);
	struct rtattr *data = attr_add(&r.h, IFLA_INFO_DATA, NULL, 0);
	struct rtattr *peer = attr_add(&r.h, VETH_INFO_PEER, NULL, 0);
	/* The peer's attributes follow its own ifinfomsg. */
	r.h.nlmsg_len += (unsigned)NLMSG_ALIGN(sizeof(struct ifinfomsg));
	attr_add(&r.h, IFLA_IFNAME, "eth0", 5);
	uint32_t fd = (uint32_t)netns_fd;
	attr_add(&r.h, IFLA_NET_NS_FD, &fd, 4);
	attr_end(&r.h, peer);
	attr_end(&r.h, data);
	attr_end(&r.h, li);
	return nl_talk(&r.h);
}

int sb_veth_create(struct sb_veth_range *range, int netns_fd, struct sb_veth *net, struct sb_error *err)
{
	/* Start at a pid-dependent slot so parallel runs rarely race for the same names; threads of
	 * one run take turns (the kernel refuses a name taken meanwhile: -EEXIST, next slot). */
	int expect = -1;
	atomic_compare_exchange_strong(&range->next, &expect, (int)((unsigned)getpid() * 7919u % SB_VETH_SLOTS));
	int rc = -EEXIST;
	for (int i = 0; i < 64 && rc == -EEXIST; i++) {
		net->slot = (int)((unsigned)atomic_fetch_add(&range->next, 1) % SB_VETH_SLOTS);
		snprintf(net->host_if, sizeof(net->host_if), "%s%d", range->prefix, net->slot);
		rc = veth_new(net->host_if, netns_fd);
	}
	if (rc < 0) {
		net->slot = -1;
		net->host_if[0] = '\0';
		return sb_error_set(err, -rc, "creating veth pair: %s", strerror(-rc));
	}
	slot_addrs(range->octet, net);
	int idx = (int)if_nametoindex(net->host_if);
	if (idx <= 0)
		rc = -errno;
	if (rc == 0)
		rc = addr_add(idx, net->host_ip, 30);
	if (rc == 0)
		rc = link_up(idx);
	if (rc < 0) {
		sb_veth_delete(net->host_if);
		net->slot = -1;
		net->host_if[0] = '\0';
		return sb_error_set(err, -rc, "configuring the host end of the veth pair: %s", strerror(-rc));
	}
	return 0;
}

int sb_veth_box_setup(const struct sb_veth *net)
{
	int idx = (int)if_nametoindex("eth0");
	if (idx <= 0)
		return -errno;
	int rc = addr_add(idx, net->box_ip, 30);
	if (rc == 0)
		rc = link_up(idx);
	return rc;
}

int sb_veth_delete(const char *host_if)
{
	if (!host_if || !host_if[0])
		return 0;
	union nl_req r;
	memset(&r, 0, sizeof(r));
	r.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	r.h.nlmsg_type = RTM_DELLINK;
	((struct ifinfomsg *)NLMSG_DATA(&r.h))->ifi_family = AF_UNSPEC;
	attr_add(&r.h, IFLA_IFNAME, host_if, strlen(host_if) + 1);
	int rc = nl_talk(&r.h);
	return rc == -ENODEV ? 0 : rc;
}

void sb_ip_str(uint32_t ip, char *buf, size_t len)
{
	if (!inet_ntop(AF_INET, &ip, buf, (socklen_t)len) && len)
		buf[0] = '\0';
}

int sb_veth_box_setup_in(int netns_fd, const struct sb_veth *net)
{
	int host_fd = host_netns_fd();
	if (host_fd < 0)
		return host_fd;
	if (setns(netns_fd, CLONE_NEWNET) < 0)
		return -errno;
	int rc = sb_net_lo_up();
	if (rc == 0)
		rc = sb_veth_box_setup(net);
	if (setns(host_fd, CLONE_NEWNET) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

int sb_netns_pin(int netns_fd, const char *path)
{
	int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fd);
	char src[64];
	snprintf(src, sizeof(src), "/proc/self/fd/%d", netns_fd);
	if (mount(src, path, NULL, MS_BIND, NULL) < 0) {
		int e = errno;
		unlink(path);
		return -e;
	}
	return 0;
}

int sb_veth_link_make(struct sb_veth_range *range, const char *pin_path, struct sb_veth *net, struct sb_error *err)
{
	net->slot = -1;
	net->host_if[0] = '\0';
	int fd = -1;
	int rc = sb_netns_new(&fd);
	if (rc < 0)
		return sb_error_set(err, -rc, "making a network namespace: %s", strerror(-rc));
	if ((rc = sb_netns_pin(fd, pin_path)) < 0) {
		close(fd);
		return sb_error_set(err, -rc, "keeping the network namespace at %s: %s", pin_path, strerror(-rc));
	}
	if ((rc = sb_veth_create(range, fd, net, err)) == 0 && (rc = sb_veth_box_setup_in(fd, net)) < 0)
		rc = sb_error_set(err, -rc, "configuring eth0 in the network namespace: %s", strerror(-rc));
	close(fd);
	return rc;
}
