/* Fuzz target: a qemu snapshot's vm.conf (src/drivers/qemu_vm.c), which `restore` reads from the
 * snapshot directory it is given: loaded, turned into QEMU's command line (a fresh start and a
 * restore from a stream whose path needs quoting), saved and loaded again — the second load must
 * give back exactly the first. */
#include <stdlib.h>
#include <string.h>

#include "drivers/qemu_vm.h"
#include "drivers/runtime_util.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct qvm vm, again; /* 17 KB each: not on the stack */
	struct sb_error err = {0};
	if (qvm_conf_load(&vm.conf, fuzz_input_file(data, size), &err) < 0)
		return 0;
	snprintf(vm.name, sizeof(vm.name), "fuzz");
	snprintf(vm.dir, sizeof(vm.dir), "/run/sandbench/qemu/fuzz");
	for (int restore = 0; restore < 2; restore++) {
		struct sb_argv a = {0};
		qvm_build_argv(&vm, restore ? "/var/tmp/it's a \"snapshot\"/state" : NULL, &a);
		if (sb_argv_ok(&a, &err) < 0 || !a.v || !a.v[0])
			abort();
		sb_argv_free(&a);
	}
	char path[512];
	snprintf(path, sizeof(path), "%s/vm.conf", fuzz_tmpdir());
	if (qvm_conf_save(&vm.conf, path, &err) < 0)
		return 0;
	if (qvm_conf_load(&again.conf, path, &err) < 0 || memcmp(&vm.conf, &again.conf, sizeof(vm.conf)) != 0)
		abort(); /* what was saved must load back the same */
	return 0;
}
