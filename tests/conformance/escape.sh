#!/bin/bash
# The classic container escapes (tests/native/escape_suite.c, docs/escape.md) from inside a sandbox
# of every rootfs driver usable here, through `sandbench exec --driver D -- /sbx-escape suite`: the
# static helper is put into a private copy of the standard rootfs (SANDBENCH_CACHE). Every attempt
# must be blocked on native; on the others what gets through is recorded, as a table
# (ESCAPE_TABLE=FILE writes it as Markdown, the one in docs/escape.md).
. "$SRCDIR/tests/integration/lib.sh"
sb=$SANDBENCH
[ "$(id -u)" -eq 0 ] || skip "the escape suite needs root"
[ -x "${SBN_ESCAPE:-}" ] || skip "SBN_ESCAPE (the static helper) not built"
export SANDBENCH_CACHE=$TMP/cache
rootfs=$($sb image build 2>/dev/null) || { fail "sandbench image build"; finish; }
cp "$SBN_ESCAPE" "$rootfs/sbx-escape" && chmod 755 "$rootfs/sbx-escape"

# A host-only listener (the sandbox must not reach it) and a host process (it must not see it).
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
time.sleep(600)' > "$TMP/port" &
listener=$!
. "$SRCDIR/tests/conformance/hostfix.sh"
trap 'kill $listener 2>/dev/null; restore_hosts; rm -rf "$TMP"' EXIT
for i in $(seq 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
port=$(cat "$TMP/port")

drivers=(${ESCAPE_DRIVERS:-native bwrap crun runc lxc firejail runsc nspawn})
ran=()
for d in "${drivers[@]}"; do
	hostfix_prepare "$d"
	out=$(timeout 120 $sb exec --driver "$d" -- /sbx-escape suite "$listener" "$port" 2> "$TMP/$d.err"); rc=$?
	if grep -q "is not usable here\|unknown driver" "$TMP/$d.err"; then
		echo "SKIP $d: $(cat "$TMP/$d.err")"
		continue
	fi
	if ! grep -q '^[0-9]* allowed$' <<<"$out"; then
		fail "$d: the suite did not run (exit $rc): $(head -c 300 "$TMP/$d.err") $out"
		continue
	fi
	printf '%s\n' "$out" | grep -E '^(blocked|allowed) ' > "$TMP/$d.res"
	ran+=("$d")
	n=$(wc -l < "$TMP/$d.res")
	let=$(grep -c '^allowed' "$TMP/$d.res")
	if [ "$d" = native ]; then
		[ "$rc" -eq 0 ] && [ "$let" -eq 0 ] && [ "$n" -ge 25 ] && ok "native blocks all $n attempts" ||
			fail "native let through: $(grep '^allowed' "$TMP/$d.res" | tr '\n' ';') (exit $rc, $n attempts)"
	else
		echo "recorded: $d lets $let of $n attempts through"
	fi
done
[ ${#ran[@]} -gt 0 ] || skip "no rootfs driver usable here"
[[ " ${ran[*]} " == *" native "* ]] || fail "native did not run"

# The comparison table: one row per attempt, one column per driver.
/usr/bin/python3 - "$TMP" "${ran[@]}" > "$TMP/table.md" <<'PY'
import sys
tmp, drivers = sys.argv[1], sys.argv[2:]
res, order = {}, []
for d in drivers:
    for line in open(f"{tmp}/{d}.res"):
        verdict, rest = line.rstrip("\n").split(" ", 1)
        name, why = rest.split(" ", 1)
        why = why[1:-1] if why.startswith("(") else why
        if name not in order:
            order.append(name)
        res[(d, name)] = (verdict, why)
print("| attempt | " + " | ".join(drivers) + " |")
print("|---|" + "---|" * len(drivers))
for name in order:
    cells = []
    for d in drivers:
        v, why = res.get((d, name), ("-", ""))
        cells.append("-" if v == "-" else ("**allowed**" if v == "allowed" else "blocked") + f" ({why})".replace("|", "\\|"))
    print(f"| {name} | " + " | ".join(cells) + " |")
print("| **attempts let through** | " + " | ".join(
    str(sum(1 for n in order if res.get((d, n), ("",))[0] == "allowed")) for d in drivers) + " |")
PY
cat "$TMP/table.md"
[ -n "${ESCAPE_TABLE:-}" ] && cp "$TMP/table.md" "$ESCAPE_TABLE"
finish
