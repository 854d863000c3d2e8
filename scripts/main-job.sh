#!/bin/bash
# The main job on a fresh Debian 12 machine: install, build, run the quick suite on the default
# driver, print the table and write the reports (and their history store) into ./sandbench-results.
set -eu
cd "$(dirname "$0")/.."
bash scripts/deps.sh build
[ -f build/build.ninja ] || meson setup build --buildtype=release >/dev/null
ninja -C build >/dev/null
driver=${SANDBENCH_DRIVER:-native}
# The history store goes beside the reports, not into the user's data directory.
export SANDBENCH_STORE=${SANDBENCH_STORE:-$PWD/sandbench-results/history.db}
exec ./build/src/cli/sandbench run --profile quick --driver "$driver" --out sandbench-results "$@"
