/* Shared plumbing for the drivers that run an external runtime's CLI. Nothing here prints: errors
 * go into sb_error objects and doctor-facing text goes through the drivers' line sinks. */
#include "drivers/runtime_util.h"

#include "core/cgfs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"
#include "core/signals.h"
#include "core/util.h"

extern char **environ;

/* ---- argv vectors ---- */

static void argv_push(struct sb_argv *a, char *s)
{
	if (!s) {
		a->oom = true;
		return;
	}
	if (a->n + 2 > a->cap) {
		size_t nc = a->cap ? a->cap * 2 : 16;
		char **nv = realloc(a->v, nc * sizeof(*nv));
		if (!nv) {
			free(s);
			a->oom = true;
			return;
		}
		a->v = nv;
		a->cap = nc;
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

void sb_argv_add(struct sb_argv *a, const char *s)
{
	argv_push(a, strdup(s ? s : ""));
}

void sb_argv_addf(struct sb_argv *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	argv_push(a, s);
}

void sb_argv_add_all(struct sb_argv *a, const char *const *argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		sb_argv_add(a, argv[i]);
}

int sb_argv_ok(const struct sb_argv *a, struct sb_error *err)
{
	if (a->oom || !a->v)
		return sb_error_set(err, ENOMEM, "out of memory building a command line");
	return 0;
}

void sb_argv_free(struct sb_argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	memset(a, 0, sizeof(*a));
}

/* ---- lookup, versions, runtime errors ---- */

int sb_rt_which(const char *name, char *buf, size_t len)
{
	if (strchr(name, '/')) {
		snprintf(buf, len, "%s", name);
		return access(buf, X_OK) == 0 ? 0 : -ENOENT;
	}
	const char *path = getenv("PATH");
	char copy[4096];
	snprintf(copy, sizeof(copy), "%s", path && *path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	for (char *save, *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		snprintf(buf, len, "%s/%s", p, name);
		struct stat st;
		if (stat(buf, &st) == 0 && S_ISREG(st.st_mode) && access(buf, X_OK) == 0)
			return 0;
	}
	buf[0] = '\0';
	return -ENOENT;
}

int sb_rt_binary(const struct sb_params *params, const struct sb_param_def *defs, const char *dflt, char *buf,
		 size_t len, struct sb_error *err)
{
	const char *want = sb_params_get_def(params, defs, "bin");
	if (!want || !*want) {
		if (sb_rt_which(dflt, buf, len) < 0)
			return sb_error_set(err, ENOENT, "%s not found in PATH", dflt);
		return 0;
	}
	if (sb_rt_which(want, buf, len) < 0)
		return sb_error_set(err, ENOENT, "bin=%s: not an executable file (give a path, or a name in PATH)",
				    want);
	return 0;
}

void sb_rt_version(const char *const *argv, double timeout_s, char *out, size_t len)
{
	snprintf(out, len, "unknown");
	struct sb_proc_opts o = {.argv = argv, .extra_fd = -1, .deadline_ns = sb_deadline_after(timeout_s),
				 .out_cap = 64 << 10};
	struct sb_proc_result r;
	if (sb_proc_run(&o, &r, NULL) == 0) {
		/* Some tools print their version on stderr; take the first x.y[.z...] token of either. */
		const char *texts[] = {r.out, r.err};
		for (size_t t = 0; t < 2; t++) {
			const char *s = texts[t];
			for (; s && *s; s++) {
				if (!isdigit((unsigned char)*s) || (s != texts[t] && isalnum((unsigned char)s[-1])))
					continue;
				size_t n = strspn(s, "0123456789.");
				if (n >= 3 && memchr(s, '.', n)) {
					size_t m = n + strcspn(s + n, " \t\n,;()");
					snprintf(out, len, "%.*s", (int)m, s);
					t = 2;
					break;
				}
			}
		}
	}
	sb_proc_result_free(&r);
}

void sb_rt_first_error(const char *text, char *out, size_t len)
{
	out[0] = '\0';
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		const char *msg = memmem(line, n, "msg=\"", 5);
		if (msg) {
			/* logrus (runc): keep the quoted message, unescaping \" */
			msg += 5;
			size_t k = 0;
			for (const char *p = msg; p < line + n && *p != '"' && k + 1 < len; p++) {
				if (*p == '\\' && p + 1 < line + n)
					p++;
				out[k++] = *p;
			}
			out[k] = '\0';
			return;
		}
		bool blank = true;
		for (size_t i = 0; i < n; i++)
			if (!isspace((unsigned char)line[i]))
				blank = false;
		if (!blank) {
			snprintf(out, len, "%.*s", (int)n, line);
			return;
		}
		line = end ? end + 1 : NULL;
	}
}

/* "runtime subcommand": the binary's base name and the next word, skipping global --flag=value
 * options (runsc takes its state root and network that way before every subcommand). */
static void cmd_words(const char *const *argv, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0, words = 0; argv[i] && words < 2; i++) {
		if (i > 0 && strncmp(argv[i], "--", 2) == 0 && strchr(argv[i], '='))
			continue;
		const char *base = i == 0 && strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", words++ ? " " : "", base);
	}
}

static int rt_run(const char *const *argv, int64_t deadline_ns, char **out, bool leave, struct sb_error *err)
{
	struct sb_proc_opts o = {.argv = argv, .extra_fd = -1, .deadline_ns = deadline_ns, .out_cap = 4 << 20,
				 .leave_group = leave};
	struct sb_proc_result r;
	char what[128];
	cmd_words(argv, what, sizeof(what));
	int rc = sb_proc_run(&o, &r, err);
	if (rc == -ETIMEDOUT)
		rc = sb_error_set(err, ETIMEDOUT, "%s timed out", what);
	else if (rc == 0 && r.exit_code != 0) {
		char first[300];
		sb_rt_first_error(r.err, first, sizeof(first));
		if (!first[0])
			sb_rt_first_error(r.out, first, sizeof(first));
		rc = sb_error_set(err, EIO, "%s exited %d%s%s", what, r.exit_code, first[0] ? ": " : "", first);
	}
	if (rc == 0 && out) {
		*out = r.out ? r.out : strdup("");
		r.out = NULL;
		if (!*out)
			rc = sb_error_set(err, ENOMEM, "out of memory");
	}
	sb_proc_result_free(&r);
	return rc;
}

int sb_rt_run(const char *const *argv, int64_t deadline_ns, char **out, struct sb_error *err)
{
	return rt_run(argv, deadline_ns, out, false, err);
}

int sb_rt_run_leave(const char *const *argv, int64_t deadline_ns, char **out, struct sb_error *err)
{
	return rt_run(argv, deadline_ns, out, true, err);
}

int sb_rt_exec(const char *const *prefix, const struct sb_exec_req *req, const char *const *envp,
	       struct sb_proc_result *res, struct sb_error *err)
{
	struct sb_argv a = {0};
	sb_argv_add_all(&a, prefix);
	sb_argv_add_all(&a, req->argv);
	int rc = sb_argv_ok(&a, err);
	if (rc == 0) {
		struct sb_proc_opts o = {
			.argv = sb_argv_get(&a), .envp = envp, .stdin_data = req->stdin_data,
			.stdin_len = req->stdin_len, .passthrough = req->passthrough,
			.discard_stdout = req->discard_stdout, .out_cap = req->out_cap,
			.deadline_ns = req->deadline_ns, .extra_fd = -1,
		};
		rc = sb_proc_run(&o, res, err);
	}
	sb_argv_free(&a);
	return rc;
}

int sb_rt_spawn(const char *const *argv, const char *const *envp, int fd0, int fd1, int fd2, int fd3,
		pid_t *pid, struct sb_error *err)
{
	struct sb_spawn sp = {.argv = argv, .envp = envp, .fd = {fd0, fd1, fd2, fd3}, .null_missing = true};
	int rc = sb_spawn(&sp, pid);
	if (rc < 0)
		return sb_error_set(err, -rc, "cannot run %s: %s", argv[0], strerror(-rc));
	return 0;
}

/* ---- owners and markers ---- */

unsigned long long sb_rt_proc_start(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (pid <= 0 || sb_read_line(path, buf, sizeof(buf)) < 0)
		return 0;
	/* comm may hold spaces and parentheses: fields restart after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	char state = 0;
	unsigned long long start = 0;
	int field = 2;
	for (char *save, *tok = strtok_r(p + 1, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		field++;
		if (field == 3)
			state = tok[0];
		if (field == 22) {
			start = strtoull(tok, NULL, 10);
			break;
		}
	}
	if (state == 'Z' || state == 'X')
		return 0;
	return start;
}

bool sb_rt_proc_alive(pid_t pid, unsigned long long start)
{
	unsigned long long now = sb_rt_proc_start(pid);
	return now != 0 && now == start;
}

int sb_rt_marker_write(const char *dir, const char *driver, const char *box, const char *extra,
		       struct sb_error *err)
{
	char path[4096], text[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, SB_RT_MARKER);
	pid_t self = getpid();
	int n = snprintf(text, sizeof(text), "driver=%s\nbox=%s\nowner_pid=%d\nowner_start=%llu\n%s", driver,
			 box, (int)self, sb_rt_proc_start(self), extra ? extra : "");
	if (n < 0 || n >= (int)sizeof(text))
		return sb_error_set(err, ENAMETOOLONG, "marker for %s too long", box);
	return sb_write_file_atomic(path, text, (size_t)n, err);
}

#define SB_RT_NEW_PREFIX ".new-"

int sb_rt_state_dir_make(const char *dir, const char *driver, const char *box, struct sb_error *err)
{
	char tmp[PATH_MAX], parent[PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", dir);
	char *slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return sb_error_set(err, EINVAL, "%s: state dir %s has no parent", driver, dir);
	*slash = '\0';
	if (sb_mkdir_p(parent, 0755) < 0)
		return sb_error_set(err, errno, "%s: cannot create %s: %s", driver, parent, strerror(errno));
	if (snprintf(tmp, sizeof(tmp), "%s/" SB_RT_NEW_PREFIX "%s-%d", parent, box, (int)getpid()) >= (int)sizeof(tmp))
		return sb_error_set(err, ENAMETOOLONG, "%s: state dir name too long for %s", driver, box);
	sb_rm_rf(tmp); /* a stale one of a dead process that had our pid */
	int e = 0, rc = 0;
	if (mkdir(tmp, 0755) < 0)
		e = errno;
	else if ((rc = sb_rt_marker_write(tmp, driver, box, NULL, err)) < 0)
		e = -rc;
	else if (rename(tmp, dir) < 0)
		e = errno == ENOTEMPTY ? EEXIST : errno;
	if (!e)
		return 0;
	sb_rm_rf(tmp);
	if (e == EEXIST)
		return sb_error_set(err, e, "%s: %s already exists (a crashed run? sandbench doctor --clean)", driver, dir);
	return rc < 0 ? rc : sb_error_set(err, e, "%s: cannot create %s: %s", driver, dir, strerror(e));
}

int sb_rt_unfinished_dirs(const char *parent, bool clean, sb_line_fn emit, void *arg)
{
	DIR *d = opendir(parent);
	if (!d)
		return 0;
	int found = 0;
	for (struct dirent *de; (de = readdir(d));) {
		if (strncmp(de->d_name, SB_RT_NEW_PREFIX, strlen(SB_RT_NEW_PREFIX)) != 0)
			continue;
		const char *dash = strrchr(de->d_name, '-');
		pid_t owner = dash ? (pid_t)atoi(dash + 1) : 0;
		if (owner <= 0 || kill(owner, 0) == 0 || errno == EPERM)
			continue; /* still being made */
		char path[PATH_MAX + 256], line[PATH_MAX + 320];
		snprintf(path, sizeof(path), "%s/%s", parent, de->d_name);
		found++;
		snprintf(line, sizeof(line), "unfinished state dir %s (its maker, pid %d, is gone)%s", path, (int)owner,
			 clean ? ": removing" : "");
		emit(arg, line);
		if (clean)
			sb_rm_rf(path);
	}
	closedir(d);
	return found;
}

int sb_rt_marker_read(const char *dir, char **text)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, SB_RT_MARKER);
	return sb_read_file(path, text, NULL, NULL);
}

