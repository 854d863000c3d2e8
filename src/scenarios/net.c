/* Network between the sandbox and the host, over the network the driver made (box_addr: a veth
 * pair for native, loopback for the process driver): bulk transfers both ways, four streams at
 * once with their fairness, connections per second, a small round trip, and loopback inside
 * the sandbox. The agent serves both ends: inside through an agent slot, on the host as a child
 * process of sandbench.
 *
 * Only the two addresses box_addr returns are ever used (the report tags them, and the address
 * each receiver saw its peer come from). Every transfer is bounded: the agent's --timeout alarm
 * ends either end (exit 3, naming the bytes moved), a sink refuses more than the bytes asked, the
 * host's end is also killed at its deadline by sandbench, and the box's end by the agent slot's
 * own deadline. A stuck transfer is an error naming which end was stopped. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/signals.h"
#include "core/util.h"
#include "scenarios/wl.h"

struct net_state {
	struct sb_box_addr addr;
};

static struct sb_box_addr *net_addr(struct sb_scn_ctx *ctx)
{
	return &((struct net_state *)sb_wl(ctx)->own)->addr;
}

static int net_setup_slots(struct sb_scn_ctx *ctx, unsigned slots, bool host_network)
{
	enum sb_box_net keep = ctx->spec.net;
	if (host_network)
		ctx->spec.net = SB_BOX_NET_LINK;
	int rc = sb_wl_setup(ctx, slots);
	ctx->spec.net = keep;
	struct sb_wl *w = sb_wl(ctx);
	if (!w)
		return rc;
	w->own = calloc(1, sizeof(struct net_state));
	if (!w->own)
		return sb_error_set(ctx->err, ENOMEM, "out of memory");
	if (rc == 0)
		rc = sb_wl_host_tmp(ctx, NULL);
	if (rc < 0 || !host_network)
		return rc;
	struct sb_box_addr *a = net_addr(ctx);
	if ((rc = sb_drv_addr(ctx->drv, w->box, a, ctx->err)) < 0)
		return rc;
	if (!a->host_ip[0] || !a->box_ip[0])
		return sb_error_set(ctx->err, EADDRNOTAVAIL, "driver %s gave no host<->sandbox addresses", ctx->drv->name);
	sb_scn_tag(ctx, "net_host_ip", "%s", a->host_ip);
	sb_scn_tag(ctx, "net_box_ip", "%s", a->box_ip);
	return 0;
}

static int net_setup(struct sb_scn_ctx *ctx)
{
	return net_setup_slots(ctx, 2, true);
}

static void net_teardown(struct sb_scn_ctx *ctx)
{
	struct sb_wl *w = sb_wl(ctx);
	if (w)
		free(w->own);
	sb_wl_teardown(ctx);
}

/* The bound of one transfer: transfer_timeout, but never past the iteration's own deadline. */
static int transfer_secs(struct sb_scn_ctx *ctx, unsigned *out)
{
	uint64_t t = 0;
	int rc = sb_scn_param_size(ctx, "transfer_timeout", &t);
	if (rc < 0)
		return rc;
	if (t == 0)
		return sb_error_set(ctx->err, EINVAL, "parameter transfer_timeout must be > 0 seconds");
	double left = (double)(ctx->deadline_ns - sb_now_ns()) / 1e9 - 10;
	if (left < 1)
		left = 1;
	*out = (unsigned)((double)t < left ? (double)t : left);
	return 0;
}

static bool mute_peer(struct sb_scn_ctx *ctx)
{
	const char *f = sb_scn_param(ctx, "fault");
	return f && strcmp(f, "mute") == 0;
}

static int check_fault(struct sb_scn_ctx *ctx)
{
	const char *f = sb_scn_param(ctx, "fault");
	if (f && strcmp(f, "none") != 0 && strcmp(f, "mute") != 0)
		return sb_error_set(ctx->err, EINVAL, "parameter fault=%s: expected none or mute", f);
	return 0;
}

/* A listener inside the box, started on slot 0 without waiting (--port 0: the kernel picks a
 * free port, published in a file that slot 1 waits for). *id is the request to collect. */
