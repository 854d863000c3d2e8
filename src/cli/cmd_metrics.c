/* `sandbench metrics serve`: the live registry as a Prometheus/OpenMetrics scrape endpoint over
 * libmicrohttpd. One internal polling thread answers every request (so the registry handle, with
 * its per-owner pidfd cache, is used by one thread only); loopback unless told otherwise. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli/cli.h"
#include "core/signals.h"
#include "metrics/expose.h"
#include "metrics/registry.h"

#include <dlfcn.h>

#define DEFAULT_LISTEN "127.0.0.1:9464"

/* libmicrohttpd is loaded on the first `metrics serve`: linked in, it and the TLS stack it pulls
 * (gnutls, nettle, p11-kit ... 11 libraries) would cost every sandbench start several ms, which
 * `sandbench exec` pays on each call. The names below resolve to this table. */
static struct {
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_stop_daemon) *stop_daemon;
} mhd;
#define MHD_create_response_from_buffer mhd.create_response_from_buffer
#define MHD_add_response_header mhd.add_response_header
#define MHD_queue_response mhd.queue_response
#define MHD_destroy_response mhd.destroy_response
#define MHD_lookup_connection_value mhd.lookup_connection_value
#define MHD_start_daemon mhd.start_daemon
#define MHD_get_daemon_info mhd.get_daemon_info
#define MHD_stop_daemon mhd.stop_daemon

/* 0, or -1 with why filled (the library or one of its functions is missing). */
static int mhd_load(char *why, size_t len)
{
	void *h = dlopen("libmicrohttpd.so.12", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, len, "cannot load libmicrohttpd (apt-get install libmicrohttpd12): %s", dlerror());
		return -1;
	}
	struct {
		void **slot;
		const char *name;
	} fns[] = {
		{(void **)&mhd.create_response_from_buffer, "MHD_create_response_from_buffer"},
		{(void **)&mhd.add_response_header, "MHD_add_response_header"},
		{(void **)&mhd.queue_response, "MHD_queue_response"},
		{(void **)&mhd.destroy_response, "MHD_destroy_response"},
		{(void **)&mhd.lookup_connection_value, "MHD_lookup_connection_value"},
		{(void **)&mhd.start_daemon, "MHD_start_daemon"},
		{(void **)&mhd.get_daemon_info, "MHD_get_daemon_info"},
		{(void **)&mhd.stop_daemon, "MHD_stop_daemon"},
	};
	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		if (!(*fns[i].slot = dlsym(h, fns[i].name))) {
			snprintf(why, len, "libmicrohttpd lacks %s", fns[i].name);
			return -1;
		}
	}
	return 0;
}

static void metrics_usage(void)
{
	printf("usage: sandbench metrics serve [--listen HOST:PORT] [--registry PATH]\n\n"
	       "Serves every live sandbox of the metrics registry PATH (default $SANDBENCH_REGISTRY or\n"
	       "%s, filled by `sandbench run --live`) at http://HOST:PORT/metrics, in the\n"
	       "Prometheus text format, or OpenMetrics 1.0 when the scraper asks for it (Accept:\n"
	       "application/openmetrics-text). Each sandbox's series carry the labels sandbox, name and\n"
	       "driver; names and meanings are in docs/metrics.md.\n"
	       "It listens on %s, loopback only, unless --listen names another address\n"
	       "(HOST is an IPv4 or [IPv6] address or localhost; PORT 0 picks a free port). The address\n"
	       "it serves is printed on stdout. Runs until SIGINT/SIGTERM (exit 0).\n",
	       SB_REG_DEFAULT_PATH, DEFAULT_LISTEN);
}

/* HOST:PORT -> a socket address; false when malformed. */
static bool parse_listen(const char *arg, struct sockaddr_storage *ss, socklen_t *len, bool *v6)
{
	char host[128];
	const char *colon = strrchr(arg, ':');
	if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof(host))
		return false;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - arg), arg);
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port > 65535)
		return false;
	memset(ss, 0, sizeof(*ss));
	size_t hl = strlen(host);
	if (host[0] == '[' && host[hl - 1] == ']') {
		host[hl - 1] = '\0';
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
		*v6 = true;
		return inet_pton(AF_INET6, host + 1, &a->sin6_addr) == 1;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	*len = sizeof(*a);
	*v6 = false;
	return inet_pton(AF_INET, strcmp(host, "localhost") ? host : "127.0.0.1", &a->sin_addr) == 1;
}