bool sb_rt_kv(const char *text, const char *key, char *out, size_t len)
{
	size_t kl = strlen(key);
	for (const char *line = text; line && *line;) {
		const char *end = strchr(line, '\n');
		if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
			size_t n = end ? (size_t)(end - line - kl - 1) : strlen(line + kl + 1);
			snprintf(out, len, "%.*s", (int)n, line + kl + 1);
			return true;
		}
		line = end ? end + 1 : NULL;
	}
	out[0] = '\0';
	return false;
}

bool sb_rt_marker_owner_alive(const char *text)
{
	char pid_s[32], start_s[32];
	if (!sb_rt_kv(text, "owner_pid", pid_s, sizeof(pid_s)) ||
	    !sb_rt_kv(text, "owner_start", start_s, sizeof(start_s)))
		return false;
	return sb_rt_proc_alive((pid_t)atoi(pid_s), strtoull(start_s, NULL, 10));
}

void sb_rt_pidns(pid_t pid, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	ssize_t n = pid > 0 ? readlink(path, buf, len - 1) : -1;
	buf[n > 0 ? n : 0] = '\0';
}

void sb_rt_reap_ns_children(const char *pidns)
{
	if (!pidns || !*pidns)
		return;
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[300];
		snprintf(path, sizeof(path), "/proc/self/task/%s/children", de->d_name);
		FILE *f = fopen(path, "re");
		long p;
		while (f && fscanf(f, "%ld", &p) == 1) {
			char ns[64];
			sb_rt_pidns((pid_t)p, ns, sizeof(ns));
			if (strcmp(ns, pidns) == 0)
				waitpid((pid_t)p, NULL, WNOHANG);
		}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
}