static int box_listen(struct sb_scn_ctx *ctx, const char *const *args, unsigned secs, uint32_t *id,
		      char *port, size_t plen)
{
	struct sb_wl *w = sb_wl(ctx);
	char pfile[96], tmo[16];
	snprintf(pfile, sizeof(pfile), "/tmp/sandbench-port-%.8s-%u", ctx->run_id, w->seq++);
	/* A listener outlives its client by 2 s: when the peer stalls, the sender's deadline is the one
	 * that fires and names how far it got. */
	snprintf(tmo, sizeof(tmo), "%u", secs + 2);
	const char *argv[24];
	size_t k = 0;
	argv[k++] = ctx->agent;
	for (size_t i = 0; args[i] && k < 18; i++)
		argv[k++] = args[i];
	argv[k++] = "--port";
	argv[k++] = "0";
	argv[k++] = "--port-file";
	argv[k++] = pfile;
	argv[k++] = "--timeout";
	argv[k++] = tmo;
	argv[k] = NULL;
	struct sb_agent *a = w->pool.slots[0].agent;
	*id = sb_agent_next_id(a);
	/* The agent kills it a little after its own alarm, should the alarm not fire. */
	struct sb_agent_run_opts ro = {.timeout_ms = (secs + 5) * 1000};
	int rc = sb_agent_send_argv(a, *id, argv, &ro, ctx->deadline_ns, ctx->err);
	if (rc < 0)
		return rc;
	const char *wargv[] = {ctx->agent, "wait-file", pfile, "--timeout", "10", NULL};
	struct sb_agent_response r;
	rc = sb_pool_run_ok(ctx, &w->pool.slots[1], wargv, &r);
	if (rc == 0) {
		snprintf(port, plen, "%.*s", (int)r.stdout_len, r.stdout_data ? r.stdout_data : "");
		port[strcspn(port, "\n")] = '\0';
		if (!port[0])
			rc = sb_error_set(ctx->err, EBADMSG, "the box's listener published no port");
	}
	sb_agent_response_clear(&r);
	const char *rmv[] = {"rm", "-f", pfile, NULL};
	sb_wl_quiet(ctx, 1, rmv);
	if (rc < 0) {
		/* Take the listener's answer off the connection (it ends by its alarm at the latest). */
		struct sb_error keep = *ctx->err;
		struct sb_agent_response late;
		if (sb_agent_recv_id(a, *id, &late, sb_deadline_after(secs + 8), ctx->err) == 0)
			sb_agent_response_clear(&late);
		*ctx->err = keep;
	}
	return rc;
}

/* Collect the box listener's result (it ends by its own alarm at the latest). */
static int box_collect(struct sb_scn_ctx *ctx, uint32_t id, unsigned secs, const char *what, json_t **out)
{
	struct sb_wl *w = sb_wl(ctx);
	struct sb_agent_response r;
	*out = NULL;
	int rc = sb_agent_recv_id(w->pool.slots[0].agent, id, &r, sb_deadline_after(secs + 8), ctx->err);
	if (rc < 0)
		return sb_error_prefix(ctx->err, "%s: the sandbox's end", what);
	if (!sb_agent_response_ok(&r)) {
		char first[200] = "";
		snprintf(first, sizeof(first), "%s", r.stderr_data ? r.stderr_data : "");
		first[strcspn(first, "\n")] = '\0';
		bool deadline = (r.status == SB_AGENT_EXITED && r.code == 3) || (r.flags & SB_AGENT_RF_TIMED_OUT);
		rc = sb_error_set(ctx->err, deadline ? ETIME : EIO, "%s: the sandbox's end %s (status %u, code %d)%s%s",
				  what, deadline ? "passed its deadline and was stopped" : "failed", r.status, r.code,
				  first[0] ? ": " : "", first);
	} else {
		json_error_t je;
		*out = json_loadb(r.stdout_data ? r.stdout_data : "", r.stdout_len, 0, &je);
		if (!*out)
			rc = sb_error_set(ctx->err, EBADMSG, "%s: the sandbox's end printed no JSON line", what);
	}
	sb_agent_response_clear(&r);
	return rc;
}

static void tag_peer(struct sb_scn_ctx *ctx, json_t *j)
{
	const char *p = json_string_value(json_object_get(j, "peer"));
	if (p)
		sb_scn_tag(ctx, "net_peer_seen", "%s", p);
}

