/* The `cmd` driver: a runtime sandbench does not know, described by a small config file of command
 * templates (docs/cmd-driver.md; example docs/examples/cmd-bwrap.conf), given per run with
 * `--param config=PATH` (or $SANDBENCH_CMD_CONFIG, which `sandbench drivers` can also see).
 *
 * Templates are split into words like a shell would (quotes, backslashes) but never run through
 * one; placeholders are then replaced inside each word, and a word that is exactly {argv} becomes
 * the command's words. Each box gets a state directory /run/sandbench/cmd/<name> with an owner
 * marker, so doctor can find (and destroy, with the config's own destroy command) what a crashed
 * run left behind. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/signals.h"
#include "core/util.h"
#include "drivers/cmd.h"
#include "drivers/driver.h"
#include "drivers/runtime_util.h"

extern const struct sb_driver sb_driver_cmd;

#define CMD_DIR SB_RT_STATE_ROOT "/cmd"
#define CMD_ENV "SANDBENCH_CMD_CONFIG"

static const struct sb_param_def cmd_params[] = {
	{"config", NULL, "the runtime's config file of command templates (docs/cmd-driver.md)", NULL},
	{NULL, NULL, NULL, NULL},
};

enum tpl {
	T_VERSION, T_PROBE, T_CREATE, T_START, T_DAEMON, T_READY, T_EXEC, T_AGENT, T_STOP, T_DESTROY, T_N
};
static const char *const tpl_keys[T_N] = {
	"version", "probe", "create", "start", "daemon", "ready", "exec", "agent", "stop", "destroy",
};

struct cmd_config {
	char path[1024];
	char *tpl[T_N];          /* raw template text, NULL when absent */
	unsigned caps;
};

struct sb_box {
	struct cmd_config cfg;
	char name[128];
	char rootfs[2048];
	char agent_host[2048];
	char state_dir[256];
	char owner[64];
	pid_t daemon;            /* 0 when none */
	unsigned long long daemon_start;
	int daemon_stdin;        /* write end held so the daemon sees EOF when we die */
	bool started, stopped;
};