int sb_rt_wait_gone(pid_t pid, int64_t deadline_ns)
{
	return sb_rt_wait_gone_ns(pid, NULL, deadline_ns);
}

int sb_rt_wait_gone_ns(pid_t pid, const char *pidns, int64_t deadline_ns)
{
	if (pid <= 0)
		return 0;
	for (unsigned i = 0;; i++) {
		if (i % 8 == 0)
			sb_rt_reap_ns_children(pidns);
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno == ECHILD && sb_rt_proc_start(pid) == 0)
			return 0;
		if (sb_deadline_passed(deadline_ns))
			return -ETIMEDOUT;
		usleep(500);
	}
}

/* ---- cgroups ---- */

/* Mount point of the hierarchy that carries `controllers` ("memory", "cpu,cpuacct",
 * "name=systemd", or "" for cgroup2), and its root inside that hierarchy. */
static bool cgroup_mount(const char *controllers, char *mnt, size_t mlen, char *root, size_t rlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return false;
	char line[4096];
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		char mroot[1024], mpoint[1024], fstype[64], opts[1024];
		char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %1023s %1023s", mroot, mpoint) != 2 ||
		    sscanf(dash + 3, "%63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (!controllers[0]) {
			found = strcmp(fstype, "cgroup2") == 0;
		} else if (strcmp(fstype, "cgroup") == 0) {
			/* every controller of the hierarchy line must be among the mount's options */
			char want[256];
			snprintf(want, sizeof(want), "%s", controllers);
			found = true;
			for (char *s, *c = strtok_r(want, ",", &s); c; c = strtok_r(NULL, ",", &s)) {
				char o2[1100];
				snprintf(o2, sizeof(o2), ",%s,", opts);
				char needle[300];
				snprintf(needle, sizeof(needle), ",%s,", c);
				if (!strstr(o2, needle))
					found = false;
			}
		}
		if (found) {
			snprintf(mnt, mlen, "%s", mpoint);
			snprintf(root, rlen, "%s", strcmp(mroot, "/") ? mroot : "");
		}
	}
	fclose(f);
	return found;
}

