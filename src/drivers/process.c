/* The `process` driver: a bare posix_spawn with no isolation at all. It is the physical floor
 * every sandbox is compared with, so it must add nothing but the spawn itself. */
#include <errno.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/proc.h"
#include "core/util.h"
#include "drivers/driver.h"

extern const struct sb_driver sb_driver_process;

struct sb_box {
	char *name;
	char *agent_path;
};

static void process_probe(const struct sb_params *params, struct sb_probe *out)
{
	memset(out, 0, sizeof(*out));
	out->usable = true;
	snprintf(out->version, sizeof(out->version), "glibc-%s", gnu_get_libc_version());
	out->caps = sb_driver_process.caps;
}

static int process_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t deadline_ns,
			  struct sb_error *err)
{
	struct sb_box *b = calloc(1, sizeof(*b));
	if (!b)
		return sb_error_set(err, ENOMEM, "out of memory");
	b->name = strdup(spec->name ? spec->name : "process");
	b->agent_path = spec->agent_path ? strdup(spec->agent_path) : NULL;
	*out = b;
	return 0;
}

static int process_exec(struct sb_box *box, const struct sb_exec_req *req, struct sb_proc_result *res,
			struct sb_error *err)
{
	struct sb_proc_opts o = {
		.argv = req->argv,
		.stdin_data = req->stdin_data,
		.stdin_len = req->stdin_len,
		.passthrough = req->passthrough,
		.discard_stdout = req->discard_stdout,
		.out_cap = req->out_cap,
		.deadline_ns = req->deadline_ns,
		.extra_fd = -1,
	};
	return sb_proc_run(&o, res, err);
}

static int process_agent_open(struct sb_box *box, struct sb_agent_conn *conn, int64_t deadline_ns,
			      struct sb_error *err)
{
	if (!box->agent_path)
		return sb_error_set(err, ENOENT, "process driver: no agent path given");
	const char *argv[] = {box->agent_path, "serve", NULL};
	return sb_proc_spawn_piped(argv, &conn->pid, &conn->to_agent, &conn->from_agent, NULL, err);
}

/* No network of its own: both ends are the host, over loopback (the floor a veth or a port
 * forward is compared with). */
static int process_addr(struct sb_box *box, struct sb_box_addr *out, struct sb_error *err)
{
	snprintf(out->host_ip, sizeof(out->host_ip), "127.0.0.1");
	snprintf(out->box_ip, sizeof(out->box_ip), "127.0.0.1");
	return 0;
}

static int process_destroy(struct sb_box *box, int64_t deadline_ns, struct sb_error *err)
{
	free(box->name);
	free(box->agent_path);
	free(box);
	return 0;
}

const struct sb_driver sb_driver_process = {
	.name = "process",
	.summary = "bare posix_spawn on the host, no isolation: the floor every sandbox is compared with",
	.caps = SB_CAP_EXEC | SB_CAP_AGENT | SB_CAP_NET,
	.probe = process_probe,
	.box_create = process_create,
	.box_exec = process_exec,
	.box_agent_open = process_agent_open,
	.box_addr = process_addr,
	.box_destroy = process_destroy,
};
