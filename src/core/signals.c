#include "core/signals.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

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
		for (size_t i = 0; i < n; i++) {
			kill(-kids[i], SIGKILL);
			kill(kids[i], SIGKILL);
			killed++;
		}
		usleep(5000);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	return killed;
}
