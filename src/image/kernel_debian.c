/* The `debian` guest kernel: Debian's cloud kernel package, downloaded with apt-get and unpacked
 * in a temp dir (never installed on the host). Its bzImage is a small decompressor followed by
 * the compressed vmlinux: the payload is found by its compression format's magic and unpacked
 * with that format's tool (what the kernel's scripts/extract-vmlinux does), giving the ELF that
 * QEMU boots through PVH. The virtio drivers the agent needs are modules in this kernel: they
 * and their dependencies are decompressed into modules/ with a load order for the initramfs. */
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
#include "core/util.h"

#define META_PACKAGE "linux-image-cloud-amd64"

/* Modules the agent's guest needs (their dependencies come from modules.dep). */
static const char *const wanted[] = { "virtio_mmio", "virtio_console", "virtio_blk", "virtio_net",
                                      "ext4", NULL };

/* 'text' quoted for sh. */
static void shq(char *out, size_t len, const char *text)
{
	size_t o = 0;
	if (len < 3)
		return;
	out[o++] = '\'';
	for (const char *p = text; *p && o + 5 < len; p++) {
		if (*p == '\'') {
			memcpy(out + o, "'\\''", 4);
			o += 4;
		} else {
			out[o++] = *p;
		}
	}
	out[o++] = '\'';
	out[o] = '\0';
}

/* sh -c "TOOL < in > out"; the tool's exit status is ignored (trailing bytes after a compressed
 * stream make some tools complain after writing everything); the caller checks the output. */
static void unpack_with(const char *tool, const char *in, const char *out)
{
	char qi[4400], qo[4400], cmd[9000];
	shq(qi, sizeof(qi), in);
	shq(qo, sizeof(qo), out);
	snprintf(cmd, sizeof(cmd), "%s < %s > %s 2>/dev/null", tool, qi, qo);
	const char *argv[] = { "sh", "-c", cmd, NULL };
	struct sb_error e = { 0 };
	sb_kernel_run(tool, argv, NULL, &e);
}

static bool is_elf(const char *path, off_t min_size)
{
	char m[4] = { 0 };
	FILE *f = fopen(path, "re");
	size_t n = f ? fread(m, 1, 4, f) : 0;
	struct stat st;
	bool ok = n == 4 && memcmp(m, "\177ELF", 4) == 0 && stat(path, &st) == 0 && st.st_size >= min_size;
	if (f)
		fclose(f);
	return ok;
}

static int extract_vmlinux(const char *vmlinuz, const char *tmp, const char *out, struct sb_error *err)
{
	static const struct {
		const char *magic;
		size_t len;
		const char *tool;
	} fmts[] = {
		{ "\x1f\x8b\x08", 3, "gzip -dc" },          { "\xfd" "7zXZ\x00", 6, "xz -dc" },
		{ "\x28\xb5\x2f\xfd", 4, "zstd -dc" },      { "BZh", 3, "bzip2 -dc" },
		{ "\x5d\x00\x00\x00", 4, "xz --format=lzma -dc" }, { "\x02\x21\x4c\x18", 4, "lz4 -dc" },
	};
	char *img = NULL;
	size_t len = 0;
	int rc = sb_read_file(vmlinuz, &img, &len, err);
	if (rc < 0)
		return rc;
	char payload[4400];
	snprintf(payload, sizeof(payload), "%s/payload", tmp);
	bool found = false;
	for (size_t f = 0; f < sizeof(fmts) / sizeof(fmts[0]) && !found; f++) {
		const char *p = memmem(img, len, fmts[f].magic, fmts[f].len);
		if (!p)
			continue;
		FILE *o = fopen(payload, "we");
		size_t n = len - (size_t)(p - img);
		bool w = o && fwrite(p, 1, n, o) == n;
		if (o)
			fclose(o);
		if (!w)
			continue;
		unpack_with(fmts[f].tool, payload, out);
		found = is_elf(out, 1 << 20);
	}
	free(img);
	unlink(payload);
	if (!found)
		return sb_error_set(err, ENOEXEC, "no compressed vmlinux found inside %s", vmlinuz);
	return 0;
}

/* A module file of the package. */
struct mod {
	char name[64];
	char path[512]; /* relative to the module root */
	bool done;
};