/* For each hierarchy of /proc/PID/cgroup (pid 0: this process) mounted here: fn(its mount point,
 * the process's cgroup path below that mount (a cgroup namespace shows paths relative to its root,
 * and the mount shows that root), arg). Stops at fn's first non-zero return and returns it; -errno
 * when the file cannot be read. */
static int each_hierarchy(pid_t pid, int (*fn)(const char *mnt, const char *cg, void *arg), void *arg)
{
	char path[64];
	if (pid > 0)
		snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/cgroup");
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	char line[4096];
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *cg = c2 + 1;
		char mnt[1024], root[1024];
		if (!cgroup_mount(c1 + 1, mnt, sizeof(mnt), root, sizeof(root)))
			continue;
		if (root[0] && strncmp(cg, root, strlen(root)) == 0)
			cg += strlen(root);
		rc = fn(mnt, cg, arg);
	}
	fclose(f);
	return rc;
}

/* A newline-separated list of directories, each once. */
struct dir_list {
	char *out;
	size_t len;
	const char *leaf;         /* the leaf asked for (make, guess) */
	const char *must_contain; /* what a process's own leaf must contain (dirs) */
};

static void dir_list_add(struct dir_list *l, const char *dir)
{
	size_t n = strlen(dir);
	char item[2400];
	snprintf(item, sizeof(item), "%s\n", dir);
	if (!strstr(l->out, item) && strlen(l->out) + n + 2 <= l->len)
		strcat(l->out, item);
}