/* host -> box: the box's sink is the receiver whose numbers count. */
static int ingress(struct sb_scn_ctx *ctx, unsigned streams, json_t **sink)
{
	uint64_t size = 0;
	unsigned secs = 0;
	int rc = sb_scn_param_size(ctx, "size", &size);
	if (rc == 0)
		rc = transfer_secs(ctx, &secs);
	if (rc == 0)
		rc = check_fault(ctx);
	if (rc < 0)
		return rc;
	if (size < streams)
		return sb_error_set(ctx->err, EINVAL, "parameter size must be at least the number of streams");
	const char *box_ip = net_addr(ctx)->box_ip;
	char size_s[32], n_s[16], port[16], secs_s[16];
	snprintf(size_s, sizeof(size_s), "%" PRIu64, size);
	snprintf(n_s, sizeof(n_s), "%u", streams);
	snprintf(secs_s, sizeof(secs_s), "%u", secs);
	const char *sargs[] = {"tcp-sink", "--addr", box_ip, "--max", size_s, "--streams", n_s,
			       mute_peer(ctx) ? "--mute" : NULL, NULL};
	uint32_t id = 0;
	if ((rc = box_listen(ctx, sargs, secs, &id, port, sizeof(port))) < 0)
		return rc;
	const char *hargs[] = {"tcp-source", "--addr", box_ip, "--port", port, "--size", size_s,
			       "--streams", n_s, "--timeout", secs_s, NULL};
	json_t *src = NULL;
	int hrc = sb_wl_host_run(ctx, hargs, sb_deadline_after(secs + 2), "host->sandbox transfer", &src);
	json_decref(src);
	struct sb_error herr = *ctx->err;
	rc = box_collect(ctx, id, secs, "host->sandbox transfer", sink);
	if (hrc < 0) {
		/* The sending end's failure says what went wrong first. */
		*ctx->err = herr;
		json_decref(*sink);
		*sink = NULL;
		return hrc;
	}
	return rc;
}

static const struct sb_param_def bulk_params[] = {
	{"size", "64M", "bytes per transfer", "size"},
	{"transfer_timeout", "30", "seconds a transfer may take before both ends are stopped", "size"},
	{"fault", "none", "testing: mute = the receiving end accepts and never reads", "none|mute"},
	{NULL, NULL, NULL, NULL},
};

static int ingress_run_once(struct sb_scn_ctx *ctx)
{
	static const struct sb_wl_field rate[] = {{"mib_per_s", "net_ingress_mib_per_s"}};
	json_t *j = NULL;
	int rc = ingress(ctx, 1, &j);
	if (rc == 0 && (rc = sb_wl_metrics(ctx, j, rate, 1)) == 0)
		tag_peer(ctx, j);
	json_decref(j);
	return rc;
}

static const struct sb_param_def parallel_params[] = {
	{"size", "64M", "bytes per transfer, split over the streams", "size"},
	{"streams", "4", "connections at once (1-64)", "size"},
	{"transfer_timeout", "30", "seconds a transfer may take before both ends are stopped", "size"},
	{"fault", "none", "testing: mute = the receiving end accepts and never reads", "none|mute"},
	{NULL, NULL, NULL, NULL},
};

static int parallel_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t n = 0;
	int rc = sb_scn_param_size(ctx, "streams", &n);
	if (rc < 0)
		return rc;
	if (n < 2 || n > 64)
		return sb_error_set(ctx->err, EINVAL, "parameter streams=%" PRIu64 ": expected 2..64", n);
	json_t *j = NULL;
	double v = 0, spread = 0;
	rc = ingress(ctx, (unsigned)n, &j);
	if (rc == 0)
		rc = sb_wl_num(ctx, j, "mib_per_s", &v);
	if (rc == 0)
		rc = sb_wl_num(ctx, j, "stream_spread_pct", &spread);
	json_t *per = json_object_get(j, "stream_mib_per_s");
	if (rc == 0 && (!json_is_array(per) || json_array_size(per) != n))
		rc = sb_error_set(ctx->err, EBADMSG, "the sandbox's end reported no per-stream rates");
	if (rc == 0) {
		double lo = 0;
		for (size_t i = 0; i < n; i++) {
			double r = json_number_value(json_array_get(per, i));
			lo = i == 0 || r < lo ? r : lo;
		}
		sb_scn_metric(ctx, "net_parallel_mib_per_s", v);
		sb_scn_metric(ctx, "net_parallel_spread_pct", spread);
		sb_scn_metric(ctx, "net_parallel_slowest_stream_mib_per_s", lo);
		tag_peer(ctx, j);
	}
	json_decref(j);
	return rc;
}

