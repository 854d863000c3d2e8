/* `sandbench image build`, and the asset lookup every verb that starts sandboxes shares. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/params.h"
#include "core/signals.h"
#include "core/util.h"
#include "image/image.h"
#include "image/kernel.h"

int sb_cli_prepare_assets(const struct sb_driver *drv, char *agent, size_t agent_len, char *rootfs,
			  size_t rootfs_len)
{
	struct sb_error err = {0};
	if (sb_find_agent(agent, agent_len, &err) < 0) {
		if (drv->image == SB_IMAGE_NONE)
			return 0; /* scenarios that need the agent will fail with a clear reason */
		return sb_cli_fail("%s", err.msg);
	}
	rootfs[0] = '\0';
	/* A VM's initramfs is made from the standard rootfs too. */
	if (drv->image == SB_IMAGE_NONE)
		return 0;
	bool reused;
	if (sb_image_build(sb_image_default_cache_dir(), agent, rootfs, rootfs_len, &reused, &err) < 0)
		return sb_cli_fail("cannot build the standard rootfs: %s", err.msg);
	return 0;
}

int sb_cmd_image(int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'}, {"kernel", required_argument, NULL, 'k'},
		{"jobs", required_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
		{"big", no_argument, NULL, 'b'},        {"files", required_argument, NULL, 'f'},
		{"size", required_argument, NULL, 's'}, {NULL, 0, NULL, 0},
	};
	const char *out = NULL, *kernel = NULL;
	unsigned jobs = 2;
	bool big = false;
	unsigned files = SB_IMAGE_BIG_FILES;
	uint64_t size = SB_IMAGE_BIG_BYTES;
	int c;
	optind = 1;
	while ((c = sb_cli_getopt(argc, argv, "image", opts)) != -1) {
		if (c == -2)
			return 1;
		if (c == 'o')
			out = optarg;
		else if (c == 'k')
			kernel = optarg;
		else if (c == 'j') {
			char *end;
			unsigned long j = strtoul(optarg, &end, 10);
			if (end == optarg || *end || j < 1 || j > 64)
				return sb_cli_fail("image: --jobs %s: expected a number from 1 to 64", optarg);
			jobs = (unsigned)j;
		} else if (c == 'b') {
			big = true;
		} else if (c == 'f') {
			if (!sb_cli_uint("--files", optarg, &files))
				return 1;
			if (files == 0)
				return sb_cli_fail("image: --files must be at least 1");
		} else if (c == 's') {
			if (sb_parse_size(optarg, &size) < 0 || size == 0)
				return sb_cli_fail("image: --size '%s' is not a size like 200M", optarg);
		} else if (c == 'h') {
			printf("usage: sandbench image build [--out DIR] [--kernel minimal|debian [--jobs N]]\n"
			       "                            [--big [--files N] [--size S]]\n"
			       "Builds the standard rootfs (busybox-static + sandbench-agent + /etc files) into a\n"
			       "content-addressed directory under DIR (default $SANDBENCH_CACHE, else\n"
			       "/var/cache/sandbench as root), reusing it when its inputs did not change, and\n"
			       "prints its path.\n"
			       "--kernel builds (or finds) a microVM guest kernel instead and prints its directory:\n"
			       "  minimal  from Debian's linux-source with images/kernel/minimal.config (minutes;\n"
			       "           make -jN, default 2)\n"
			       "  debian   the vmlinux of Debian's linux-image-cloud-amd64 (downloaded, not installed)\n"
			       "           and the virtio modules it needs\n"
			       "--big: the big image instead (latency-start-big-image): the standard rootfs plus\n"
			       "N files (default %u) of S bytes in all (default 200M) under /data, built once.\n",
			       SB_IMAGE_BIG_FILES);
			return 0;
		}
	}
	if (optind >= argc || strcmp(argv[optind], "build") != 0)
		return sb_cli_fail("image: expected 'build' (sandbench image build [--out DIR] [--big])");
	if (!big && (files != SB_IMAGE_BIG_FILES || size != SB_IMAGE_BIG_BYTES))
		return sb_cli_fail("image: --files and --size go with --big");
	if (big && kernel)
		return sb_cli_fail("image: --big and --kernel build different things: give one");
	if (optind + 1 < argc)
		return sb_cli_fail("image: unexpected argument '%s'", argv[optind + 1]);
	char agent[4096], rootfs[4096];
	struct sb_error err = {0};
	if (kernel) {
		if (strcmp(kernel, "minimal") != 0 && strcmp(kernel, "debian") != 0)
			return sb_cli_fail("image: --kernel %s: expected minimal or debian", kernel);
		struct sb_kernel k;
		bool kreused;
		if (sb_kernel_build(out ? out : sb_image_default_cache_dir(), kernel, jobs, &k, &kreused, &err) < 0)
			return sb_cli_fail("image: %s kernel: %s", kernel, err.msg);
		printf("%s\n", k.dir);
		fprintf(stderr, "(%s: %s kernel %s)\n", kreused ? "reused" : "built", kernel, k.version);
		return 0;
	}
	if (sb_find_agent(agent, sizeof(agent), &err) < 0)
		return sb_cli_fail("image: %s", err.msg);
	bool reused;
	if (sb_image_build(out ? out : sb_image_default_cache_dir(), agent, rootfs, sizeof(rootfs), &reused,
			   &err) < 0)
		return sb_cli_fail("image: %s", err.msg);
	if (big) {
		char base[4096];
		snprintf(base, sizeof(base), "%s", rootfs);
		sb_signals_install();
		if (sb_image_build_big(out ? out : sb_image_default_cache_dir(), base, files, size, rootfs,
				       sizeof(rootfs), &reused, &err) < 0)
			return sb_cli_fail("image: %s", err.msg);
	}
	printf("%s\n", rootfs);
	fprintf(stderr, "%s\n", reused ? "(reused: inputs unchanged)" : "(built)");
	return 0;
}
