#!/bin/bash
# Print this host's hardware class, the directory name its baselines go under in bench/baselines/:
#   <arch>-<cpu model>-<N>c-linux<kernel major>     e.g. x86_64-amd-epyc-2c-linux6
# The parts are what compare's host guard checks (docs/compare.md) plus the kernel's major version,
# which moves the cost of namespaces and cgroups. Memory is left out: it does not move latencies.
set -eu
model=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
[ -n "$model" ] || model=$(awk -F': *' '/^(Hardware|cpu model|uarch)/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
slug=$(printf '%s' "${model:-unknown-cpu}" | tr 'A-Z' 'a-z' |
	sed -e 's/([^)]*)//g' -e 's/ @.*//' -e 's/ cpu\>//g' -e 's/[0-9]*-core processor//' -e 's/ processor//' \
	    -e 's/[^a-z0-9]\{1,\}/-/g' -e 's/^-//' -e 's/-$//')
printf '%s-%s-%sc-linux%s\n' "$(uname -m)" "$slug" "$(nproc --all)" "$(uname -r | cut -d. -f1)"
