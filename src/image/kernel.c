/* Guest kernels: lookup, the minimal kernel's build, and helpers shared with kernel_debian.c.
 * Contract in kernel.h. */
#include "image/kernel.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/proc.h"
#include "core/signals.h"
#include "core/util.h"
#include "image/image.h"
#include "kernel_fragment.h"

int sb_kernel_load(const char *dir, const char *kind, struct sb_kernel *out, struct sb_error *err)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->kind, sizeof(out->kind), "%s", kind);
	snprintf(out->dir, sizeof(out->dir), "%s", dir);
	snprintf(out->vmlinux, sizeof(out->vmlinux), "%s/vmlinux", dir);
	char p[4200];
	snprintf(p, sizeof(p), "%s/version", dir);
	if (sb_read_line(p, out->version, sizeof(out->version)) < 0)
		snprintf(out->version, sizeof(out->version), "unknown");
	snprintf(p, sizeof(p), "%s/modules/load-order", dir);
	if (access(p, R_OK) == 0)
		snprintf(out->modules, sizeof(out->modules), "%s/modules", dir);
	struct stat st;
	if (stat(out->vmlinux, &st) < 0 || !S_ISREG(st.st_mode))
		return sb_error_set(err, ENOENT, "kernel directory %s has no vmlinux", dir);
	return 0;
}

/* The identity of the minimal kernel's inputs other than the source: the fragment's options
 * (its comments do not change the kernel, so editing them keeps the cached build) and the builder. */
static uint64_t fragment_hash(void)
{
	static const char frag[] = SB_KERNEL_MINIMAL_FRAGMENT;
	uint64_t h = SB_KERNEL_BUILDER_VERSION;
	for (const char *p = frag; *p;) {
		size_t n = strcspn(p, "\n");
		bool option = strncmp(p, "CONFIG_", 7) == 0 || strncmp(p, "# CONFIG_", 9) == 0;
		if (option)
			h = sb_fnv1a64(p, n + (p[n] == '\n'), h);
		p += n + (p[n] == '\n');
	}
	return h;
}

/* Newest complete directory matching pattern. */
static int newest(const char *pattern, char *out, size_t len)
{
	glob_t g;
	int rc = -ENOENT;
	time_t best = 0;
	if (glob(pattern, GLOB_NOSORT, NULL, &g) != 0)
		return rc;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char m[4200];
		struct stat st;
		snprintf(m, sizeof(m), "%s/%s", g.gl_pathv[i], SB_IMAGE_MARKER);
		if (strstr(g.gl_pathv[i], ".tmp-") || stat(m, &st) < 0)
			continue;
		if (rc < 0 || st.st_mtime >= best) {
			best = st.st_mtime;
			snprintf(out, len, "%s", g.gl_pathv[i]);
			rc = 0;
		}
	}
	globfree(&g);
	return rc;
}

int sb_kernel_find(const char *cache_dir, const char *kind, struct sb_kernel *out,
                   struct sb_error *err)
{
	char pattern[4200], dir[4200];
	if (strcmp(kind, "minimal") == 0)
		snprintf(pattern, sizeof(pattern), "%s/kernel-minimal-%016llx-*", cache_dir,
		         (unsigned long long)fragment_hash());
	else if (strcmp(kind, "debian") == 0)
		snprintf(pattern, sizeof(pattern), "%s/kernel-debian-*", cache_dir);
	else
		return sb_error_set(err, EINVAL, "unknown kernel kind '%s' (expected minimal or debian)", kind);
	if (newest(pattern, dir, sizeof(dir)) < 0)
		return sb_error_set(err, ENOENT,
		                    "no %s guest kernel in %s: build it with `sandbench image build --kernel %s`",
		                    kind, cache_dir, kind);
	return sb_kernel_load(dir, kind, out, err);
}