static void config_free(struct cmd_config *c)
{
	for (int i = 0; i < T_N; i++) {
		free(c->tpl[i]);
		c->tpl[i] = NULL;
	}
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Parse `key = value` lines (# comments, a trailing backslash continues a line). */
static int config_load(const char *path, struct cmd_config *c, struct sb_error *err)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->caps = SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_ISOLATION;
	char *text = NULL;
	int rc = sb_read_file(path, &text, NULL, err);
	if (rc < 0)
		return sb_error_prefix(err, "cmd config");
	/* join continuation lines in place: "\\\n" and the next line's indentation become one space */
	for (char *p = text; (p = strstr(p, "\\\n"));) {
		char *q = p + 2;
		while (*q == ' ' || *q == '\t')
			q++;
		*p = ' ';
		memmove(p + 1, q, strlen(q) + 1);
	}
	int lineno = 0;
	for (char *save, *line = strtok_r(text, "\n", &save); line && rc == 0; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		char *l = trim(line);
		if (!*l || *l == '#')
			continue;
		char *eq = strchr(l, '=');
		if (!eq) {
			rc = sb_error_set(err, EINVAL, "%s:%d: expected 'key = value'", path, lineno);
			break;
		}
		*eq = '\0';
		char *key = trim(l), *val = trim(eq + 1);
		int t = -1;
		for (int i = 0; i < T_N; i++)
			if (strcmp(key, tpl_keys[i]) == 0)
				t = i;
		if (t >= 0) {
			free(c->tpl[t]);
			if (!(c->tpl[t] = strdup(val)))
				rc = sb_error_set(err, ENOMEM, "out of memory");
		} else if (strcmp(key, "caps") == 0) {
			c->caps = 0;
			for (char *s2, *w = strtok_r(val, ", ", &s2); w; w = strtok_r(NULL, ", ", &s2)) {
				unsigned bit = 0;
				for (const struct sb_cap_name *cn = sb_cap_names; cn->name; cn++)
					if (strcmp(cn->name, w) == 0)
						bit = cn->bit;
				if (!bit) {
					rc = sb_error_set(err, EINVAL, "%s:%d: unknown capability '%s'", path, lineno, w);
					break;
				}
				c->caps |= bit;
			}
		} else {
			const char *keys[T_N + 2];
			for (int i = 0; i < T_N; i++)
				keys[i] = tpl_keys[i];
			keys[T_N] = "caps";
			keys[T_N + 1] = NULL;
			const char *near = sb_closest_name(key, keys, T_N + 1);
			rc = sb_error_set(err, EINVAL, "%s:%d: unknown key '%s'%s%s%s", path, lineno, key,
					  near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
		}
	}
	free(text);
	if (rc == 0 && !c->tpl[T_EXEC])
		rc = sb_error_set(err, EINVAL, "%s: no 'exec' template (the one required key)", path);
	for (int t = T_EXEC; rc == 0 && t <= T_AGENT; t++)
		if (c->tpl[t] && !strstr(c->tpl[t], "{argv}"))
			rc = sb_error_set(err, EINVAL, "%s: the '%s' template has no {argv}", path, tpl_keys[t]);
	if (rc == 0 && c->tpl[T_READY] && !c->tpl[T_DAEMON])
		rc = sb_error_set(err, EINVAL, "%s: 'ready' needs a 'daemon'", path);
	if (rc < 0)
		config_free(c);
	return rc;
}

/* ---- templates ---- */

struct vars {
	const struct sb_box *b;
	const char *const *argv; /* for {argv}, may be NULL */
	pid_t child;             /* resolved {child_pid}, 0 = not available */
};

static const char *var_value(const struct vars *v, const char *name, char *tmp, size_t len)
{
	const struct sb_box *b = v->b;
	if (!strcmp(name, "name"))
		return b->name;
	if (!strcmp(name, "rootfs"))
		return b->rootfs;
	if (!strcmp(name, "agent"))
		return sb_driver_cmd.agent_in_box;
	if (!strcmp(name, "agent_host"))
		return b->agent_host;
	if (!strcmp(name, "state_dir"))
		return b->state_dir;
	if (!strcmp(name, "owner"))
		return b->owner;
	if (!strcmp(name, "pid")) {
		snprintf(tmp, len, "%d", (int)b->daemon);
		return tmp;
	}
	if (!strcmp(name, "child_pid")) {
		snprintf(tmp, len, "%d", (int)v->child);
		return tmp;
	}
	return NULL;
}

/* Append word w to a with every known {placeholder} replaced. */
static void add_word(struct sb_argv *a, const char *w, const struct vars *v)
{
	char *out = NULL;
	size_t olen = 0;
	FILE *f = open_memstream(&out, &olen);
	if (!f) {
		a->oom = true;
		return;
	}
	for (const char *p = w; *p;) {
		const char *close = *p == '{' ? strchr(p, '}') : NULL;
		if (close && close - p < 32) {
			char name[32], tmp[32];
			snprintf(name, sizeof(name), "%.*s", (int)(close - p - 1), p + 1);
			const char *val = var_value(v, name, tmp, sizeof(tmp));
			if (val) {
				fputs(val, f);
				p = close + 1;
				continue;
			}
		}
		fputc(*p++, f); /* unknown braces (e.g. a shell's ${x}) pass through */
	}
	fclose(f);
	sb_argv_add(a, out ? out : "");
	if (!out)
		a->oom = true;
	free(out);
}

/* Split template t into words (single quotes literal, double quotes with \" \\, backslash escapes)
 * and expand them into a. */
static int expand(const char *t, const struct vars *v, struct sb_argv *a, struct sb_error *err)
{
	char *word = malloc(strlen(t) + 1);
	if (!word)
		return sb_error_set(err, ENOMEM, "out of memory");
	const char *p = t;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		size_t n = 0;
		bool quoted = false;
		while (*p && !isspace((unsigned char)*p)) {
			if (*p == '\'') {
				const char *e = strchr(p + 1, '\'');
				if (!e) {
					free(word);
					return sb_error_set(err, EINVAL, "unterminated ' in: %s", t);
				}
				memcpy(word + n, p + 1, (size_t)(e - p - 1));
				n += (size_t)(e - p - 1);
				p = e + 1;
				quoted = true;
			} else if (*p == '"') {
				for (p++; *p && *p != '"'; p++) {
					if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					word[n++] = *p;
				}
				if (*p != '"') {
					free(word);
					return sb_error_set(err, EINVAL, "unterminated \" in: %s", t);
				}
				p++;
				quoted = true;
			} else if (*p == '\\' && p[1]) {
				word[n++] = p[1];
				p += 2;
			} else {
				word[n++] = *p++;
			}
		}
		word[n] = '\0';
		if (!quoted && strcmp(word, "{argv}") == 0)
			sb_argv_add_all(a, v->argv);
		else
			add_word(a, word, v);
	}
	free(word);
	if (!a->v)
		return sb_error_set(err, EINVAL, "empty command template");
	return sb_argv_ok(a, err);
}

int sb_cmd_config_check(const char *path, struct sb_error *err)
{
	struct sb_box b = {.daemon = 1};
	int rc = config_load(path, &b.cfg, err);
	if (rc < 0)
		return rc;
	snprintf(b.name, sizeof(b.name), "sb-check");
	static const char *const argv[] = {"/bin/true", "a b", NULL};
	struct vars v = {.b = &b, .argv = argv, .child = 2};
	for (int t = 0; t < T_N && rc == 0; t++) {
		struct sb_argv a = {0};
		if (b.cfg.tpl[t] && (rc = expand(b.cfg.tpl[t], &v, &a, err)) < 0)
			sb_error_prefix(err, "%s: '%s' template", path, tpl_keys[t]);
		sb_argv_free(&a);
	}
	config_free(&b.cfg);
	return rc;
}

/* First child of the daemon (the sandboxed process of most launchers), waited for until the
 * deadline; 0 when the template does not use {child_pid}. */
static int resolve_child(const struct sb_box *b, const char *t, int64_t deadline_ns, pid_t *child,
			 struct sb_error *err)
{
	*child = 0;
	if (!t || !strstr(t, "{child_pid}"))
		return 0;
	if (b->daemon <= 0)
		return sb_error_set(err, EINVAL, "cmd: {child_pid} used without a running daemon");
	for (;;) {
		pid_t kids[4];
		if (sb_rt_descendants(b->daemon, kids, 1) > 0) {
			*child = kids[0];
			return 0;
		}
		if (!sb_rt_proc_alive(b->daemon, b->daemon_start))
			return sb_error_set(err, ESRCH, "cmd: the daemon exited");
		if (sb_deadline_passed(deadline_ns) || sb_interrupted())
			return sb_error_set(err, ETIMEDOUT, "cmd: the daemon started no child before the deadline");
		usleep(200);
	}
}

/* Run template t to completion; a non-zero exit is an error naming the template. */
static int run_tpl(struct sb_box *b, enum tpl t, int64_t deadline_ns, struct sb_error *err)
{
	if (!b->cfg.tpl[t])
		return 0;
	struct vars v = {.b = b};
	struct sb_argv a = {0};
	int rc = resolve_child(b, b->cfg.tpl[t], deadline_ns, &v.child, err);
	if (rc == 0)
		rc = expand(b->cfg.tpl[t], &v, &a, err);
	if (rc == 0 && (rc = sb_rt_run(sb_argv_get(&a), deadline_ns, NULL, err)) < 0)
		sb_error_prefix(err, "cmd %s", tpl_keys[t]);
	sb_argv_free(&a);
	return rc;
}

/* ---- ops ---- */

static const char *config_path(const struct sb_params *p)
{
	const char *c = sb_params_get(p, "config");
	return c && *c ? c : getenv(CMD_ENV);
}

static int cmd_check_params(const struct sb_params *params, struct sb_error *err)
{
	const char *path = config_path(params);
	return path ? sb_cmd_config_check(path, err) : 0;
}

static void cmd_probe(const struct sb_params *params, struct sb_probe *out)
{
	memset(out, 0, sizeof(*out));
	const char *path = getenv(CMD_ENV);
	if (!path || !*path) {
		/* Without a config the driver is a framework: each run names its runtime with
		 * --param config=PATH, and template_prepare checks that runtime's probe command. */
		out->usable = true;
		snprintf(out->version, sizeof(out->version), "generic");
		out->caps = sb_driver_cmd.caps;
		return;
	}
	struct cmd_config c;
	struct sb_error e = {0};
	if (config_load(path, &c, &e) < 0) {
		snprintf(out->reason, sizeof(out->reason), "%s", e.msg);
		return;
	}
	struct sb_box fake = {.cfg = c};
	struct vars v = {.b = &fake};
	struct sb_argv a = {0};
	snprintf(out->version, sizeof(out->version), "unknown");
	if (c.tpl[T_VERSION] && expand(c.tpl[T_VERSION], &v, &a, NULL) == 0)
		sb_rt_version(sb_argv_get(&a), 5, out->version, sizeof(out->version));
	sb_argv_free(&a);
	out->usable = true;
	if (c.tpl[T_PROBE]) {
		if (expand(c.tpl[T_PROBE], &v, &a, &e) < 0 || sb_rt_run(sb_argv_get(&a), sb_deadline_after(20), NULL, &e) < 0) {
			out->usable = false;
			snprintf(out->reason, sizeof(out->reason), "probe command failed: %s", e.msg);
		}
		sb_argv_free(&a);
	}
	out->caps = out->usable ? c.caps : 0;
	config_free(&c);
}

static int cmd_template_prepare(const struct sb_box_spec *spec, int64_t deadline_ns, struct sb_error *err)
{
	const char *path = config_path(spec->params);
	if (!path)
		return sb_error_set(err, ENOTSUP, "cmd driver needs --param config=PATH (docs/cmd-driver.md)");
	struct sb_box b = {0};
	int rc = config_load(path, &b.cfg, err);
	if (rc < 0 || !b.cfg.tpl[T_PROBE]) {
		if (rc == 0)
			config_free(&b.cfg);
		return rc;
	}
	snprintf(b.rootfs, sizeof(b.rootfs), "%s", spec->rootfs ? spec->rootfs : "");
	snprintf(b.agent_host, sizeof(b.agent_host), "%s", spec->agent_path ? spec->agent_path : "");
	rc = run_tpl(&b, T_PROBE, deadline_ns, err);
	config_free(&b.cfg);
	return rc;
}

static int write_marker(const struct sb_box *b, struct sb_error *err)
{
	char extra[2048];
	snprintf(extra, sizeof(extra), "config=%s\nrootfs=%s\nagent_host=%s\ndaemon_pid=%d\ndaemon_start=%llu\n",
		 b->cfg.path, b->rootfs, b->agent_host, (int)b->daemon, b->daemon_start);
	return sb_rt_marker_write(b->state_dir, "cmd", b->name, extra, err);
}

static int cmd_destroy(struct sb_box *b, int64_t deadline_ns, struct sb_error *err);

static int cmd_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t deadline_ns,
		      struct sb_error *err)
{
	*out = NULL;
	const char *path = config_path(spec->params);
	if (!path)
		return sb_error_set(err, ENOTSUP, "cmd driver needs --param config=PATH (docs/cmd-driver.md)");
	if (!spec->name || !*spec->name || strchr(spec->name, '/') || strlen(spec->name) > 100)
		return sb_error_set(err, EINVAL, "cmd: bad box name");
	struct sb_box *b = calloc(1, sizeof(*b));
	if (!b)
		return sb_error_set(err, ENOMEM, "out of memory");
	b->daemon_stdin = -1;
	int rc = config_load(path, &b->cfg, err);
	if (rc < 0) {
		free(b);
		return rc;
	}
	snprintf(b->name, sizeof(b->name), "%s", spec->name);
	snprintf(b->rootfs, sizeof(b->rootfs), "%s", spec->rootfs ? spec->rootfs : "");
	snprintf(b->agent_host, sizeof(b->agent_host), "%s", spec->agent_path ? spec->agent_path : "");
	snprintf(b->state_dir, sizeof(b->state_dir), "%s/%s", CMD_DIR, spec->name);
	snprintf(b->owner, sizeof(b->owner), "%d:%llu", (int)getpid(), sb_rt_proc_start(getpid()));
	/* The state dir appears with its marker in it (then rewritten with the config's details), so
	 * a run killed at any moment leaves nothing doctor cannot see. */
	if ((rc = sb_mkdir_p(CMD_DIR, 0700)) < 0)
		rc = sb_error_set(err, -rc, "cannot create %s: %s", CMD_DIR, strerror(-rc));
	else
		rc = sb_rt_state_dir_make(b->state_dir, "cmd", b->name, err);
	if (rc < 0) {
		config_free(&b->cfg);
		free(b);
		return rc;
	}
	*out = b;
	if ((rc = write_marker(b, err)) == 0)
		rc = run_tpl(b, T_CREATE, deadline_ns, err);
	if (rc < 0) {
		/* Callers get nothing to destroy on failure: run destroy here, with a budget of its own. */
		struct sb_error e = {0};
		cmd_destroy(b, sb_deadline_after(30), &e);
		*out = NULL;
	}
	return rc;
}