static int add_own_dir(const char *mnt, const char *cg, void *arg)
{
	struct dir_list *l = arg;
	const char *last = strrchr(cg, '/');
	if (l->must_contain && last && strstr(last, l->must_contain)) {
		char dir[2200];
		snprintf(dir, sizeof(dir), "%s%s", mnt, cg);
		dir_list_add(l, dir);
	}
	return 0;
}

int sb_rt_cgroup_dirs(pid_t pid, const char *must_contain, char *out, size_t len)
{
	out[0] = '\0';
	struct dir_list l = {.out = out, .len = len, .must_contain = must_contain};
	return each_hierarchy(pid, add_own_dir, &l);
}

static int make_leaf(const char *mnt, const char *cg, void *arg)
{
	(void)cg;
	struct dir_list *l = arg;
	char dir[2200];
	snprintf(dir, sizeof(dir), "%s/%s", mnt, l->leaf);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	dir_list_add(l, dir); /* co-mounted controllers: one directory */
	return 0;
}

int sb_rt_cgroup_make(const char *leaf, char *out, size_t len)
{
	out[0] = '\0';
	struct dir_list l = {.out = out, .len = len, .leaf = leaf};
	return each_hierarchy(0, make_leaf, &l);
}

static int remove_subtree(const char *dir, int64_t deadline_ns)
{
	int left = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		char sub[2400];
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		left += remove_subtree(sub, deadline_ns);
	}
	if (d)
		closedir(d);
	return left + sb_rt_cgroup_remove(dir, deadline_ns);
}

int sb_rt_cgroup_remove_tree(const char *dirs, int64_t deadline_ns)
{
	int left = 0;
	for (const char *line = dirs; line && *line;) {
		const char *end = strchr(line, '\n');
		char dir[2200];
		snprintf(dir, sizeof(dir), "%.*s", (int)(end ? end - line : (long)strlen(line)), line);
		line = end ? end + 1 : NULL;
		if (dir[0])
			left += remove_subtree(dir, deadline_ns);
	}
	return left;
}

int sb_rt_cgroup_remove(const char *dirs, int64_t deadline_ns)
{
	int left = 0;
	for (const char *line = dirs; line && *line;) {
		const char *end = strchr(line, '\n');
		char dir[2200];
		snprintf(dir, sizeof(dir), "%.*s", (int)(end ? end - line : (long)strlen(line)), line);
		line = end ? end + 1 : NULL;
		if (!dir[0])
			continue;
		/* rmdir fails with EBUSY while a dying task is still charged: retry until the deadline */
		for (;;) {
			if (rmdir(dir) == 0 || errno == ENOENT)
				break;
			if (errno != EBUSY || sb_deadline_passed(deadline_ns)) {
				left++;
				break;
			}
			usleep(1000);
		}
	}
	return left;
}

