#!/bin/bash
# Print this host's hardware class as a directory name, the one `sandbench baseline save|check`
# files its baselines under (bench/baselines/<class>/<driver>--<driver version>/), e.g.
#   amd-epyc-2cpu-linux6
# It is the CPU model (as /proc/cpuinfo names it) lowercased with every run of other characters made
# one '-', the online CPU count, and the kernel's major version: what the report's host object holds
# and what moves sandbox latencies between machines. Used where sandbench cannot be asked (CI steps
# deciding whether a baseline exists before running anything).
set -eu
model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
slug=$(printf '%s' "${model:-unknown}" | tr 'A-Z' 'a-z' | sed -e 's/[^a-z0-9]\{1,\}/-/g' -e 's/^-//' -e 's/-$//')
printf '%s-%scpu-linux%s\n' "${slug:-unknown-cpu}" "$(getconf _NPROCESSORS_ONLN)" "$(uname -r | cut -d. -f1)"
