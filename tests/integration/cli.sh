#!/bin/bash
# The front door: --version, --help of every verb, list/drivers output, one-line errors.
. "$(dirname "$0")/lib.sh"
sb=$SANDBENCH

$sb --version | grep -q '^sandbench [0-9]' && ok "--version" || fail "--version"
for v in list drivers run show exec image matrix doctor compare paired report; do
	$sb $v --help | grep -q "usage: sandbench $v" && ok "$v --help" || fail "$v --help"
done
$sb list | grep -q '^latency-spawn .*latency' && ok "list" || fail "list"
[ "$($sb list --axis throughput | tail -n +2 | awk '{print $2}' | sort -u)" = throughput ] \
	&& ok "list --axis" || fail "list --axis filters"
$sb list --json | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); assert all({"name","axis","needs","profiles","description"} <= set(x) for x in d) and len(d) >= 3' \
	&& ok "list --json" || fail "list --json"
$sb drivers | grep -q '^process  *yes' && ok "drivers lists process as usable" || fail "drivers"
$sb drivers --json | /usr/bin/python3 -c 'import json,sys; d={x["name"]:x for x in json.load(sys.stdin)}; assert d["process"]["usable"] and d["process"]["version"]' \
	&& ok "drivers --json" || fail "drivers --json"

expect_error "unknown verb" "unknown verb 'rnu' (did you mean 'run'?)" $sb rnu
expect_error "unknown scenario" "unknown scenario 'latency-spwan' (did you mean 'latency-spawn'?)" $sb run latency-spwan
expect_error "unknown driver" "unknown driver 'proces' (did you mean 'process'?)" $sb run latency-spawn --driver proces
expect_error "unknown flag" "unknown option '--rusn' (did you mean '--runs'?)" $sb run latency-spawn --rusn 3
expect_error "unknown param" "unknown parameter 'sise' (did you mean 'size'?)" $sb run throughput-stdout --param sise=1M
expect_error "bad param value" "size=lots" $sb run throughput-stdout --param size=lots --runs 1 --out "$TMP/x"
expect_error "bad --runs" "--runs: 'many' is not a non-negative integer" $sb run latency-spawn --runs many
expect_error "unknown axis" "unknown axis 'latncy'" $sb list --axis latncy
expect_error "unknown profile" "unknown profile 'quik'" $sb run --profile quik
expect_error "missing value" "option '--driver' needs a value" $sb run latency-spawn --driver
expect_error "show missing file" "cannot open" $sb show "$TMP/none.json"
echo '{"schema": "sandbench.report/v9"}' > "$TMP/v9.json"
expect_error "show wrong schema" "schema 'sandbench.report/v9' is not supported" $sb show "$TMP/v9.json"
printf '{"schema": ' > "$TMP/bad.json"
expect_error "show malformed" "malformed JSON" $sb show "$TMP/bad.json"
expect_error "exec without driver" "--driver is required" $sb exec -- true
expect_error "--out file with two scenarios" "names one file" $sb run latency-spawn latency-exec-output --out "$TMP/one.json"
expect_error "doctor exclusive flags" "exclude each other" $sb doctor --prepare-host --restore-host
expect_error "doctor unknown driver" "unknown driver 'natve' (did you mean 'native'?)" $sb doctor --drivers natve
$sb doctor --drivers process,native | grep -q '^leftovers' && ok "doctor lists leftovers" || fail "doctor"
# A container the engine lists by sandbench's label but cannot inspect (a run killed while the
# engine wrote its config) is a leftover: doctor names it, --clean removes it. The engine here is
# a script standing in for the podman CLI (SANDBENCH_PODMAN), so the case is reproducible.
id=0123456789abcdef0123456789abcdef
cat > "$TMP/podman" <<EOF
#!/bin/sh
case "\$*" in
ps*id=$id*|ps*label=*) [ -e "$TMP/removed" ] || echo $id ;;
inspect*) echo "Error: loading container config: unexpected end of JSON input" >&2; exit 125 ;;
rm*) touch "$TMP/removed" ;;
*) exit 1 ;;
esac
EOF
chmod +x "$TMP/podman"
out=$(SANDBENCH_PODMAN="$TMP/podman" $sb doctor --drivers podman 2>&1)
echo "$out" | grep -q "container 0123456789ab cannot be inspected (.*unexpected end of JSON input)" &&
	ok "doctor names a labelled container the engine cannot inspect" || fail "doctor: $out"
out=$(SANDBENCH_PODMAN="$TMP/podman" $sb doctor --clean --drivers podman 2>&1)
[ -e "$TMP/removed" ] && echo "$out" | grep -q "cannot be inspected.*: removing" &&
	ok "doctor --clean removes it" || fail "doctor --clean: $out"
out=$(SANDBENCH_PODMAN="$TMP/podman" $sb doctor --drivers podman 2>&1)
echo "$out" | grep -q "cannot be inspected" && fail "doctor after --clean: $out" || ok "gone after --clean"
finish