static void mod_name(const char *path, char *out, size_t len)
{
	const char *b = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t n = strcspn(b, ".");
	snprintf(out, len, "%.*s", (int)n, b);
	for (char *c = out; *c; c++)
		if (*c == '-')
			*c = '_';
}

static struct mod *mod_find(struct mod *mods, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(mods[i].name, name) == 0)
			return &mods[i];
	return NULL;
}

/* The package has no modules.dep (the installer runs depmod): every .ko* under root. */
static struct mod *list_modules(const char *root, const char *rel, struct mod *mods, size_t *n,
                                size_t *cap)
{
	char dir[4600];
	snprintf(dir, sizeof(dir), "%s/%s", root, rel);
	DIR *d = opendir(dir);
	struct dirent *de;
	bool oom = false;
	while (!oom && d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char sub[1024];
		snprintf(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
		if (de->d_type == DT_DIR) {
			mods = list_modules(root, sub, mods, n, cap);
			oom = *cap && !mods;
			continue;
		}
		if (!strstr(de->d_name, ".ko"))
			continue;
		if (*n == *cap) {
			*cap = *cap ? *cap * 2 : 256;
			struct mod *m = realloc(mods, *cap * sizeof(*m));
			if (!m) {
				free(mods);
				mods = NULL;
				oom = true;
				break;
			}
			mods = m;
		}
		memset(&mods[*n], 0, sizeof(mods[*n]));
		snprintf(mods[*n].path, sizeof(mods[*n].path), "%s", sub);
		mod_name(sub, mods[*n].name, sizeof(mods[*n].name));
		(*n)++;
	}
	if (d)
		closedir(d);
	return mods;
}

/* The "depends=a,b" entry of a module's .modinfo section, found in the file's bytes. */
static void mod_depends(const char *ko, char *out, size_t len)
{
	char *data = NULL;
	size_t n = 0;
	struct sb_error e = { 0 };
	out[0] = '\0';
	if (sb_read_file(ko, &data, &n, &e) < 0)
		return;
	const char *p = memmem(data, n, "\0depends=", 9);
	if (p)
		snprintf(out, len, "%s", p + 9);
	free(data);
}

/* Decompress m (dependencies first) into dir and append it to the load order. */
static int mod_take(struct mod *mods, size_t n, struct mod *m, const char *root, const char *dir,
                    FILE *order, unsigned depth, struct sb_error *err)
{
	if (m->done)
		return 0;
	if (depth > 32)
		return sb_error_set(err, ELOOP, "module dependencies of %s loop", m->name);
	m->done = true;
	char in[4400], out[4400], deps[1024];
	snprintf(in, sizeof(in), "%s/%s", root, m->path);
	snprintf(out, sizeof(out), "%s/%s.ko", dir, m->name);
	const char *tool = strstr(m->path, ".ko.xz") ? "xz -dc" : strstr(m->path, ".ko.zst") ? "zstd -dc"
	                 : strstr(m->path, ".ko.gz") ? "gzip -dc" : "cat";
	unpack_with(tool, in, out);
	if (!is_elf(out, 64))
		return sb_error_set(err, EIO, "could not unpack module %s (%s)", m->name, m->path);
	mod_depends(out, deps, sizeof(deps));
	for (char *save = NULL, *d = strtok_r(deps, ",", &save); d; d = strtok_r(NULL, ",", &save)) {
		char dn[64];
		mod_name(d, dn, sizeof(dn));
		struct mod *dm = mod_find(mods, n, dn);
		if (dm) {
			int rc = mod_take(mods, n, dm, root, dir, order, depth + 1, err);
			if (rc < 0)
				return rc;
		}
	}
	fprintf(order, "%s.ko\n", m->name);
	return 0;
}

static int pack_modules(const char *modroot, const char *dir, struct sb_error *err)
{
	size_t n = 0, cap = 0;
	struct mod *mods = list_modules(modroot, "kernel", NULL, &n, &cap);
	if (!mods)
		return sb_error_set(err, ENOENT, "no kernel modules under %s/kernel", modroot);
	char order_path[4400];
	snprintf(order_path, sizeof(order_path), "%s/load-order", dir);
	int rc = 0;
	FILE *order = sb_mkdir_p(dir, 0755) == 0 ? fopen(order_path, "we") : NULL;
	if (!order)
		rc = sb_error_set(err, errno ? errno : ENOMEM, "cannot write %s", order_path);
	/* A wanted module the package does not have is built in: nothing to load. */
	for (size_t w = 0; rc == 0 && wanted[w]; w++) {
		struct mod *m = mod_find(mods, n, wanted[w]);
		if (m)
			rc = mod_take(mods, n, m, modroot, dir, order, 0, err);
	}
	if (order && fclose(order) != 0 && rc == 0)
		rc = sb_error_set(err, errno, "writing %s: %s", order_path, strerror(errno));
	free(mods);
	return rc;
}

/* The versioned image package the meta-package depends on. */
static int image_package(char *out, size_t len, struct sb_error *err)
{
	const char *argv[] = { "apt-cache", "depends", META_PACKAGE, NULL };
	char *text = NULL;
	int rc = sb_proc_check(argv, 60, &text, err);
	if (rc < 0)
		return sb_error_prefix(err, "looking up %s", META_PACKAGE);
	const char *p = text ? strstr(text, "Depends: linux-image-") : NULL;
	if (!p) {
		free(text);
		return sb_error_set(err, ENOENT, "apt-cache knows no %s (apt-get update?)", META_PACKAGE);
	}
	p += strlen("Depends: ");
	snprintf(out, len, "%.*s", (int)strcspn(p, " \n<>"), p);
	free(text);
	return 0;
}

int sb_kernel_build_debian(const char *cache_dir, struct sb_kernel *out, bool *reused,
                           struct sb_error *err)
{
	char pkg[128];
	int rc = image_package(pkg, sizeof(pkg), err);
	if (rc < 0)
		return rc;
	char final[4200], tmp[4300], x[4400], mods[4400], vml[4400];
	snprintf(final, sizeof(final), "%s/kernel-debian-%s", cache_dir, pkg);
	if (sb_is_dir(final) && sb_kernel_load(final, "debian", out, err) == 0) {
		*reused = true;
		return 0;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp-%d", final, (int)getpid());
	snprintf(x, sizeof(x), "%s/x", tmp);
	snprintf(mods, sizeof(mods), "%s/modules", tmp);
	snprintf(vml, sizeof(vml), "%s/vmlinux", tmp);
	if (sb_mkdir_p(x, 0755) < 0)
		return sb_error_set(err, errno, "mkdir %s: %s", x, strerror(errno));
	const char *dl[] = { "apt-get", "download", "-q", pkg, NULL };
	rc = sb_kernel_run("apt-get download", dl, tmp, err);
	glob_t g = { 0 };
	char pattern[4400];
	snprintf(pattern, sizeof(pattern), "%s/*.deb", tmp);
	if (rc == 0 && (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc != 1))
		rc = sb_error_set(err, ENOENT, "apt-get download left no single .deb in %s", tmp);
	if (rc == 0) {
		const char *unpack[] = { "dpkg-deb", "-x", g.gl_pathv[0], x, NULL };
		rc = sb_kernel_run("dpkg-deb -x", unpack, NULL, err);
		unlink(g.gl_pathv[0]);
	}
	globfree(&g);
	char release[96] = "";
	if (rc == 0) {
		snprintf(pattern, sizeof(pattern), "%s/boot/vmlinuz-*", x);
		if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
			rc = sb_error_set(err, ENOENT, "%s has no /boot/vmlinuz-*", pkg);
		} else {
			snprintf(release, sizeof(release), "%s", strrchr(g.gl_pathv[0], '-') ? strstr(g.gl_pathv[0], "vmlinuz-") + 8 : "unknown");
			rc = extract_vmlinux(g.gl_pathv[0], tmp, vml, err);
		}
		globfree(&g);
	}
	if (rc == 0) {
		char modroot[4600];
		snprintf(modroot, sizeof(modroot), "%s/lib/modules/%s", x, release);
		rc = pack_modules(modroot, mods, err);
	}
	if (rc == 0) {
		char vf[4400];
		snprintf(vf, sizeof(vf), "%s/version", tmp);
		char line[128];
		int n = snprintf(line, sizeof(line), "%s\n", release);
		rc = sb_write_file_atomic(vf, line, (size_t)n, err);
	}
	sb_rm_rf(x);
	if (rc == 0)
		rc = sb_kernel_publish(tmp, final, err);
	if (rc < 0) {
		sb_rm_rf(tmp);
		return rc;
	}
	*reused = false;
	return sb_kernel_load(final, "debian", out, err);
}
