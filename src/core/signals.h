/* SIGINT/SIGTERM handling and the last-ditch reaper. The handler only records the signal; every
 * wait loop polls sb_interrupted() so a signal turns into an orderly teardown. */
#pragma once
#include <signal.h>
#include <stdbool.h>

/* Install the handlers (no SA_RESTART so blocking calls return EINTR) and make this process a
 * child subreaper, so orphaned descendants are re-parented to us and can be reaped. */
void sb_signals_install(void);
/* The signal received (SIGINT/SIGTERM), or 0. While a hold is in effect it reads 0, so teardown
 * commands (container removal ...) run to completion after an interrupt instead of being killed
 * at their first poll; a second signal still ends the process at once. */
int sb_interrupted(void);
/* Nestable: hold(true) before releasing resources, hold(false) after. */
void sb_interrupt_hold(bool on);
/* Testing/CLI: forget a received signal. */
void sb_interrupt_clear(void);
/* Kill every remaining descendant (their process groups, then each child) and reap them.
 * Returns how many processes were killed. */
int sb_reap_descendants(void);
