#include "core/signals.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/proc.h"

static volatile sig_atomic_t received;
static int holds;

static void on_signal(int sig)
{
	/* A second signal while tearing down means "stop now": leave the default action to run. */
	if (received)
		signal(sig, SIG_DFL);
	received = sig;
}

void sb_signals_install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: blocking calls must wake up and see the flag */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

int sb_interrupted(void)
{
	return holds > 0 ? 0 : received;
}

void sb_interrupt_hold(bool on)
{
	holds += on ? 1 : (holds > 0 ? -1 : 0);
}

void sb_interrupt_clear(void)
{
	received = 0;
}

int sb_reap_descendants(void)
{
	int killed = 0;
	/* Orphans are re-parented to us (subreaper) as their parents die, so repeat until none. */
	for (int round = 0; round < 50; round++) {
		pid_t kids[512];
		size_t n = sb_proc_children(getpid(), kids, 512);
		if (n == 0) {
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			break;
		}
		struct pollfd pf[512];
		int fds[512];
		size_t np = 0;
		for (size_t i = 0; i < n; i++) {
			kill(-kids[i], SIGKILL);
			kill(kids[i], SIGKILL);
			killed++;
			int fd = (int)syscall(SYS_pidfd_open, kids[i], 0);
			if (fd >= 0) {
				fds[np] = fd;
				pf[np++] = (struct pollfd){.fd = fd, .events = POLLIN};
			}
		}
		/* Wait until they are dead (a pidfd turns readable), up to 5 ms a round: a dying sandbox
		 * takes well under that, and a one-shot `exec` should not sleep longer than it needs. */
		int64_t until = sb_now_ns() + 5000000;
		for (size_t done = 0; done < np;) {
			int64_t left = until - sb_now_ns();
			if (left <= 0 || poll(pf, np, (int)((left + 999999) / 1000000)) <= 0)
				break;
			done = 0;
			for (size_t i = 0; i < np; i++)
				if (pf[i].fd < 0 || pf[i].revents) {
					done++;
					pf[i].fd = -1; /* dead: poll ignores it from now on */
				}
		}
		for (size_t i = 0; i < np; i++)
			close(fds[i]);
		if (np < n) /* no pidfd for some: wait as before */
			usleep(5000);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	return killed;
}
