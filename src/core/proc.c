#include "core/proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/capture.h"
#include "core/clock.h"
#include "core/signals.h"

extern char **environ;

#define SB_DEFAULT_OUT_CAP (16u << 20)
/* Poll in slices so a SIGINT/SIGTERM that lands just before poll() is still seen promptly. */
#define SB_POLL_SLICE_MS 100

void sb_proc_result_free(struct sb_proc_result *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
}

size_t sb_proc_children(pid_t pid, pid_t *out, size_t cap)
{
	char tdir[64];
	snprintf(tdir, sizeof(tdir), "/proc/%d/task", (int)pid);
	DIR *d = opendir(tdir);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[300];
		snprintf(path, sizeof(path), "%s/%s/children", tdir, de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		long p;
		while (n < cap && fscanf(f, "%ld", &p) == 1)
			out[n++] = (pid_t)p;
		fclose(f);
	}
	closedir(d);
	return n;
}

void sb_proc_kill_group(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	/* The leader is ours to reap; bounded so a stuck D-state child cannot hang us forever. */
	for (int i = 0; i < 500; i++) {
		pid_t r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD))
			return;
		usleep(2000);
	}
}

static void fill_status(struct sb_proc_result *res, int status)
{
	if (WIFEXITED(status)) {
		res->exit_code = WEXITSTATUS(status);
		res->term_signal = 0;
	} else if (WIFSIGNALED(status)) {
		res->term_signal = WTERMSIG(status);
		res->exit_code = 128 + res->term_signal;
	}
}

int sb_spawn(const struct sb_spawn *sp, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	/* glibc already resets caught signals in the child; only ignored ones must be named, and naming
	 * all 64 would cost a sigaction each on every spawn. */
	sigset_t none, all;
	sigemptyset(&none);
	sigemptyset(&all);
	sigaddset(&all, SIGPIPE);
	sigaddset(&all, SIGINT);
	sigaddset(&all, SIGTERM);
	sigaddset(&all, SIGHUP);
	sigaddset(&all, SIGQUIT);
	short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
	flags |= sp->new_session ? POSIX_SPAWN_SETSID : POSIX_SPAWN_SETPGROUP;
	posix_spawnattr_setflags(&at, flags);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	for (int i = 0; i < 4; i++) {
		if (sp->fd[i] >= 0)
			posix_spawn_file_actions_adddup2(&fa, sp->fd[i], i);
		else if (i < 3 && sp->null_missing)
			posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i ? O_WRONLY : O_RDONLY, 0);
	}
	if (sp->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, sp->cwd);
	char *const *envp = sp->envp ? (char *const *)sp->envp : environ;
	int rc = posix_spawnp(pid, sp->argv[0], &fa, &at, (char *const *)sp->argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return -rc;
}

static int spawn(const struct sb_proc_opts *o, int in_fd, int out_fd, int err_fd, pid_t *pid)
{
	struct sb_spawn sp = {.argv = o->argv, .envp = o->envp, .cwd = o->cwd,
			      .fd = {in_fd, out_fd, err_fd, o->extra_fd}, .new_session = o->new_session};
	return sb_spawn(&sp, pid);
}

