/* The driver registry and the op dispatchers: one place that turns a missing op into a clear
 * "unsupported by DRIVER" error, so scenarios can SKIP instead of crashing. */
#include "drivers/driver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"

#include "core/proc.h"

#define SB_DRIVER(x) extern const struct sb_driver sb_driver_##x;
#include "drivers/list.h"
#undef SB_DRIVER

const struct sb_cap_name sb_cap_names[] = {
	{SB_CAP_EXEC, "exec"},         {SB_CAP_AGENT, "agent"},       {SB_CAP_COPY, "copy"},
	{SB_CAP_CLONE, "clone"},       {SB_CAP_SNAPSHOT, "snapshot"}, {SB_CAP_STATS, "stats"},
	{SB_CAP_NET, "net"},           {SB_CAP_MEMLIMIT, "memlimit"}, {SB_CAP_CPULIMIT, "cpulimit"},
	{SB_CAP_PIDLIMIT, "pidlimit"}, {SB_CAP_ISOLATION, "isolation"}, {SB_CAP_WARM, "warm"},
	{SB_CAP_PIDS, "pids"},         {SB_CAP_VOLUMES, "volumes"},   {SB_CAP_PORTS, "ports"},
	{SB_CAP_RESTART, "restart"},   {0, NULL},
};

void sb_caps_format(unsigned caps, char *buf, size_t len)
{
	buf[0] = '\0';
	for (const struct sb_cap_name *c = sb_cap_names; c->name; c++) {
		if (!(caps & c->bit))
			continue;
		if (buf[0])
			strncat(buf, ",", len - strlen(buf) - 1);
		strncat(buf, c->name, len - strlen(buf) - 1);
	}
	if (!buf[0])
		snprintf(buf, len, "-");
}

static const struct sb_driver *const registry[] = {
#define SB_DRIVER(x) &sb_driver_##x,
#include "drivers/list.h"
#undef SB_DRIVER
};

const struct sb_driver *const *sb_drivers_all(size_t *n)
{
	*n = sizeof(registry) / sizeof(registry[0]);
	return registry;
}