struct serve {
	const char *path;
	struct sb_reg *reg;
	struct sb_reg_entry *e;
	size_t cap;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, char *body,
			     size_t len, bool head)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(head ? 0 : len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result text(struct MHD_Connection *c, unsigned status, const char *msg)
{
	char *b = strdup(msg);
	return b ? reply(c, status, "text/plain; charset=utf-8", b, strlen(b), false) : MHD_NO;
}

/* A snapshot of the registry (reopened when its file was removed or made anew); n = 0 when there
 * is none. A bad registry file is an error for the scraper, with the reason. */
static int take_snapshot(struct serve *sv, size_t *n, char *msg, size_t len)
{
	*n = 0;
	if (sv->reg && sb_reg_replaced(sv->reg)) {
		sb_reg_close(sv->reg);
		sv->reg = NULL;
	}
	if (!sv->reg) {
		int rc = sb_reg_open(sv->path, false, 0, &sv->reg, msg, len);
		if (rc == -ENOENT)
			return 0;
		if (rc < 0)
			return rc;
	}
	uint32_t want = sb_reg_nslots(sv->reg);
	if (sv->cap < want) {
		struct sb_reg_entry *e = realloc(sv->e, want * sizeof(*e));
		if (!e)
			return -ENOMEM;
		sv->e = e;
		sv->cap = want;
	}
	if (sb_reg_snapshot(sv->reg, sv->e, sv->cap, n) < 0) {
		snprintf(msg, len, "%s was cut shorter while being read", sv->path);
		sb_reg_close(sv->reg);
		sv->reg = NULL;
		return -EIO;
	}
	if (*n > sv->cap)
		*n = sv->cap;
	return 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **req)
{
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)req;
	struct serve *sv = cls;
	bool head = !strcmp(method, MHD_HTTP_METHOD_HEAD);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && !head)
		return text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (!strcmp(url, "/"))
		return text(c, MHD_HTTP_OK, "sandbench live metrics: /metrics\n");
	if (strcmp(url, "/metrics"))
		return text(c, MHD_HTTP_NOT_FOUND, "not found (try /metrics)\n");
	size_t n;
	char msg[512];
	if (take_snapshot(sv, &n, msg, sizeof(msg)) < 0) {
		strcat(msg, "\n");
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, msg);
	}
	bool om = sb_expose_wants_openmetrics(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
	char *body;
	size_t len;
	if (sb_expose(sv->e, n, sv->reg ? sb_reg_nslots(sv->reg) : 0, om, &body, &len) < 0)
		return text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return reply(c, MHD_HTTP_OK, om ? SB_EXPOSE_CT_OPENMETRICS : SB_EXPOSE_CT_TEXT, body, len, head);
}

static int metrics_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'}, {"registry", required_argument, NULL, 'G'},
		{"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	const char *listen = DEFAULT_LISTEN;
	struct serve sv = {.path = sb_reg_default_path()};
	int c;
	optind = 1;
	while ((c = sb_cli_getopt(argc, argv, "metrics serve", opts)) != -1) {
		switch (c) {
		case -2: return 1;
		case 'l': listen = optarg; break;
		case 'G': sv.path = optarg; break;
		case 'h': metrics_usage(); return 0;
		}
	}
	if (optind < argc)
		return sb_cli_fail("metrics serve: unexpected argument '%s'", argv[optind]);
	struct sockaddr_storage ss;
	socklen_t sslen;
	bool v6;
	if (!parse_listen(listen, &ss, &sslen, &v6))
		return sb_cli_fail("metrics serve: --listen %s: expected HOST:PORT, e.g. %s or [::1]:9464", listen,
				   DEFAULT_LISTEN);
	char msg[512];
	if (mhd_load(msg, sizeof(msg)) < 0)
		return sb_cli_fail("metrics serve: %s", msg);
	/* A registry that is there but unreadable is refused now, not at the first scrape. */
	size_t n;
	if (take_snapshot(&sv, &n, msg, sizeof(msg)) < 0) {
		free(sv.e);
		return sb_cli_fail("metrics serve: %s", msg);
	}
	sb_signals_install();
	/* The server's thread inherits a mask without SIGINT/SIGTERM: they reach this thread. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | (v6 ? MHD_USE_IPv6 : 0), 0,
						NULL, NULL, handle, &sv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
						MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	int start_errno = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!d) {
		sb_reg_close(sv.reg);
		free(sv.e);
		return sb_cli_fail("metrics serve: cannot listen on %s: %s", listen,
				   start_errno ? strerror(start_errno) : "libmicrohttpd refused");
	}
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	char host[INET6_ADDRSTRLEN];
	if (v6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof(host));
	printf("serving http://%s%s%s:%u/metrics from %s\n", v6 ? "[" : "", host, v6 ? "]" : "",
	       info ? (unsigned)info->port : 0u, sv.path);
	fflush(stdout);
	while (!sb_interrupted())
		poll(NULL, 0, 500); /* a signal ends the wait at once (no SA_RESTART) */
	MHD_stop_daemon(d);
	sb_reg_close(sv.reg);
	free(sv.e);
	return 0;
}

int sb_cmd_metrics(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "serve"))
		return metrics_serve(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		metrics_usage();
		return 0;
	}
	if (argc < 2)
		return sb_cli_fail("metrics: expected a subcommand: serve (see sandbench metrics --help)");
	return sb_cli_fail("metrics: unknown subcommand '%s' (did you mean 'serve'?)", argv[1]);
}