int sb_proc_run(const struct sb_proc_opts *o, struct sb_proc_result *res, struct sb_error *err)
{
	memset(res, 0, sizeof(*res));
	res->exit_code = -1;
	if (!o->argv || !o->argv[0])
		return sb_error_set(err, EINVAL, "empty command");

	int in_p[2] = {-1, -1}, out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
	int devnull = -1, rc = 0;
	if (!o->passthrough) {
		if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
			rc = sb_error_set(err, errno, "pipe: %s", strerror(errno));
			goto out;
		}
		/* A bigger pipe lets streaming children run without a context switch per 64 KiB; only
		 * worth its allocation when a stream is expected. */
		if (o->discard_stdout)
			fcntl(out_p[0], F_SETPIPE_SZ, 1 << 20);
		if (o->stdin_data) {
			if (pipe2(in_p, O_CLOEXEC) < 0) {
				rc = sb_error_set(err, errno, "pipe: %s", strerror(errno));
				goto out;
			}
		} else {
			devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		}
	}

	pid_t pid;
	res->start_ns = sb_now_ns();
	rc = spawn(o, o->passthrough ? -1 : (o->stdin_data ? in_p[0] : devnull), out_p[1], err_p[1], &pid);
	if (rc < 0) {
		rc = sb_error_set(err, -rc, "cannot run %s: %s", o->argv[0], strerror(-rc));
		goto out;
	}
	res->pid = pid;
	sb_close_fd(&in_p[0]);
	sb_close_fd(&out_p[1]);
	sb_close_fd(&err_p[1]);
	sb_close_fd(&devnull);

	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct sb_pump pump;
	sb_pump_init(&pump, in_p[1], out_p[0], err_p[0], o->stdin_data, o->stdin_len,
		     o->out_cap ? o->out_cap : SB_DEFAULT_OUT_CAP, !o->discard_stdout);
	in_p[1] = out_p[0] = err_p[0] = -1; /* the pump's now */
	bool exited = false;
	int status = 0;
	while (!exited) {
		int left = sb_deadline_left_ms(o->deadline_ns);
		int slice = (left < 0 || left > SB_POLL_SLICE_MS) ? SB_POLL_SLICE_MS : left;
		bool ended;
		int n = sb_pump_step(&pump, pidfd, &ended, slice);
		if (sb_interrupted()) {
			res->interrupted = true;
			break;
		}
		if (n < 0) {
			rc = sb_error_set(err, -n, "poll: %s", strerror(-n));
			break;
		}
		if (sb_deadline_passed(o->deadline_ns)) {
			res->timed_out = true;
			break;
		}
		if (ended)
			exited = true;
		else if (pidfd < 0 && (n == 0 ? waitpid(pid, NULL, WNOHANG | WNOWAIT) == pid
					      : pump.out_fd < 0 && pump.err_fd < 0))
			exited = true; /* no pidfd: fall back to polling for exit */
	}
	if (exited) {
		/* Everything the child wrote is in the pipes now. */
		sb_pump_drain(&pump);
	} else {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	struct rusage ru;
	pid_t w;
	do
		w = wait4(pid, &status, 0, &ru);
	while (w < 0 && errno == EINTR);
	res->end_ns = sb_now_ns();
	if (w == pid) {
		fill_status(res, status);
		res->user_ms = (double)ru.ru_utime.tv_sec * 1e3 + (double)ru.ru_utime.tv_usec / 1e3;
		res->sys_ms = (double)ru.ru_stime.tv_sec * 1e3 + (double)ru.ru_stime.tv_usec / 1e3;
		res->maxrss_kb = ru.ru_maxrss;
	}
	/* Whatever the child left in its group goes with it, unless it is meant to stay. */
	if (!exited || !o->leave_group)
		kill(-pid, SIGKILL);
	if (pidfd >= 0)
		close(pidfd);
	sb_pump_finish(&pump, res);
	if (rc == 0 && (res->timed_out || res->interrupted)) {
		/* Name the command as a user would: program name and first argument. */
		const char *base = strrchr(o->argv[0], '/');
		base = base ? base + 1 : o->argv[0];
		if (res->timed_out)
			rc = sb_error_set(err, ETIMEDOUT, "'%s%s%s' killed at its deadline", base,
					  o->argv[1] ? " " : "", o->argv[1] ? o->argv[1] : "");
		else
			rc = sb_error_set(err, EINTR, "'%s%s%s' interrupted", base, o->argv[1] ? " " : "",
					  o->argv[1] ? o->argv[1] : "");
	}
out:
	sb_close_fd(&in_p[0]);
	sb_close_fd(&in_p[1]);
	sb_close_fd(&out_p[0]);
	sb_close_fd(&out_p[1]);
	sb_close_fd(&err_p[0]);
	sb_close_fd(&err_p[1]);
	sb_close_fd(&devnull);
	return rc;
}

int sb_proc_spawn_piped(const char *const *argv, pid_t *pid, int *to_child, int *from_child,
			int *err_fd, struct sb_error *err)
{
	int in_p[2], out_p[2], err_p[2] = {-1, -1};
	if (pipe2(in_p, O_CLOEXEC) < 0)
		return sb_error_set(err, errno, "pipe: %s", strerror(errno));
	if (pipe2(out_p, O_CLOEXEC) < 0) {
		int e = errno;
		close(in_p[0]);
		close(in_p[1]);
		return sb_error_set(err, e, "pipe: %s", strerror(e));
	}
	int devnull = -1;
	if (err_fd && pipe2(err_p, O_CLOEXEC) < 0)
		err_p[0] = err_p[1] = -1;
	if (err_p[1] < 0)
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct sb_proc_opts o = {.argv = argv, .extra_fd = -1};
	int rc = spawn(&o, in_p[0], out_p[1], err_p[1] >= 0 ? err_p[1] : devnull, pid);
	close(in_p[0]);
	close(out_p[1]);
	if (err_p[1] >= 0)
		close(err_p[1]);
	if (devnull >= 0)
		close(devnull);
	if (rc < 0) {
		close(in_p[1]);
		close(out_p[0]);
		if (err_p[0] >= 0)
			close(err_p[0]);
		return sb_error_set(err, -rc, "cannot run %s: %s", argv[0], strerror(-rc));
	}
	*to_child = in_p[1];
	*from_child = out_p[0];
	if (err_fd)
		*err_fd = err_p[0];
	return 0;
}

int sb_proc_wait_deadline(pid_t pid, int64_t deadline_ns, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
		if (sb_deadline_passed(deadline_ns) || sb_interrupted()) {
			sb_proc_kill_group(pid);
			return sb_interrupted() ? -EINTR : -ETIMEDOUT;
		}
		usleep(1000);
	}
}

int sb_proc_check(const char *const *argv, double timeout_s, char **out, struct sb_error *err)
{
	struct sb_proc_opts o = {.argv = argv, .extra_fd = -1, .deadline_ns = sb_deadline_after(timeout_s),
				 .out_cap = 4 << 20};
	struct sb_proc_result r;
	int rc = sb_proc_run(&o, &r, err);
	if (rc == 0 && r.exit_code != 0) {
		char first[200] = "";
		if (r.err) {
			snprintf(first, sizeof(first), "%s", r.err);
			first[strcspn(first, "\n")] = '\0';
		}
		char cmd[256] = "";
		for (size_t i = 0; argv[i] && strlen(cmd) < 200; i++) {
			strncat(cmd, i ? " " : "", sizeof(cmd) - strlen(cmd) - 1);
			strncat(cmd, argv[i], sizeof(cmd) - strlen(cmd) - 1);
		}
		rc = sb_error_set(err, EIO, "'%s' exited %d%s%s", cmd, r.exit_code, first[0] ? ": " : "", first);
	}
	if (rc == 0 && out) {
		*out = r.out ? r.out : strdup("");
		r.out = NULL;
	}
	sb_proc_result_free(&r);
	return rc;
}