const struct sb_driver *sb_driver_find(const char *name)
{
	size_t n;
	const struct sb_driver *const *all = sb_drivers_all(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

void sb_drivers_probe_all(const struct sb_driver *const *drivers, const struct sb_params *const *params,
			  size_t n, struct sb_probe *out, double timeout_s)
{
	pid_t *pids = calloc(n, sizeof(pid_t));
	int *fds = calloc(n, sizeof(int));
	size_t *got = calloc(n, sizeof(size_t));
	if (!pids || !fds || !got) {
		/* Out of memory: fall back to probing one after another. */
		for (size_t i = 0; i < n; i++)
			drivers[i]->probe(params ? params[i] : NULL, &out[i]);
		free(pids);
		free(fds);
		free(got);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		int p[2];
		fds[i] = -1;
		if (pipe2(p, O_CLOEXEC) < 0 || (pids[i] = fork()) < 0) {
			drivers[i]->probe(params ? params[i] : NULL, &out[i]);
			continue;
		}
		if (pids[i] == 0) {
			setpgid(0, 0); /* its own group, so a stuck probe goes with all it started */
			close(p[0]);
			struct sb_probe r;
			memset(&r, 0, sizeof(r));
			drivers[i]->probe(params ? params[i] : NULL, &r);
			ssize_t w = write(p[1], &r, sizeof(r));
			_exit(w == (ssize_t)sizeof(r) ? 0 : 1); /* no atexit handlers of the parent's */
		}
		close(p[1]);
		fds[i] = p[0];
	}
	int64_t deadline = sb_deadline_after(timeout_s);
	for (;;) {
		struct pollfd pf[64];
		size_t idx[64], np = 0;
		for (size_t i = 0; i < n && np < 64; i++)
			if (fds[i] >= 0) {
				pf[np] = (struct pollfd){fds[i], POLLIN, 0};
				idx[np++] = i;
			}
		if (np == 0 || sb_deadline_passed(deadline))
			break;
		int left = sb_deadline_left_ms(deadline);
		if (poll(pf, np, left > 200 ? 200 : left) <= 0)
			continue;
		for (size_t k = 0; k < np; k++) {
			if (!pf[k].revents)
				continue;
			size_t i = idx[k];
			ssize_t r = read(fds[i], (char *)&out[i] + got[i], sizeof(out[i]) - got[i]);
			if (r > 0)
				got[i] += (size_t)r;
			if (r <= 0 || got[i] == sizeof(out[i])) {
				close(fds[i]);
				fds[i] = -1;
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (pids[i] > 0) {
			if (got[i] != sizeof(out[i])) {
				memset(&out[i], 0, sizeof(out[i]));
				/* Still open at the end: it never answered; closed short: it died. */
				snprintf(out[i].reason, sizeof(out[i].reason), "probe %s",
					 fds[i] >= 0 ? "timed out" : "crashed");
				sb_proc_kill_group(pids[i]); /* kills and reaps */
			} else {
				waitpid(pids[i], NULL, 0);
			}
		}
		if (fds[i] >= 0) {
			close(fds[i]);
			fds[i] = -1;
		}
	}
	free(pids);
	free(fds);
	free(got);
}

static int unsupported(const struct sb_driver *d, const char *op, struct sb_error *err)
{
	return sb_error_set(err, ENOTSUP, "unsupported by %s: %s", d->name, op);
}

#define DISPATCH(d, op, err, ...) ((d)->op ? (d)->op(__VA_ARGS__) : unsupported((d), #op, (err)))

int sb_drv_open(const struct sb_driver *d, const struct sb_params *params, void **state,
		struct sb_error *err)
{
	*state = NULL;
	return d->open ? d->open(params, state, err) : 0;
}

void sb_drv_close(const struct sb_driver *d, void *state)
{
	if (d->close && state)
		d->close(state);
}

int sb_drv_template_prepare(const struct sb_driver *d, const struct sb_box_spec *spec,
			    int64_t deadline_ns, struct sb_error *err)
{
	/* Nothing to prepare is not an error: the template is trivially ready. */
	return d->template_prepare ? d->template_prepare(spec, deadline_ns, err) : 0;
}

int sb_drv_template_drop(const struct sb_driver *d, const struct sb_box_spec *spec, int64_t deadline_ns,
			 struct sb_error *err)
{
	if (!d->template_drop && !d->template_prepare)
		return 0; /* nothing is cached beyond the rootfs, which the caller owns */
	return DISPATCH(d, template_drop, err, spec, deadline_ns, err);
}

int sb_drv_template_droppable(const struct sb_driver *d, struct sb_error *err)
{
	if (d->template_prepare && !d->template_drop)
		return sb_error_set(err, ENOTSUP, "unsupported by %s: template_drop (its template cannot be removed, "
				    "so it cannot start cold)", d->name);
	return 0;
}

int sb_drv_list(const struct sb_driver *d, const struct sb_box_spec *spec, sb_line_fn emit, void *arg,
		int64_t deadline_ns, struct sb_error *err)
{
	return DISPATCH(d, list, err, spec, emit, arg, deadline_ns, err);
}

int sb_drv_inspect(const struct sb_driver *d, struct sb_box *box, struct sb_box_info *out, int64_t deadline_ns,
		   struct sb_error *err)
{
	memset(out, 0, sizeof(*out));
	return DISPATCH(d, box_inspect, err, box, out, deadline_ns, err);
}

int sb_drv_create(const struct sb_driver *d, const struct sb_box_spec *spec, struct sb_box **out,
		  int64_t deadline_ns, struct sb_error *err)
{
	return DISPATCH(d, box_create, err, spec, out, deadline_ns, err);
}

int sb_drv_start(const struct sb_driver *d, struct sb_box *box, int64_t deadline_ns,
		 struct sb_error *err)
{
	return d->box_start ? d->box_start(box, deadline_ns, err) : 0;
}

int sb_drv_exec(const struct sb_driver *d, struct sb_box *box, const struct sb_exec_req *req,
		struct sb_proc_result *res, struct sb_error *err)
{
	memset(res, 0, sizeof(*res));
	return DISPATCH(d, box_exec, err, box, req, res, err);
}

int sb_drv_agent_open(const struct sb_driver *d, struct sb_box *box, struct sb_agent_conn *conn,
		      int64_t deadline_ns, struct sb_error *err)
{
	conn->to_agent = conn->from_agent = -1;
	conn->pid = 0;
	return DISPATCH(d, box_agent_open, err, box, conn, deadline_ns, err);
}

int sb_drv_copy_in(const struct sb_driver *d, struct sb_box *box, const char *host_path,
		   const char *box_path, int64_t deadline_ns, struct sb_error *err)
{
	return DISPATCH(d, box_copy_in, err, box, host_path, box_path, deadline_ns, err);
}

int sb_drv_copy_out(const struct sb_driver *d, struct sb_box *box, const char *box_path,
		    const char *host_path, int64_t deadline_ns, struct sb_error *err)
{
	return DISPATCH(d, box_copy_out, err, box, box_path, host_path, deadline_ns, err);
}

int sb_drv_clone(const struct sb_driver *d, struct sb_box *box, const struct sb_box_spec *spec,
		 struct sb_box **out, int64_t deadline_ns, struct sb_error *err)
{
	return DISPATCH(d, box_clone, err, box, spec, out, deadline_ns, err);
}

int sb_drv_snapshot(const struct sb_driver *d, struct sb_box *box, const char *dir, int64_t deadline_ns,
		    struct sb_error *err)
{
	return DISPATCH(d, box_snapshot, err, box, dir, deadline_ns, err);
}

int sb_drv_restore(const struct sb_driver *d, const struct sb_box_spec *spec, const char *dir,
		   struct sb_box **out, int64_t deadline_ns, struct sb_error *err)
{
	return DISPATCH(d, box_restore, err, spec, dir, out, deadline_ns, err);
}

int sb_drv_stop(const struct sb_driver *d, struct sb_box *box, int64_t deadline_ns,
		struct sb_error *err)
{
	return DISPATCH(d, box_stop, err, box, deadline_ns, err);
}

int sb_drv_addr(const struct sb_driver *d, struct sb_box *box, struct sb_box_addr *out, struct sb_error *err)
{
	memset(out, 0, sizeof(*out));
	return DISPATCH(d, box_addr, err, box, out, err);
}

int sb_drv_destroy(const struct sb_driver *d, struct sb_box *box, int64_t deadline_ns,
		   struct sb_error *err)
{
	if (!box)
		return 0;
	return DISPATCH(d, box_destroy, err, box, deadline_ns, err);
}

int sb_drv_stats(const struct sb_driver *d, struct sb_box *box, struct sb_box_stats *out,
		 struct sb_error *err)
{
	return sb_drv_stats_ex(d, box, 0, out, err);
}

int sb_drv_stats_ex(const struct sb_driver *d, struct sb_box *box, uint32_t skip, struct sb_box_stats *out,
		    struct sb_error *err)
{
	memset(out, 0, sizeof(*out));
	out->skip = skip;
	return DISPATCH(d, box_stats, err, box, out, err);
}

int sb_drv_pids(const struct sb_driver *d, struct sb_box *box, pid_t *pids, size_t cap, size_t *n,
		struct sb_error *err)
{
	*n = 0;
	return DISPATCH(d, box_pids, err, box, pids, cap, n, err);
}

int sb_drv_host_pids(const struct sb_driver *d, struct sb_box *box, struct sb_host_proc *procs, size_t cap,
		     size_t *n, struct sb_error *err)
{
	*n = 0;
	return DISPATCH(d, box_host_pids, err, box, procs, cap, n, err);
}

void sb_agent_conn_close(struct sb_agent_conn *conn)
{
	if (conn->to_agent >= 0)
		close(conn->to_agent);
	if (conn->from_agent >= 0)
		close(conn->from_agent);
	conn->to_agent = conn->from_agent = -1;
	if (conn->pid > 0)
		sb_proc_kill_group(conn->pid);
	conn->pid = 0;
}

int sb_drv_check_params(const struct sb_driver *d, const struct sb_params *params, struct sb_error *err)
{
	if (!d->check_params)
		return 0;
	int rc = d->check_params(params, err);
	return rc < 0 ? sb_error_prefix(err, "driver %s", d->name) : 0;
}