static int start_daemon(struct sb_box *b, int64_t deadline_ns, struct sb_error *err)
{
	struct vars v = {.b = b};
	struct sb_argv a = {0};
	int rc = expand(b->cfg.tpl[T_DAEMON], &v, &a, err);
	int in_p[2];
	if (rc == 0 && pipe2(in_p, O_CLOEXEC) < 0)
		rc = sb_error_set(err, errno, "pipe: %s", strerror(errno));
	if (rc == 0) {
		rc = sb_rt_spawn(sb_argv_get(&a), NULL, in_p[0], -1, -1, -1, &b->daemon, err);
		close(in_p[0]);
		if (rc < 0)
			close(in_p[1]);
		else
			b->daemon_stdin = in_p[1];
	}
	sb_argv_free(&a);
	if (rc < 0)
		return rc;
	b->daemon_start = sb_rt_proc_start(b->daemon);
	if ((rc = write_marker(b, err)) < 0)
		return rc;
	/* ready: retried until it exits 0, while the daemon lives */
	while (b->cfg.tpl[T_READY]) {
		struct sb_error e = {0};
		if (run_tpl(b, T_READY, deadline_ns, &e) == 0)
			break;
		if (!sb_rt_proc_alive(b->daemon, b->daemon_start))
			return sb_error_set(err, ESRCH, "cmd: the daemon exited before it was ready");
		if (sb_deadline_passed(deadline_ns) || sb_interrupted())
			return sb_error_set(err, ETIMEDOUT, "cmd: not ready before the deadline (%s)", e.msg);
		usleep(1000);
	}
	return 0;
}