/* Wait for a host listener's port file (bounded; the listener must still be alive). */
static int host_port(struct sb_scn_ctx *ctx, struct sb_wl_host_proc *hp, const char *pfile, char *port,
		     size_t plen)
{
	int64_t until = sb_deadline_after(10);
	for (;;) {
		if (sb_read_line(pfile, port, plen) == 0 && port[0])
			return 0;
		if (sb_deadline_passed(until) || sb_interrupted())
			return sb_error_set(ctx->err, ETIMEDOUT, "the host's listener published no port within 10 s");
		if (kill(hp->pid, 0) < 0)
			return sb_error_set(ctx->err, ESRCH, "the host's listener exited before listening");
		nanosleep(&(struct timespec){0, 2000000}, NULL);
	}
}

/* box -> host: the host's sink is the receiver. */
static int egress_run_once(struct sb_scn_ctx *ctx)
{
	struct sb_wl *w = sb_wl(ctx);
	uint64_t size = 0;
	unsigned secs = 0;
	int rc = sb_scn_param_size(ctx, "size", &size);
	if (rc == 0)
		rc = transfer_secs(ctx, &secs);
	if (rc == 0)
		rc = check_fault(ctx);
	if (rc < 0)
		return rc;
	const char *host_ip = net_addr(ctx)->host_ip;
	char size_s[32], secs_s[16], pfile[320], port[16];
	snprintf(size_s, sizeof(size_s), "%" PRIu64, size);
	snprintf(secs_s, sizeof(secs_s), "%u", secs);
	snprintf(pfile, sizeof(pfile), "%s/port-%u", w->host_tmp, w->seq++);
	char lsecs_s[16];
	snprintf(lsecs_s, sizeof(lsecs_s), "%u", secs + 2);
	const char *hargs[] = {"tcp-sink", "--addr", host_ip, "--port", "0", "--port-file", pfile, "--max", size_s,
			       "--timeout", lsecs_s, mute_peer(ctx) ? "--mute" : NULL, NULL};
	struct sb_wl_host_proc hp;
	if ((rc = sb_wl_host_start(ctx, hargs, sb_deadline_after(secs + 4), &hp)) < 0)
		return rc;
	if ((rc = host_port(ctx, &hp, pfile, port, sizeof(port))) < 0) {
		sb_wl_host_kill(&hp);
		return rc;
	}
	unlink(pfile);
	const char *bargv[] = {ctx->agent, "tcp-source", "--addr", host_ip, "--port", port, "--size", size_s,
			       "--timeout", secs_s, NULL};
	json_t *src = NULL, *sink = NULL;
	int brc = sb_wl_json(ctx, 0, bargv, &src);
	json_decref(src);
	struct sb_error berr = *ctx->err;
	if (brc < 0)
		sb_error_prefix(&berr, "sandbox->host transfer: the sandbox's end");
	rc = sb_wl_host_wait(ctx, &hp, "sandbox->host transfer", &sink);
	if (brc < 0) {
		*ctx->err = berr;
		json_decref(sink);
		return brc;
	}
	static const struct sb_wl_field rate[] = {{"mib_per_s", "net_egress_mib_per_s"}};
	if (rc == 0 && (rc = sb_wl_metrics(ctx, sink, rate, 1)) == 0)
		tag_peer(ctx, sink);
	json_decref(sink);
	return rc;
}

static const struct sb_param_def count_params[] = {
	{"count", "1000", "connections (connect-rate) or round trips (rtt) per iteration", "size"},
	{"transfer_timeout", "30", "seconds the exchange may take before both ends are stopped", "size"},
	{NULL, NULL, NULL, NULL},
};

