/* The `runc` driver: the reference OCI runtime (Go), driven through its CLI with a generated
 * bundle (oci.c). runc resolves a relative cgroupsPath under the caller's own cgroups, so its
 * containers stay inside whatever memory cgroup sandbench runs in. */
#include <stdbool.h>

#include "drivers/driver.h"
#include "drivers/oci.h"

extern const struct sb_driver sb_driver_runc;

static const struct sb_oci_runtime runc_rt = {.name = "runc", .binary = "runc", .cgroup_relative = true};

static void runc_probe(const struct sb_params *params, struct sb_probe *out)
{
	sb_oci_probe(&runc_rt, params, sb_driver_runc.caps, NULL, 0, out);
}

static int runc_create(const struct sb_box_spec *spec, struct sb_box **out, int64_t deadline_ns,
		       struct sb_error *err)
{
	return sb_oci_box_create(&runc_rt, spec, out, deadline_ns, err);
}

static int runc_list(const struct sb_box_spec *spec, sb_line_fn emit, void *arg, int64_t deadline_ns,
		     struct sb_error *err)
{
	return sb_oci_list(&runc_rt, spec, emit, arg, deadline_ns, err);
}

static int runc_leftovers(bool clean, sb_line_fn emit, void *arg, struct sb_error *err)
{
	return sb_oci_leftovers(&runc_rt, clean, emit, arg, err);
}

const struct sb_driver sb_driver_runc = {
	.name = "runc",
	.summary = "runc (reference OCI runtime): bundle from the standard rootfs, create+start, exec per command",
	SB_OCI_COMMON_OPS,
	.list = runc_list,
	.caps = SB_OCI_CAPS | SB_CAP_NET,
	.probe = runc_probe,
	.box_create = runc_create,
	.leftovers = runc_leftovers,
};