static int cmd_start(struct sb_box *b, int64_t deadline_ns, struct sb_error *err)
{
	b->started = true;
	int rc = run_tpl(b, T_START, deadline_ns, err);
	if (rc == 0 && b->cfg.tpl[T_DAEMON])
		rc = start_daemon(b, deadline_ns, err);
	return rc;
}

static int build_cmd(struct sb_box *b, enum tpl t, const char *const *argv, int64_t deadline_ns,
		     struct sb_argv *a, struct sb_error *err)
{
	struct vars v = {.b = b, .argv = argv};
	int rc = resolve_child(b, b->cfg.tpl[t], deadline_ns, &v.child, err);
	return rc < 0 ? rc : expand(b->cfg.tpl[t], &v, a, err);
}

static int cmd_exec(struct sb_box *b, const struct sb_exec_req *req, struct sb_proc_result *res,
		    struct sb_error *err)
{
	struct sb_argv a = {0};
	int rc = build_cmd(b, T_EXEC, req->argv, req->deadline_ns, &a, err);
	if (rc == 0) {
		const char *none[] = {NULL};
		rc = sb_rt_exec(sb_argv_get(&a), &(struct sb_exec_req){.argv = none, .stdin_data = req->stdin_data,
			.stdin_len = req->stdin_len, .passthrough = req->passthrough, .discard_stdout = req->discard_stdout,
			.out_cap = req->out_cap, .deadline_ns = req->deadline_ns}, NULL, res, err);
	}
	sb_argv_free(&a);
	return rc;
}