/* A box-side server (accept loop or echo) and a host-side client; the client's JSON. */
static int host_client_box_server(struct sb_scn_ctx *ctx, const char *const *server, const char *client,
				  const char *what, json_t **out)
{
	uint64_t count = 0;
	unsigned secs = 0;
	int rc = sb_scn_param_size(ctx, "count", &count);
	if (rc == 0)
		rc = transfer_secs(ctx, &secs);
	if (rc < 0)
		return rc;
	if (count == 0)
		return sb_error_set(ctx->err, EINVAL, "parameter count must be > 0");
	const char *box_ip = net_addr(ctx)->box_ip;
	char count_s[32], secs_s[16], port[16];
	snprintf(count_s, sizeof(count_s), "%" PRIu64, count);
	snprintf(secs_s, sizeof(secs_s), "%u", secs);
	const char *sargs[12];
	size_t k = 0;
	for (size_t i = 0; server[i] && k < 6; i++)
		sargs[k++] = server[i];
	sargs[k++] = "--addr";
	sargs[k++] = box_ip;
	if (strcmp(server[0], "tcp-accept-loop") == 0) {
		sargs[k++] = "--count";
		sargs[k++] = count_s;
	}
	sargs[k] = NULL;
	uint32_t id = 0;
	if ((rc = box_listen(ctx, sargs, secs, &id, port, sizeof(port))) < 0)
		return rc;
	const char *hargs[] = {client, "--addr", box_ip, "--port", port, "--count", count_s, "--timeout", secs_s, NULL};
	int hrc = sb_wl_host_run(ctx, hargs, sb_deadline_after(secs + 2), what, out);
	struct sb_error herr = *ctx->err;
	json_t *server_json = NULL;
	rc = box_collect(ctx, id, secs, what, &server_json);
	if (rc == 0)
		tag_peer(ctx, server_json);
	json_decref(server_json);
	if (hrc < 0) {
		*ctx->err = herr;
		return hrc;
	}
	return rc;
}

static int connect_rate_run_once(struct sb_scn_ctx *ctx)
{
	const char *server[] = {"tcp-accept-loop", NULL};
	static const struct sb_wl_field fields[] = {
		{"connects_per_s", "net_connects_per_s"},
		{"lat_p50_us", "net_connect_p50_us"},
		{"lat_p99_us", "net_connect_p99_us"},
	};
	json_t *j = NULL;
	int rc = host_client_box_server(ctx, server, "tcp-connect-rate", "connections host->sandbox", &j);
	if (rc == 0)
		rc = sb_wl_metrics(ctx, j, fields, 3);
	json_decref(j);
	return rc;
}

static int rtt_run_once(struct sb_scn_ctx *ctx)
{
	const char *server[] = {"tcp-echo", NULL};
	static const struct sb_wl_field fields[] = {
		{"rtt_p50_us", "net_rtt_p50_us"},
		{"rtt_p99_us", "net_rtt_p99_us"},
		{"rtt_mean_us", "net_rtt_mean_us"},
	};
	json_t *j = NULL;
	int rc = host_client_box_server(ctx, server, "tcp-rtt", "round trips host->sandbox->host", &j);
	if (rc == 0)
		rc = sb_wl_metrics(ctx, j, fields, 3);
	json_decref(j);
	return rc;
}

static const struct sb_param_def loopback_params[] = {
	{"size", "64M", "bytes per transfer", "size"},
	{"transfer_timeout", "30", "seconds a transfer may take before both ends are stopped", "size"},
	{NULL, NULL, NULL, NULL},
};

static int loopback_setup(struct sb_scn_ctx *ctx)
{
	return net_setup_slots(ctx, 2, false);
}

/* Both ends inside the sandbox, over its own 127.0.0.1. */
static int loopback_run_once(struct sb_scn_ctx *ctx)
{
	uint64_t size = 0;
	unsigned secs = 0;
	int rc = sb_scn_param_size(ctx, "size", &size);
	if (rc == 0)
		rc = transfer_secs(ctx, &secs);
	if (rc < 0)
		return rc;
	char size_s[32], secs_s[16], port[16];
	snprintf(size_s, sizeof(size_s), "%" PRIu64, size);
	snprintf(secs_s, sizeof(secs_s), "%u", secs);
	const char *sargs[] = {"tcp-sink", "--addr", "127.0.0.1", "--max", size_s, NULL};
	uint32_t id = 0;
	if ((rc = box_listen(ctx, sargs, secs, &id, port, sizeof(port))) < 0)
		return rc;
	const char *src_argv[] = {ctx->agent, "tcp-source", "--addr", "127.0.0.1", "--port", port, "--size", size_s,
				  "--timeout", secs_s, NULL};
	json_t *src = NULL, *sink = NULL;
	int src_rc = sb_wl_json(ctx, 1, src_argv, &src);
	json_decref(src);
	struct sb_error serr = *ctx->err;
	rc = box_collect(ctx, id, secs, "loopback transfer", &sink);
	if (src_rc < 0) {
		*ctx->err = serr;
		json_decref(sink);
		return src_rc;
	}
	double v = 0;
	if (rc == 0)
		rc = sb_wl_num(ctx, sink, "mib_per_s", &v);
	if (rc == 0)
		sb_scn_metric(ctx, "net_loopback_mib_per_s", v);
	json_decref(sink);
	return rc;
}

