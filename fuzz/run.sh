#!/bin/bash
# Run every fuzz target (or the ones named) for MINUTES each (default 10), one after another, each
# under the machine's benchmark lock (fuzzing eats a core), unless run.sh itself runs at idle
# priority (`chrt -i 0 nice -n 19 bash fuzz/run.sh`): then it only gets CPU time nothing else
# wants and takes no lock, so a long campaign never makes a benchmark wait. Builds the targets
# first with clang and -fsanitize=fuzzer,address,undefined in build-fuzz/. Inputs that grow
# coverage collect in build-fuzz/corpus/NAME; a crash, leak, UBSan report or timeout is written to
# fuzz/crashes/NAME/, where the `fuzz` meson suite replays it from then on. Each target's lines
# give its start time, runs, corpus size and the load average before and after.
# Exit 0 only when no target failed.
#   fuzz/run.sh [MINUTES] [TARGET...]      e.g. fuzz/run.sh 2 report budgets
set -u
cd "$(dirname "$0")/.."
minutes=${1:-10}
[[ $minutes =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "run.sh: MINUTES must be a number, not '$minutes'" >&2; exit 1; }
shift $(( $# > 0 ? 1 : 0 ))
all=(report compare-input budgets cmd-config agent-request agent-response params registry store-import slo
	baseline qemu-conf render)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
for t in "${targets[@]}"; do
	[ -d "fuzz/corpus/$t" ] || { echo "run.sh: unknown target '$t' (${all[*]})" >&2; exit 1; }
done
bash scripts/deps.sh fuzz || exit 1
build=build-fuzz
if [ ! -f $build/build.ninja ]; then
	CC=clang meson setup $build -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false \
		--buildtype=debugoptimized >/dev/null || exit 1
fi
ninja -C $build "${targets[@]/#/fuzz/fuzz-}" >/dev/null || { echo "run.sh: build failed" >&2; exit 1; }
seconds=$(/usr/bin/python3 -c "print(max(1, round($minutes * 60)))")
lock=(flock /tmp/sandbench-bench.lock)
if chrt -p $$ 2>/dev/null | grep -q SCHED_IDLE; then
	lock=()
	echo "== idle priority: no benchmark lock"
fi
failed=()
for t in "${targets[@]}"; do
	mkdir -p "$build/corpus/$t" "fuzz/crashes/$t"
	log="$build/fuzz-$t.log"
	load0=$(cut -d' ' -f1-3 /proc/loadavg)
	echo "== $t: ${seconds}s from $(date -u +%FT%TZ), load $load0 (log $log)"
	# -timeout: one input taking 10 s is a hang; -max_len: inputs stay small enough to mean something.
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
		"${lock[@]}" "$build/fuzz/fuzz-$t" -max_total_time="$seconds" -timeout=10 -max_len=65536 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="fuzz/crashes/$t/" \
		"$build/corpus/$t" "fuzz/corpus/$t" </dev/null >"$log" 2>&1
	rc=$?
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
	load1=$(cut -d' ' -f1-3 /proc/loadavg)
	if [ $rc -ne 0 ]; then
		failed+=("$t")
		echo "   FAILED (exit $rc) after ${runs:-?} runs: $(grep -m1 -E 'ERROR|runtime error|Test unit written' "$log")"
	else
		echo "   ok: ${runs:-?} runs, $(ls "$build/corpus/$t" | wc -l) corpus inputs, load after $load1"
	fi
done
[ ${#failed[@]} -eq 0 ] && { echo "no crashes"; exit 0; }
echo "crashes in: ${failed[*]} (inputs in fuzz/crashes/)"
exit 1
