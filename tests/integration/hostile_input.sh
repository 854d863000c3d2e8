#!/bin/bash
# Hostile input (docs/hostile-input.md): every row of hostile_input.tsv runs one malformed input
# through its verb, in a directory of its own holding the fixtures, and must get exactly one stderr
# line containing the expected text, exit 1, and leave that directory and the image cache as they
# were. The doc must quote the TSV's table exactly.
. "$(dirname "$0")/lib.sh"
sb=$SANDBENCH
here=$SRCDIR/tests/integration
/usr/bin/python3 "$here/hostile_table.py" "$here/hostile_input.tsv" "$SRCDIR/docs/hostile-input.md" \
	&& ok "docs/hostile-input.md quotes the table" || fail "docs/hostile-input.md and hostile_input.tsv differ"

fix=$TMP/fixtures
mkdir -p "$fix/emptydir"
$sb run latency-spawn --driver process --runs 3 --warmup 0 --out "$fix/report.json" >/dev/null 2>&1 ||
	{ fail "cannot make the fixture report"; finish; }
$sb compare "$fix/report.json" "$fix/report.json" --out "$fix/compare-doc.json" >/dev/null 2>&1
sed 's/"sandbench.report\/v1"/"sandbench.report\/v9"/' "$fix/report.json" > "$fix/v9.json"
/usr/bin/python3 - "$fix" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(d + "/report.json"))
del r["samples"]
json.dump(r, open(d + "/nosamples.json", "w"))
PY
printf '{"schema": "sandbench.report/v1", "samples": [' > "$fix/malformed.json"
: > "$fix/empty.json"
printf '\x00\xff\xfe garbage \x01' > "$fix/garbage.bin"
echo '[1, 2, 3]' > "$fix/array.json"
echo '{"status": "ok"}' > "$fix/noschema.json"
echo '{"schema": "sandbench.matrix/v1", "reports": ["nope.json"]}' > "$fix/matrix-missing.json"
echo '{"schema": "sandbench.matrix/v1", "reports": []}' > "$fix/matrix-empty.json"
echo '{"schema": "sandbench.budgets/v1", "budgets": [{"metric": "*", "thresold": 0.1}]}' > "$fix/budgets-unknown.json"
echo '{"schema": "sandbench.budgets/v1", "defaults": {"threshold": 50}}' > "$fix/budgets-threshold.json"
echo 'create = true' > "$fix/cmd-noexec.conf"
echo 'exce = sh -c {argv}' > "$fix/cmd-unknown.conf"
echo 'a file, not a directory' > "$fix/afile"

snapshot() { (cd "$1" && find . -printf '%p %s %T@ %y\n' | sort); }

n=0
while IFS=$'\t' read -r verb what args env expect; do
	case $verb in '#'*|'') continue ;; esac
	n=$((n + 1))
	dir=$TMP/case-$n
	cp -a "$fix" "$dir"
	before=$(snapshot "$dir")
	eval "set -- $args"
	envs=(SANDBENCH_CACHE="$TMP/cache-$n")
	[ "$env" != - ] && envs+=("$env")
	err=$(cd "$dir" && env "${envs[@]}" timeout 120 "$sb" "$@" 2>&1 >/dev/null); rc=$?
	label="$verb $what: sandbench $args"; [ "$env" != - ] && label+=" ($env)"
	if [ "$rc" -ne 1 ]; then
		fail "$label: exit $rc, expected 1 ($err)"
	elif [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then
		fail "$label: expected one stderr line, got: $err"
	elif [[ $err != *"$expect"* ]]; then
		fail "$label: '$err' lacks '$expect'"
	elif [ "$(snapshot "$dir")" != "$before" ]; then
		fail "$label: wrote into its directory: $(diff <(echo "$before") <(snapshot "$dir") | grep '^>' | head -3)"
	elif [ -e "$TMP/cache-$n" ]; then
		fail "$label: created the image cache"
	else
		ok "$label"
	fi
	rm -rf "$dir"
done < "$here/hostile_input.tsv"
[ "$n" -ge 80 ] || fail "only $n rows in hostile_input.tsv"
finish