/* Last non-empty line of text into out. */
static void last_line(const char *text, char *out, size_t len)
{
	out[0] = '\0';
	if (!text)
		return;
	const char *end = text + strlen(text);
	while (end > text && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	const char *start = end;
	while (start > text && start[-1] != '\n')
		start--;
	snprintf(out, len, "%.*s", (int)(end - start), start);
}

int sb_kernel_run(const char *what, const char *const *argv, const char *cwd, struct sb_error *err)
{
	struct sb_proc_opts o = { .argv = argv, .cwd = cwd, .discard_stdout = true, .out_cap = 64 << 10,
	                          .extra_fd = -1 };
	struct sb_proc_result r;
	struct sb_error e = { 0 };
	int rc = sb_proc_run(&o, &r, &e);
	if (rc == 0 && r.exit_code != 0) {
		char last[300];
		last_line(r.err, last, sizeof(last));
		rc = sb_error_set(err, EIO, "%s failed (exit %d): %s", what, r.exit_code,
		                  last[0] ? last : "no message");
	} else if (rc < 0) {
		sb_error_set(err, -rc, "%s: %s", what, e.msg);
	}
	sb_proc_result_free(&r);
	return rc;
}

int sb_kernel_publish(const char *tmp, const char *final, struct sb_error *err)
{
	char marker[4200];
	snprintf(marker, sizeof(marker), "%s/%s", tmp, SB_IMAGE_MARKER);
	int rc = sb_write_file_atomic(marker, "sandbench guest kernel\n", 23, err);
	if (rc < 0)
		return rc;
	if (rename(tmp, final) < 0) {
		int e = errno;
		if (e == EEXIST || e == ENOTEMPTY) { /* someone else finished the same build */
			sb_rm_rf(tmp);
			return 0;
		}
		return sb_error_set(err, e, "rename %s: %s", final, strerror(e));
	}
	return 0;
}

/* Remove temp dirs of builds whose process is gone. */
static void clean_stale(const char *cache_dir)
{
	DIR *d = opendir(cache_dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		const char *t = strstr(de->d_name, ".tmp-");
		if (strncmp(de->d_name, "kernel-", 7) != 0 || !t)
			continue;
		pid_t pid = (pid_t)atoi(t + 5);
		if (pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH))
			continue;
		char p[4200];
		snprintf(p, sizeof(p), "%s/%s", cache_dir, de->d_name);
		sb_rm_rf(p);
	}
	if (d)
		closedir(d);
}

