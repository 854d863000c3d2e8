/* Command sides of `paired`: parse a command line and measure one run of it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compare/paired.h"
#include "core/clock.h"
#include "core/proc.h"
#include "core/report.h"

void sb_paired_cmd_free(struct sb_paired_cmd *cmd)
{
	if (!cmd)
		return;
	if (cmd->argv)
		for (char **a = cmd->argv; *a; a++)
			free(*a);
	free(cmd->argv);
	free(cmd->text);
	cmd->argv = NULL;
	cmd->text = NULL;
}

int sb_paired_cmd_parse(const char *text, struct sb_paired_cmd *cmd, struct sb_error *err)
{
	cmd->argv = NULL;
	cmd->text = NULL;
	if (!text || text[strspn(text, " \t\n")] == '\0')
		return sb_error_set(err, EINVAL, "empty command");
	/* Characters a shell would interpret. Without them, splitting on blanks is exactly what the
	 * shell would do, and executing directly keeps the shell's start-up out of both sides. */
	cmd->shell = strpbrk(text, "\"'\\$`&|;<>()*?[]{}~#=!\n") != NULL;
	size_t len = strlen(text);
	cmd->text = strdup(text);
	cmd->argv = calloc(len / 2 + 4, sizeof(char *));
	if (!cmd->text || !cmd->argv) {
		sb_paired_cmd_free(cmd);
		return sb_error_set(err, ENOMEM, "out of memory");
	}
	size_t n = 0;
	if (cmd->shell) {
		cmd->argv[n++] = strdup("/bin/sh");
		cmd->argv[n++] = strdup("-c");
		cmd->argv[n++] = strdup(text);
	} else {
		const char *p = text;
		while (*p) {
			p += strspn(p, " \t");
			size_t w = strcspn(p, " \t");
			if (w == 0)
				break;
			cmd->argv[n++] = strndup(p, w);
			p += w;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (!cmd->argv[i]) {
			sb_paired_cmd_free(cmd);
			return sb_error_set(err, ENOMEM, "out of memory");
		}
	return 0;
}

json_t *sb_paired_cmd_describe(const struct sb_paired_cmd *cmd)
{
	json_t *argv = json_array();
	for (char **a = cmd->argv; a && *a; a++)
		json_array_append_new(argv, json_string(*a));
	return json_pack("{s:s, s:o, s:b}", "command", cmd->text, "argv", argv, "shell", cmd->shell);
}

/* Captured output as a JSON string: invalid UTF-8 (a binary tool's output) would make jansson
 * refuse the string, so such bytes become '?'. */
static json_t *text_json(const char *s, size_t len, size_t cap)
{
	if (!s)
		return json_string("");
	if (len > cap)
		len = cap;
	json_t *j = json_stringn(s, len);
	if (j)
		return j;
	char *copy = malloc(len + 1);
	if (!copy)
		return json_string("");
	for (size_t i = 0; i < len; i++)
		copy[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
	j = json_stringn(copy, len);
	free(copy);
	return j ? j : json_string("");
}

int sb_paired_cmd_measure(void *ctx, unsigned pair, bool warmup, json_t *meta, json_t **run,
			  struct sb_error *err)
{
	const struct sb_paired_cmd *cmd = ctx;
	struct sb_proc_opts po = {
		.argv = (const char *const *)cmd->argv,
		.out_cap = cmd->output_cap ? cmd->output_cap : 1,
		.deadline_ns = cmd->timeout_s > 0 ? sb_now_ns() + (int64_t)(cmd->timeout_s * 1e9) : 0,
		.extra_fd = -1,
	};
	struct sb_proc_result res = {0};
	int rc = sb_proc_run(&po, &res, err);
	if (rc < 0 && rc != -ETIMEDOUT) {
		sb_proc_result_free(&res);
		return rc;
	}
	sb_metric_declare(meta, "wall_ms", "ms", false);
	sb_metric_declare(meta, "cpu_ms", "ms", false);
	sb_metric_declare(meta, "user_ms", "ms", false);
	sb_metric_declare(meta, "sys_ms", "ms", false);
	sb_metric_declare(meta, "maxrss_kb", "KiB", false);
	json_t *r = json_object();
	json_object_set_new(r, "metrics",
			    json_pack("{s:f, s:f, s:f, s:f, s:f}", "wall_ms", (double)(res.end_ns - res.start_ns) / 1e6,
				      "cpu_ms", res.user_ms + res.sys_ms, "user_ms", res.user_ms, "sys_ms", res.sys_ms,
				      "maxrss_kb", (double)res.maxrss_kb));
	json_object_set_new(r, "exit_code", json_integer(res.exit_code));
	json_object_set_new(r, "signal", json_integer(res.term_signal));
	json_object_set_new(r, "timed_out", json_boolean(res.timed_out));
	json_object_set_new(r, "stdout_bytes", json_integer((json_int_t)res.out_bytes));
	json_object_set_new(r, "stdout", text_json(res.out, res.out_len, cmd->output_cap));
	json_object_set_new(r, "stderr", text_json(res.err, res.err_len, cmd->output_cap));
	if (res.timed_out)
		json_object_set_new(r, "error", json_sprintf("timed out after %gs", cmd->timeout_s));
	else if (res.term_signal)
		json_object_set_new(r, "error", json_sprintf("killed by signal %d", res.term_signal));
	else if (res.exit_code != 0 && !cmd->allow_nonzero) {
		/* The first stderr line usually says why; keep it in the one-line error. */
		size_t l = res.err ? strcspn(res.err, "\n") : 0;
		json_object_set_new(r, "error", json_sprintf("exited %d%s%.*s", res.exit_code, l ? ": " : "",
							     (int)(l > 200 ? 200 : l), res.err ? res.err : ""));
	}
	sb_proc_result_free(&res);
	(void)pair;
	(void)warmup;
	*run = r;
	return 0;
}
