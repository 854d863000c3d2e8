#!/bin/bash
# The cmd driver's config handling: one-line errors for bad files, every template run in order with
# its placeholders, a one-shot variant of the bwrap example, and a SKIP when bwrap is missing.
. "$SRCDIR/tests/integration/lib.sh"
sb=$SANDBENCH
[ -n "${SANDBENCH_AGENT:-}" ] || skip "SANDBENCH_AGENT not set"
[ "$(id -u)" -eq 0 ] || skip "runtime tests need root"

# Config errors: one line, naming the problem.
printf 'exce = true {argv}\n' > "$TMP/typo.conf"
expect_error "unknown key" "unknown key 'exce' (did you mean 'exec'?)" $sb exec --driver cmd --param config="$TMP/typo.conf" -- true
printf 'create = true\n' > "$TMP/noexec.conf"
expect_error "no exec template" "no 'exec' template" $sb exec --driver cmd --param config="$TMP/noexec.conf" -- true
printf 'exec = sh -c true\n' > "$TMP/noargv.conf"
expect_error "exec without {argv}" "has no {argv}" $sb exec --driver cmd --param config="$TMP/noargv.conf" -- true
expect_error "no config" "needs --param config=PATH" $sb exec --driver cmd -- true
expect_error "missing config" "cmd config" $sb exec --driver cmd --param config="$TMP/nope.conf" -- true
printf 'caps = exec, warp\nexec = {argv}\n' > "$TMP/caps.conf"
expect_error "unknown capability" "unknown capability 'warp'" $sb exec --driver cmd --param config="$TMP/caps.conf" -- true

command -v bwrap >/dev/null || skip "bwrap not installed (apt-get install bubblewrap)"

# One fresh bwrap per command, with every lifecycle template logging its placeholders.
log="$TMP/life.log"
cat > "$TMP/oneshot.conf" <<CONF
# one-shot bwrap: nothing runs between commands
version = bwrap --version
create  = sh -c 'echo "create {name} \$(basename {rootfs}) {agent}" >> $log; test -d {state_dir}'
start   = sh -c 'echo start {name} >> $log'
exec    = bwrap --ro-bind {rootfs} / --proc /proc --dev /dev --tmpfs /tmp --unshare-all \\
          --die-with-parent --clearenv --setenv PATH /bin --setenv SANDBENCH_BOX {name} -- {argv}
stop    = sh -c 'echo stop {name} >> $log'
destroy = sh -c 'echo destroy {name} >> $log; test -d {state_dir}'
CONF
out=$($sb exec --driver cmd --param config="$TMP/oneshot.conf" -- sh -c 'echo "$0|$1"' 'a b' "c'd" 2>"$TMP/err")
[ "$out" = "a b|c'd" ] && ok "one-shot exec keeps argv words intact" || fail "one-shot exec printed '$out': $(cat "$TMP/err")"
name=$(awk '/^create/ {print $2; exit}' "$log")
[ "$(awk '{print $1}' "$log" | tr '\n' ' ')" = "create start stop destroy " ] && ok "templates run in order" || fail "template order: $(cat "$log")"
grep -q "^create $name rootfs-[0-9a-f]* /sandbench-agent$" "$log" && ok "placeholders expanded" || fail "placeholders: $(head -1 "$log")"
[ ! -e "/run/sandbench/cmd/$name" ] && ok "state dir removed" || fail "state dir /run/sandbench/cmd/$name left"
$sb run latency-spawn --driver cmd --param config="$TMP/oneshot.conf" --runs 2 --warmup 0 --out "$TMP/r.json" >/dev/null 2>"$TMP/err" \
	&& validate "$TMP/r.json" >/dev/null && ok "one-shot latency-spawn report" || fail "one-shot run: $(cat "$TMP/err")"

# A failing create still runs destroy and removes the state dir.
sed 's/^create  = .*/create  = sh -c "echo create-failed >> '"${log//\//\\/}"'; exit 3"/' "$TMP/oneshot.conf" > "$TMP/fail.conf"
: > "$log"
err=$($sb exec --driver cmd --param config="$TMP/fail.conf" -- true 2>&1 >/dev/null); rc=$?
[ $rc -eq 1 ] && case $err in *"cmd create"*"exited 3"*) true ;; *) false ;; esac && ok "failed create reported" || fail "failed create: rc $rc, '$err'"
grep -q '^destroy' "$log" && ok "destroy ran after a failed create" || fail "destroy not run: $(cat "$log")"
[ -z "$(ls /run/sandbench/cmd 2>/dev/null)" ] && ok "no state dirs left" || fail "state dirs left: $(ls /run/sandbench/cmd)"

# The probe command decides usability when the config is given through the environment.
printf 'probe = false\nexec = {argv}\n' > "$TMP/noprobe.conf"
# (exec tries the real sandbox first and asks the probe only when it fails: see `drivers`.)
SANDBENCH_CMD_CONFIG="$TMP/noprobe.conf" $sb drivers --json 2>/dev/null | /usr/bin/python3 -c '
import json, sys
d = [x for x in json.load(sys.stdin) if x["name"] == "cmd"][0]
assert not d["usable"] and "probe command failed: false exited 1" in d["reason"], d
' && ok "failing probe makes cmd unusable" || fail "failing probe: cmd still usable"
SANDBENCH_CMD_CONFIG="$TMP/noprobe.conf" $sb run latency-spawn --driver cmd --runs 1 --warmup 0 --json \
	--out "$TMP/noprobe.json" > /dev/null 2>&1
grep -q '"status": "skip"' "$TMP/noprobe.json" && ok "run on an unusable cmd driver is a skip" ||
	fail "run on an unusable cmd driver: $(head -c 300 "$TMP/noprobe.json")"
finish