/* The linux-source tarball Debian installs under /usr/src (newest version when several). */
static int find_source(char *out, size_t len, struct sb_error *err)
{
	glob_t g;
	if (glob("/usr/src/linux-source-*.tar.xz", 0, NULL, &g) != 0 || g.gl_pathc == 0)
		return sb_error_set(err, ENOENT,
		                    "no Linux source under /usr/src (apt-get install linux-source-6.1)");
	snprintf(out, len, "%s", g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	return 0;
}

/* Every CONFIG_X=y line of the fragment must be in the final .config. */
static int check_config(const char *config_path, struct sb_error *err)
{
	static const char frag[] = SB_KERNEL_MINIMAL_FRAGMENT;
	char *cfg = NULL;
	size_t len;
	int rc = sb_read_file(config_path, &cfg, &len, err);
	if (rc < 0)
		return rc;
	for (const char *p = frag; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char want[200];
		snprintf(want, sizeof(want), "\n%.*s\n", (int)(n < 190 ? n : 190), p);
		if (strncmp(p, "CONFIG_", 7) == 0 && !strstr(cfg, want)) {
			rc = sb_error_set(err, EINVAL, "kernel option %.*s did not stick (a dependency is missing)",
			                  (int)(n < 190 ? n : 190), p);
			break;
		}
		p += n + (nl ? 1 : 0);
	}
	free(cfg);
	return rc;
}

/* The one edit of the kernel source: init memory is kept instead of freed. Freeing it poisons
 * each page (memset 0xcc), and under TCG every store into a page holding translated code takes
 * the self-modifying-code path, which rescans the page's translations: freeing the 512 KiB of
 * init code every boot has just run cost 70-90 ms of the boot's ~500 ms of CPU here. Kept,
 * it costs the guest 512 KiB it already holds (and the host nothing: the pages are resident
 * anyway). */
static int keep_initmem(const char *tree, struct sb_error *err)
{
	static const char call[] = "\tfree_initmem();\n";
	static const char kept[] = "\t/* free_initmem(): kept by sandbench (src/image/kernel.c) */\n";
	char path[4400], *text = NULL;
	size_t len;
	snprintf(path, sizeof(path), "%s/init/main.c", tree);
	int rc = sb_read_file(path, &text, &len, err);
	if (rc < 0)
		return rc;
	char *at = strstr(text, call);
	if (!at || strstr(at + 1, call)) {
		free(text);
		return sb_error_set(err, EINVAL, "%s: not exactly one free_initmem() call: the minimal kernel's source edit no longer applies", path);
	}
	size_t head = (size_t)(at - text), tail = len - head - (sizeof(call) - 1);
	char *out = malloc(len + sizeof(kept));
	if (!out) {
		free(text);
		return sb_error_set(err, ENOMEM, "out of memory");
	}
	memcpy(out, text, head);
	memcpy(out + head, kept, sizeof(kept) - 1);
	memcpy(out + head + sizeof(kept) - 1, at + sizeof(call) - 1, tail);
	rc = sb_write_file_atomic(path, out, head + sizeof(kept) - 1 + tail, err);
	free(out);
	free(text);
	return rc;
}

static int build_minimal(const char *cache_dir, unsigned jobs, struct sb_kernel *out, bool *reused,
                         struct sb_error *err)
{
	char src[4096];
	int rc = find_source(src, sizeof(src), err);
	if (rc < 0)
		return rc;
	struct stat st;
	if (stat(src, &st) < 0)
		return sb_error_set(err, errno, "%s: %s", src, strerror(errno));
	char ident[4200];
	int il = snprintf(ident, sizeof(ident), "%s %lld %lld", src, (long long)st.st_size,
	                  (long long)st.st_mtime);
	char final[4200], tmp[4300], tree[4400], cfg[4500], frag_path[4400], jarg[32];
	snprintf(final, sizeof(final), "%s/kernel-minimal-%016llx-%016llx", cache_dir,
	         (unsigned long long)fragment_hash(), (unsigned long long)sb_fnv1a64(ident, (size_t)il, 0));
	if (sb_is_dir(final) && sb_kernel_load(final, "minimal", out, err) == 0) {
		*reused = true;
		return 0;
	}
	clean_stale(cache_dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp-%d", final, (int)getpid());
	snprintf(tree, sizeof(tree), "%s/src", tmp);
	snprintf(frag_path, sizeof(frag_path), "%s/minimal.config", tmp);
	snprintf(jarg, sizeof(jarg), "-j%u", jobs ? jobs : 2);
	if (sb_mkdir_p(tree, 0755) < 0)
		return sb_error_set(err, errno, "mkdir %s: %s", tree, strerror(errno));
	static const char frag[] = SB_KERNEL_MINIMAL_FRAGMENT;
	rc = sb_write_file_atomic(frag_path, frag, sizeof(frag) - 1, err);
	const char *untar[] = { "tar", "-xf", src, "-C", tree, "--strip-components=1", NULL };
	const char *tiny[] = { "make", "ARCH=x86_64", "tinyconfig", NULL };
	const char *merge[] = { "scripts/kconfig/merge_config.sh", "-m", ".config", frag_path, NULL };
	const char *olddef[] = { "make", "ARCH=x86_64", "olddefconfig", NULL };
	const char *make[] = { "nice", "-n", "10", "make", "ARCH=x86_64", jarg, "vmlinux", NULL };
	const char *release[] = { "make", "-s", "-C", tree, "ARCH=x86_64", "kernelrelease", NULL };
	if (rc == 0)
		rc = sb_kernel_run("unpacking the Linux source", untar, NULL, err);
	if (rc == 0)
		rc = keep_initmem(tree, err);
	if (rc == 0)
		rc = sb_kernel_run("make tinyconfig", tiny, tree, err);
	if (rc == 0)
		rc = sb_kernel_run("merging images/kernel/minimal.config", merge, tree, err);
	if (rc == 0)
		rc = sb_kernel_run("make olddefconfig", olddef, tree, err);
	snprintf(cfg, sizeof(cfg), "%s/.config", tree);
	if (rc == 0)
		rc = check_config(cfg, err);
	if (rc == 0)
		rc = sb_kernel_run("building the kernel (make vmlinux)", make, tree, err);
	/* Keep vmlinux, .config and the release; drop the tree. */
	char *rel = NULL;
	if (rc == 0)
		rc = sb_proc_check(release, 60, &rel, err);
	if (rc == 0) {
		char from[4600], to[4400];
		snprintf(from, sizeof(from), "%s/vmlinux", tree);
		snprintf(to, sizeof(to), "%s/vmlinux", tmp);
		if (rename(from, to) < 0)
			rc = sb_error_set(err, errno, "rename vmlinux: %s", strerror(errno));
		snprintf(to, sizeof(to), "%s/config", tmp);
		if (rc == 0 && rename(cfg, to) < 0)
			rc = sb_error_set(err, errno, "rename .config: %s", strerror(errno));
		snprintf(to, sizeof(to), "%s/version", tmp);
		if (rc == 0)
			rc = sb_write_file_atomic(to, rel ? rel : "unknown\n", rel ? strlen(rel) : 8, err);
	}
	free(rel);
	sb_rm_rf(tree);
	if (rc == 0)
		rc = sb_kernel_publish(tmp, final, err);
	if (rc < 0) {
		sb_rm_rf(tmp);
		return rc;
	}
	*reused = false;
	return sb_kernel_load(final, "minimal", out, err);
}

int sb_kernel_build(const char *cache_dir, const char *kind, unsigned jobs, struct sb_kernel *out,
                    bool *reused, struct sb_error *err)
{
	*reused = false;
	if (sb_mkdir_p(cache_dir, 0755) < 0)
		return sb_error_set(err, errno, "mkdir %s: %s", cache_dir, strerror(errno));
	if (strcmp(kind, "minimal") == 0)
		return build_minimal(cache_dir, jobs, out, reused, err);
	if (strcmp(kind, "debian") == 0)
		return sb_kernel_build_debian(cache_dir, out, reused, err);
	return sb_error_set(err, EINVAL, "unknown kernel kind '%s' (expected minimal or debian)", kind);
}