static int cmd_agent_open(struct sb_box *b, struct sb_agent_conn *conn, int64_t deadline_ns,
			  struct sb_error *err)
{
	const char *argv[] = {sb_driver_cmd.agent_in_box, "serve", NULL};
	struct sb_argv a = {0};
	int rc = build_cmd(b, b->cfg.tpl[T_AGENT] ? T_AGENT : T_EXEC, argv, deadline_ns, &a, err);
	if (rc == 0)
		rc = sb_proc_spawn_piped(sb_argv_get(&a), &conn->pid, &conn->to_agent, &conn->from_agent, NULL, err);
	sb_argv_free(&a);
	return rc;
}

static void kill_daemon(struct sb_box *b, int64_t deadline_ns)
{
	if (b->daemon > 0) {
		/* A launcher's child is often pid 1 of a namespace whose orphans we must reap. */
		pid_t kid[1];
		char ns[64] = "";
		bool alive = sb_rt_proc_alive(b->daemon, b->daemon_start);
		if (alive && sb_rt_descendants(b->daemon, kid, 1) == 1)
			sb_rt_pidns(kid[0], ns, sizeof(ns));
		if (alive) {
			kill(-b->daemon, SIGKILL);
			kill(b->daemon, SIGKILL);
		}
		sb_rt_wait_gone_ns(b->daemon, ns, deadline_ns);
		b->daemon = 0;
	}
	if (b->daemon_stdin >= 0)
		close(b->daemon_stdin);
	b->daemon_stdin = -1;
}

