#include "box_util.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/util.h"

extern const struct sb_driver sb_driver_native;

int nt_make_rootfs(char *tmpdir, size_t tmpdir_len, char *rootfs, size_t rootfs_len, const char *const *dirs,
		   const char *const *applets)
{
	(void)tmpdir_len;
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(rootfs, rootfs_len, "%s/rootfs", tmpdir);
	char p[512];
	mkdir(rootfs, 0755);
	for (size_t i = 0; dirs[i]; i++) {
		snprintf(p, sizeof(p), "%s%s", rootfs, dirs[i]);
		mkdir(p, 0755);
		if (strcmp(dirs[i], "/tmp") == 0)
			chmod(p, 01777);
	}
	snprintf(p, sizeof(p), "%s/bin/busybox", rootfs);
	if (nt_copy_file("/bin/busybox", p, 0755) < 0)
		return -1;
	for (size_t i = 0; applets[i]; i++) {
		snprintf(p, sizeof(p), "%s/bin/%s", rootfs, applets[i]);
		symlink("busybox", p);
	}
	return 0;
}

int nt_copy_file(const char *src, const char *dst, mode_t mode)
{
	char *data;
	size_t len;
	struct sb_error e;
	if (sb_read_file(src, &data, &len, &e) < 0)
		return -1;
	int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC, mode);
	int ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;
	if (fd >= 0)
		close(fd);
	free(data);
	return ok ? 0 : -1;
}

void nt_rmbox(struct sb_box *b, struct sb_params *p)
{
	struct sb_error e = {0};
	int rc = sb_driver_native.box_destroy(b, sb_deadline_after(20), &e);
	if (rc)
		fprintf(stderr, "destroy: %s\n", e.msg);
	assert_int_equal(rc, 0);
	sb_params_free(p);
}

int nt_run(struct sb_box *b, char **out, const char *stdin_data, const char *arg0, ...)
{
	const char *argv[32];
	int n = 0;
	va_list ap;
	va_start(ap, arg0);
	for (const char *a = arg0; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	struct sb_exec_req req = {.argv = argv, .deadline_ns = sb_deadline_after(30), .stdin_data = stdin_data,
				  .stdin_len = stdin_data ? strlen(stdin_data) : 0};
	struct sb_proc_result r;
	struct sb_error e = {0};
	int rc = sb_driver_native.box_exec(b, &req, &r, &e);
	if (rc)
		fprintf(stderr, "exec %s: %s\n", arg0, e.msg);
	assert_int_equal(rc, 0);
	if (r.out && strstr(r.out, "ESCAPED"))
		fprintf(stderr, "%s", r.out); /* show what got out before the assertion that follows */
	if (out)
		*out = r.out ? strdup(r.out) : strdup("");
	int code = r.exit_code;
	sb_proc_result_free(&r);
	return code;
}