static const struct sb_metric_def ingress_metrics[] = {
	{"net_ingress_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "host -> sandbox over the driver's network, at the receiver"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def egress_metrics[] = {
	{"net_egress_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "sandbox -> host over the driver's network, at the receiver"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def parallel_metrics[] = {
	{"net_parallel_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "host -> sandbox, all streams together"},
	{"net_parallel_spread_pct", "%", SB_LOWER_IS_BETTER, "(fastest - slowest stream) / mean stream rate: fairness"},
	{"net_parallel_slowest_stream_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "the slowest stream's rate"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def connect_metrics[] = {
	{"net_connects_per_s", "conn/s", SB_HIGHER_IS_BETTER, "TCP connections host -> sandbox per second"},
	{"net_connect_p50_us", "us", SB_LOWER_IS_BETTER, "median connect() time"},
	{"net_connect_p99_us", "us", SB_LOWER_IS_BETTER, "99th percentile connect() time"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def rtt_metrics[] = {
	{"net_rtt_p50_us", "us", SB_LOWER_IS_BETTER, "median 64-byte request/response round trip host <-> sandbox"},
	{"net_rtt_p99_us", "us", SB_LOWER_IS_BETTER, "99th percentile round trip"},
	{"net_rtt_mean_us", "us", SB_LOWER_IS_BETTER, "mean round trip"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};
static const struct sb_metric_def loopback_metrics[] = {
	{"net_loopback_mib_per_s", "MiB/s", SB_HIGHER_IS_BETTER, "TCP over 127.0.0.1 inside the sandbox"},
	{NULL, NULL, SB_LOWER_IS_BETTER, NULL},
};

#define NET_SCENARIO(ident, nm, ax, desc, cp, prm, mets, su, run)                                            \
	const struct sb_scenario sb_scn_##ident = {                                                          \
		.name = nm, .axis = ax, .description = desc, .caps = cp,                                      \
		.profiles = SB_PROFILE_STANDARD | SB_PROFILE_FULL, .params = prm, .metrics = mets,            \
		.default_runs = 5, .default_warmup = 1, .setup = su, .run_once = run,                         \
		.teardown = net_teardown,                                                                     \
	}

NET_SCENARIO(throughput_net_ingress, "throughput-net-ingress", "throughput",
	     "host -> sandbox TCP over the driver's own network, MiB/s", SB_CAP_AGENT | SB_CAP_NET, bulk_params,
	     ingress_metrics, net_setup, ingress_run_once);
NET_SCENARIO(throughput_net_egress, "throughput-net-egress", "throughput",
	     "sandbox -> host TCP over the driver's own network, MiB/s", SB_CAP_AGENT | SB_CAP_NET, bulk_params,
	     egress_metrics, net_setup, egress_run_once);
NET_SCENARIO(throughput_net_parallel, "throughput-net-parallel", "throughput",
	     "4 TCP streams host -> sandbox at once: total MiB/s and the spread between streams",
	     SB_CAP_AGENT | SB_CAP_NET, parallel_params, parallel_metrics, net_setup, parallel_run_once);
NET_SCENARIO(throughput_net_connect_rate, "throughput-net-connect-rate", "throughput",
	     "TCP connections per second from the host into the sandbox", SB_CAP_AGENT | SB_CAP_NET, count_params,
	     connect_metrics, net_setup, connect_rate_run_once);
NET_SCENARIO(throughput_net_loopback, "throughput-net-loopback", "throughput",
	     "TCP over 127.0.0.1 inside the sandbox, MiB/s", SB_CAP_AGENT, loopback_params, loopback_metrics,
	     loopback_setup, loopback_run_once);
NET_SCENARIO(latency_net_rtt, "latency-net-rtt", "latency",
	     "small request/response round trip host <-> sandbox over the driver's network", SB_CAP_AGENT | SB_CAP_NET,
	     count_params, rtt_metrics, net_setup, rtt_run_once);