static int cmd_stop(struct sb_box *b, int64_t deadline_ns, struct sb_error *err)
{
	b->stopped = true;
	int rc = run_tpl(b, T_STOP, deadline_ns, err);
	kill_daemon(b, deadline_ns);
	return rc;
}

static int cmd_destroy(struct sb_box *b, int64_t deadline_ns, struct sb_error *err)
{
	int rc = 0;
	struct sb_error e = {0};
	if (b->started && !b->stopped && run_tpl(b, T_STOP, deadline_ns, &e) < 0)
		rc = sb_error_set(err, e.code, "%s", e.msg);
	kill_daemon(b, deadline_ns);
	if (run_tpl(b, T_DESTROY, deadline_ns, &e) < 0 && rc == 0)
		rc = sb_error_set(err, e.code, "%s", e.msg);
	sb_rt_umount_below(b->state_dir);
	int r = sb_rm_rf(b->state_dir);
	if (r < 0 && rc == 0)
		rc = sb_error_set(err, -r, "cannot remove %s: %s", b->state_dir, strerror(-r));
	config_free(&b->cfg);
	free(b);
	return rc;
}

static int cmd_pids(struct sb_box *b, pid_t *pids, size_t cap, size_t *n, struct sb_error *err)
{
	if (b->daemon <= 0)
		return sb_error_set(err, ENOTSUP, "cmd: pids need a daemon");
	pid_t all[1024];
	all[0] = b->daemon;
	size_t k = 1 + sb_rt_descendants(b->daemon, all + 1, 1023);
	for (size_t i = 0; i < k; i++)
		if (i < cap)
			pids[i] = all[i];
	*n = k;
	return 0;
}