int sb_rt_cgroup_stats(const char *dirs, struct sb_box_stats *out)
{
	int found = 0;
	for (const char *line = dirs; line && *line;) {
		const char *end = strchr(line, '\n');
		char dir[2200];
		snprintf(dir, sizeof(dir), "%.*s", (int)(end ? end - line : (long)strlen(line)), line);
		line = end ? end + 1 : NULL;
		found += sb_cg_stats_dir(dir, out);
	}
	return found ? 0 : -ENOENT;
}

int sb_rt_cgroup_pids(const char *dirs, pid_t *pids, size_t cap, size_t *n)
{
	*n = 0;
	for (const char *line = dirs; line && *line;) {
		const char *end = strchr(line, '\n');
		char dir[2200];
		snprintf(dir, sizeof(dir), "%.*s", (int)(end ? end - line : (long)strlen(line)), line);
		line = end ? end + 1 : NULL;
		if (sb_cg_procs(dir, pids, cap, n) == 0)
			return 0;
	}
	return -ENOENT;
}

size_t sb_rt_descendants(pid_t pid, pid_t *out, size_t cap)
{
	/* breadth-first over out itself: out[0..n) are found, out[i] is expanded in turn */
	size_t n = sb_proc_children(pid, out, cap);
	for (size_t i = 0; i < n; i++)
		n += sb_proc_children(out[i], out + n, cap - n);
	return n;
}

int sb_rt_umount_below(const char *dir)
{
	size_t dl = strlen(dir);
	int left = 0;
	/* Unmount one at a time from a fresh read of mountinfo, deepest first, until none remain. */
	for (int round = 0; round < 256; round++) {
		FILE *f = fopen("/proc/self/mountinfo", "re");
		if (!f)
			return -errno;
		char line[4096], best[1024] = "";
		while (fgets(line, sizeof(line), f)) {
			char mp[1024];
			if (sscanf(line, "%*s %*s %*s %*s %1023s", mp) != 1)
				continue;
			if (strncmp(mp, dir, dl) == 0 && mp[dl] == '/' && strlen(mp) > strlen(best))
				snprintf(best, sizeof(best), "%s", mp);
		}
		fclose(f);
		if (!best[0])
			break;
		if (umount2(best, MNT_DETACH) < 0) {
			left++;
			break;
		}
	}
	return left;
}

static int guess_leaf(const char *mnt, const char *cg, void *arg)
{
	struct dir_list *l = arg;
	char dir[2400];
	snprintf(dir, sizeof(dir), "%s/%s", mnt, l->leaf);
	dir_list_add(l, dir);
	if (strcmp(cg, "/") != 0) {
		snprintf(dir, sizeof(dir), "%s%s/%s", mnt, cg, l->leaf);
		dir_list_add(l, dir);
	}
	return 0;
}

int sb_rt_cgroup_guess_dirs(const char *leaf, char *out, size_t len)
{
	out[0] = '\0';
	struct dir_list l = {.out = out, .len = len, .leaf = leaf};
	return each_hierarchy(0, guess_leaf, &l);
}

int sb_rt_wait_launch(pid_t *pid, bool (*ready)(void *arg), void *arg, const char *errfile,
		      unsigned poll_us, int64_t deadline_ns, const char *what, struct sb_error *err)
{
	while (!ready(arg)) {
		int st;
		if (waitpid(*pid, &st, WNOHANG) == *pid) {
			/* It gave up before the sandbox was up: its stderr says why. */
			char *text = NULL, why[300] = "";
			if (errfile && sb_read_file(errfile, &text, NULL, NULL) == 0)
				sb_rt_first_error(text, why, sizeof(why));
			free(text);
			*pid = 0;
			return sb_error_set(err, EIO, "%s exited %d: %s", what,
					    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
					    why[0] ? why : "no error output");
		}
		if (sb_deadline_passed(deadline_ns) || sb_interrupted())
			return sb_error_set(err, sb_interrupted() ? EINTR : ETIMEDOUT, "%s: never became ready", what);
		usleep(poll_us);
	}
	return 0;
}

