/* `sandbench exec`: one sandbox, one command, stdio passed through, the command's exit status.
 * How a user tries a runtime by hand, and how tests poke at isolation. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/signals.h"
#include "core/util.h"

int sb_cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{"driver", required_argument, NULL, 'd'}, {"param", required_argument, NULL, 'p'},
		{"timeout", required_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *driver_name = NULL;
	double timeout_s = 0;
	struct sb_params params = {0};
	struct sb_error err = {0};
	int c, rc = 1;
	optind = 1;
	while ((c = sb_cli_getopt_cmd(argc, argv, "exec", opts)) != -1) {
		switch (c) {
		case -2: goto done;
		case 'd': driver_name = optarg; break;
		case 't':
			if (!sb_cli_double("--timeout", optarg, &timeout_s))
				goto done;
			break;
		case 'p':
			if (sb_params_add_kv(&params, optarg, &err) < 0) {
				sb_cli_fail("exec: %s", err.msg);
				goto done;
			}
			break;
		case 'h':
			printf("usage: sandbench exec --driver D [--param k=v]... [--timeout S] -- CMD [ARGS...]\n"
			       "Makes one sandbox on driver D, runs CMD inside it with stdin/stdout/stderr passed\n"
			       "through, destroys the sandbox, and exits with CMD's exit status (128+N when\n"
			       "killed by signal N; 1 when sandbench itself failed).\n");
			rc = 0;
			goto done;
		}
	}
	if (!driver_name) {
		sb_cli_fail("exec: --driver is required (see sandbench drivers)");
		goto done;
	}
	if (optind >= argc) {
		sb_cli_fail("exec: no command given (sandbench exec --driver D -- CMD ...)");
		goto done;
	}
	const struct sb_driver *drv = sb_cli_driver(driver_name);
	if (!drv)
		goto done;
	const struct sb_param_def *lists[] = {drv->params};
	if (sb_params_check(&params, lists, 1, &err) < 0 || sb_drv_check_params(drv, &params, &err) < 0) {
		sb_cli_fail("exec: %s", err.msg);
		goto done;
	}
	/* No probe up front: it starts a trial sandbox, which would double the cost of a one-shot
	 * exec. Only when the real sandbox cannot start is the probe asked why. */
	if (!(drv->caps & SB_CAP_EXEC)) {
		sb_cli_fail("exec: unsupported by %s: exec", drv->name);
		goto done;
	}
	char agent[4096] = "", rootfs[4096] = "";
	if (sb_cli_prepare_assets(drv, agent, sizeof(agent), rootfs, sizeof(rootfs)) != 0)
		goto done;
	sb_signals_install();
	char id[33], name[64];
	sb_random_id(id);
	const char *given = getenv("SANDBENCH_RUN_ID"); /* as run's: tests find their own boxes by it */
	if (given && strlen(given) == 32 && strspn(given, "0123456789abcdef") == 32)
		memcpy(id, given, 33);
	snprintf(name, sizeof(name), "sb-exec-%.8s", id);
	void *drv_state = NULL;
	if (sb_drv_open(drv, &params, &drv_state, &err) < 0) {
		sb_cli_fail("exec: cannot open driver %s: %s", drv->name, err.msg);
		goto done;
	}
	struct sb_box_spec spec = {.name = name, .params = &params, .rootfs = rootfs[0] ? rootfs : NULL,
				   .agent_path = agent[0] ? agent : NULL, .drv_state = drv_state};
	int64_t deadline = sb_deadline_after(timeout_s);
	struct sb_box *box = NULL;
	if (sb_drv_create(drv, &spec, &box, deadline, &err) < 0 ||
	    sb_drv_start(drv, box, deadline, &err) < 0) {
		struct sb_probe probe = {0};
		drv->probe(&params, &probe);
		if (!probe.usable)
			sb_cli_fail("exec: driver %s is not usable here: %s", drv->name, probe.reason);
		else
			sb_cli_fail("exec: cannot start a %s sandbox: %s", drv->name, err.msg);
		struct sb_error e2 = {0};
		sb_drv_destroy(drv, box, sb_deadline_after(30), &e2);
		sb_drv_close(drv, drv_state);
		goto done;
	}
	struct sb_exec_req req = {.argv = (const char *const *)argv + optind, .passthrough = true,
				  .deadline_ns = deadline};
	struct sb_proc_result res;
	int xrc = sb_drv_exec(drv, box, &req, &res, &err);
	if (xrc == -ETIMEDOUT)
		sb_cli_fail("exec: timed out after %gs", timeout_s);
	else if (xrc < 0)
		sb_cli_fail("exec: %s", err.msg);
	/* A failure of sandbench or of the runtime is 1, not an exit status the command never had. */
	rc = xrc < 0 && (res.exit_code < 0 || xrc != -ETIMEDOUT) ? 1 : res.exit_code;
	sb_proc_result_free(&res);
	struct sb_error derr = {0};
	sb_interrupt_hold(true);
	int drc = sb_drv_destroy(drv, box, sb_deadline_after(30), &derr);
	sb_drv_close(drv, drv_state);
	sb_interrupt_hold(false);
	if (drc < 0) {
		sb_cli_fail("exec: destroying the sandbox: %s", derr.msg);
		if (rc == 0)
			rc = 1;
	}
	if (sb_interrupted())
		rc = 128 + sb_interrupted();
	sb_reap_descendants();
done:
	sb_params_free(&params);
	return rc;
}
