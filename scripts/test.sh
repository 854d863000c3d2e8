#!/bin/bash
# All the tests on a fresh Debian 12 machine: install, then build twice (release with -Werror, and
# ASan+UBSan) and run every meson test suite in both. Ends with "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
bash scripts/deps.sh build test runtimes package || { echo "0 passed, 1 failed"; exit 1; }
status=0
builds=(build-release build-asan)
meson setup --wipe build-release -Dwerror=true --buildtype=debugoptimized >/dev/null 2>&1 ||
	meson setup build-release -Dwerror=true --buildtype=debugoptimized >/dev/null || status=1
meson setup --wipe build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
	--buildtype=debug >/dev/null 2>&1 ||
	meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false --buildtype=debug >/dev/null || status=1
for b in "${builds[@]}"; do
	echo "== $b: build"
	ninja -C "$b" || { echo "build $b failed"; status=1; continue; }
	echo "== $b: test"
	rm -f "$b/meson-logs/testlog.json"
	# The real-runtime suites drive engines (docker, podman ...) whose cost is theirs, not ours, and
	# the package suite builds and installs the .deb and the container: they run once, in the
	# release build; the sanitizer build runs everything else.
	extra=()
	[ "$b" = build-asan ] && extra=(--no-suite runtimes --no-suite package)
	# UBSan must fail the test, not just print; LSan stays on.
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
		meson test -C "$b" --print-errorlogs --num-processes 1 "${extra[@]}" "$@" || status=1
done
/usr/bin/python3 - "${builds[@]}" <<'PY'
import json, pathlib, sys
passed = failed = skipped = 0
for b in sys.argv[1:]:
    log = pathlib.Path(b, "meson-logs", "testlog.json")
    if not log.exists():
        failed += 1
        continue
    for line in log.read_text().splitlines():
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
rc=$?
[ $rc -ne 0 ] && status=1
exit $status