void sb_rt_host_proc_add(struct sb_host_proc *procs, size_t cap, size_t *n, pid_t pid, const char *role,
			 bool daemon, unsigned shared_by)
{
	if (pid <= 0)
		return;
	for (size_t i = 0; i < *n && i < cap; i++)
		if (procs[i].pid == pid)
			return;
	if (*n < cap) {
		procs[*n].pid = pid;
		snprintf(procs[*n].role, sizeof(procs[*n].role), "%s", role);
		procs[*n].daemon = daemon;
		procs[*n].shared_by = shared_by;
	}
	(*n)++;
}

pid_t sb_rt_host_parent(pid_t init_pid, const char *role, struct sb_host_proc *procs, size_t cap, size_t *n)
{
	pid_t parent = init_pid > 0 ? sb_proc_ppid(init_pid) : 0;
	if (parent <= 1 || parent == getpid())
		return 0;
	sb_rt_host_proc_add(procs, cap, n, parent, role, false, 1);
	return parent;
}

/* ---- volumes ---- */

int sb_rt_volumes_check(const char *driver, const struct sb_box_spec *spec, const char *forbidden,
			struct sb_error *err)
{
	if (spec->nvolumes > SB_RT_MAX_VOLUMES)
		return sb_error_set(err, E2BIG, "%s: %zu volumes asked, at most %d", driver, spec->nvolumes,
				    SB_RT_MAX_VOLUMES);
	char refused[64];
	snprintf(refused, sizeof(refused), "\n%s", forbidden ? forbidden : "");
	for (size_t i = 0; i < spec->nvolumes; i++) {
		const struct sb_volume *v = &spec->volumes[i];
		const char *host = v->host_path ? v->host_path : "(null)";
		const char *box = v->box_path ? v->box_path : "(null)";
		struct stat st;
		if (!v->host_path || v->host_path[0] != '/' || stat(v->host_path, &st) < 0 || !S_ISDIR(st.st_mode))
			return sb_error_set(err, ENOTDIR, "%s: volume host path %s is not an absolute path to a directory",
					    driver, host);
		/* ".." could climb out of the sandbox's root on runtimes that join paths naively. */
		if (!v->box_path || v->box_path[0] != '/' || strcmp(v->box_path, "/") == 0 || strstr(v->box_path, "/.."))
			return sb_error_set(err, EINVAL, "%s: volume box path %s must be absolute, not /, without '..'",
					    driver, box);
		if (strpbrk(v->host_path, refused) || strpbrk(v->box_path, refused))
			return sb_error_set(err, EINVAL, "%s: volume %s:%s: its paths must not contain any of \"%s\" (the runtime's syntax)",
					    driver, host, box, forbidden ? forbidden : "\\n");
		if (strlen(v->host_path) >= 1024 || strlen(v->box_path) >= 1024)
			return sb_error_set(err, ENAMETOOLONG, "%s: volume path too long: %s", driver, host);
	}
	return 0;
}

int sb_rt_volumes_mountpoints(const char *driver, const struct sb_box_spec *spec, const char *rootfs,
			      struct sb_error *err)
{
	int missing = 0;
	for (size_t i = 0; i < spec->nvolumes; i++) {
		const char *box = spec->volumes[i].box_path;
		/* /tmp is a tmpfs of the sandbox's own on every runtime that asks */
		if (strncmp(box, "/tmp/", 5) == 0)
			continue;
		char path[PATH_MAX + 1100];
		struct stat st;
		snprintf(path, sizeof(path), "%s%s", rootfs, box);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		size_t top = strcspn(box + 1, "/") + 1;
		snprintf(path, sizeof(path), "%s%.*s", rootfs, (int)top, box);
		if (lstat(path, &st) == 0)
			return sb_error_set(err, EROFS,
					    "%s: volume box path %s is missing from the rootfs, and %.*s is the shared image's "
					    "(read-only): a mount point can be new at the top level or below /tmp",
					    driver, box, (int)top, box);
		missing = 1;
	}
	return missing;
}