static int cmd_leftovers(bool clean, sb_line_fn emit, void *arg, struct sb_error *err)
{
	int found = sb_rt_unfinished_dirs(CMD_DIR, clean, emit, arg), rc = 0;
	DIR *d = opendir(CMD_DIR);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char dir[512], *text = NULL, line[1024];
		snprintf(dir, sizeof(dir), "%s/%s", CMD_DIR, de->d_name);
		if (sb_rt_marker_read(dir, &text) < 0)
			continue;
		char drv[32], owner[32];
		sb_rt_kv(text, "driver", drv, sizeof(drv));
		if (strcmp(drv, "cmd") != 0 || sb_rt_marker_owner_alive(text)) {
			free(text);
			continue;
		}
		found++;
		sb_rt_kv(text, "owner_pid", owner, sizeof(owner));
		snprintf(line, sizeof(line), "box %s, state %s (owner pid %s is gone)", de->d_name, dir, owner);
		if (emit)
			emit(arg, line);
		if (clean) {
			struct sb_box *b = calloc(1, sizeof(*b));
			char cfg[1024], pid_s[32], start_s[32];
			sb_rt_kv(text, "config", cfg, sizeof(cfg));
			struct sb_error e = {0};
			if (b && config_load(cfg, &b->cfg, &e) == 0) {
				/* Destroy it the way its owner would have, from what the marker recorded. */
				snprintf(b->name, sizeof(b->name), "%s", de->d_name);
				snprintf(b->state_dir, sizeof(b->state_dir), "%s", dir);
				sb_rt_kv(text, "rootfs", b->rootfs, sizeof(b->rootfs));
				sb_rt_kv(text, "agent_host", b->agent_host, sizeof(b->agent_host));
				sb_rt_kv(text, "daemon_pid", pid_s, sizeof(pid_s));
				sb_rt_kv(text, "daemon_start", start_s, sizeof(start_s));
				b->daemon = (pid_t)atoi(pid_s);
				b->daemon_start = strtoull(start_s, NULL, 10);
				b->daemon_stdin = -1;
				b->started = true;
				int r = cmd_destroy(b, sb_deadline_after(30), &e);
				if (r < 0 && rc == 0)
					rc = sb_error_set(err, e.code, "%s", e.msg);
				snprintf(line, sizeof(line), "%s %s", r < 0 ? "could not destroy" : "destroyed", de->d_name);
			} else {
				free(b);
				sb_rm_rf(dir);
				snprintf(line, sizeof(line), "removed %s (config %s unreadable: %s)", dir, cfg, e.msg);
			}
			if (emit)
				emit(arg, line);
		}
		free(text);
	}
	if (d)
		closedir(d);
	return rc < 0 ? rc : found;
}

const struct sb_driver sb_driver_cmd = {
	.name = "cmd",
	.summary = "any runtime, from a config file of command templates (--param config=PATH; docs/cmd-driver.md)",
	.caps = SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_ISOLATION,
	.params = cmd_params,
	.image = SB_IMAGE_ROOTFS,
	.agent_in_box = "/sandbench-agent",
	.probe = cmd_probe,
	.template_prepare = cmd_template_prepare,
	.box_create = cmd_create,
	.box_start = cmd_start,
	.box_exec = cmd_exec,
	.box_agent_open = cmd_agent_open,
	.box_stop = cmd_stop,
	.box_destroy = cmd_destroy,
	.box_pids = cmd_pids,
	.leftovers = cmd_leftovers,
	.check_params = cmd_check_params,
};
