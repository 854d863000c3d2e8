/* Every built-in driver, one line each, in the order `sandbench drivers` and `matrix` show them.
 * A line names `const struct sb_driver sb_driver_<ident>` defined in src/drivers/<file>.c; a line
 * whose definition is missing is a link error, never a silently absent driver. Include with
 * SB_DRIVER(ident) defined. */
SB_DRIVER(process)
SB_DRIVER(native)
SB_DRIVER(bwrap)
SB_DRIVER(crun)
SB_DRIVER(runc)
SB_DRIVER(lxc)
SB_DRIVER(firejail)
SB_DRIVER(podman)
SB_DRIVER(podman_runc)
SB_DRIVER(docker)
SB_DRIVER(containerd)
SB_DRIVER(runsc)
SB_DRIVER(nspawn)
SB_DRIVER(cmd)
SB_DRIVER(qemu)
