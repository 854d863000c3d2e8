#!/bin/bash
# Live metrics end to end: bad input first (any user), then, as root with a usable native driver,
# `run --live` of a native sandbox busy-waiting for a few seconds while `top --once` and
# `metrics serve` read the registry: the sandbox shows up, its CPU seconds grow between two looks
# and its CPU % shows the load (thresholds low: the busy core is shared with the rest of the host); the endpoint's Prometheus text passes `promtool check metrics` and
# python3-prometheus-client's parser, its OpenMetrics passes the client's strict OpenMetrics
# parser. After the run: no live slot, the registry file is gone, a report with live_* series.
. "$SRCDIR/tests/integration/lib.sh"
SB=$SANDBENCH
REG=$TMP/registry
export SANDBENCH_REGISTRY=$TMP/not-this-one

# --- bad input: one line, exit 1 ---
printf 'NOTAREG!%.0s' $(seq 100) >"$TMP/bad"
expect_error "top refuses a file that is not a registry" "not a sandbench metrics registry" \
	"$SB" top --once --registry "$TMP/bad"
expect_error "metrics serve refuses it too" "not a sandbench metrics registry" \
	"$SB" metrics serve --registry "$TMP/bad" --listen 127.0.0.1:0
expect_error "metrics serve: bad --listen" "expected HOST:PORT" "$SB" metrics serve --listen nowhere
expect_error "metrics without a subcommand" "expected a subcommand" "$SB" metrics
expect_error "top --sort" "expected cpu or mem" "$SB" top --sort disk
expect_error "run --registry without --live" "--registry is for --live" "$SB" run latency-spawn --registry "$REG"
expect_error "run --sample-interval 0" "--sample-interval" "$SB" run latency-spawn --live --sample-interval 0
"$SB" metrics serve --help | grep -q "loopback only" && ok "serve --help says it binds to loopback" ||
	fail "serve --help does not mention loopback"
out=$("$SB" top --once --registry "$TMP/none")
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && ok "top --once without a registry: the header only" ||
	fail "top --once without a registry printed: $out"

[ "$(id -u)" -eq 0 ] || { echo "(the live part needs root for the native driver)"; finish_or_skip=1; }
if [ "${finish_or_skip:-0}" -eq 1 ]; then
	[ "$fails" -eq 0 ] || finish
	skip "not root: the native driver cannot run here"
fi
"$SB" drivers --json | /usr/bin/python3 -c '
import json, sys
d = {x["name"]: x for x in json.load(sys.stdin)}
n = d.get("native", {})
sys.exit(0 if n.get("usable") else 1)' || skip "the native driver is not usable here (sandbench drivers)"
command -v promtool >/dev/null || skip "promtool missing (Debian package prometheus; scripts/deps.sh test)"
/usr/bin/python3 -c 'import prometheus_client' 2>/dev/null ||
	skip "python3-prometheus-client missing (scripts/deps.sh test)"

# --- the endpoint, before anything runs ---
"$SB" metrics serve --listen 127.0.0.1:0 --registry "$REG" >"$TMP/serve.out" 2>"$TMP/serve.err" &
serve=$!
for _ in $(seq 50); do grep -q serving "$TMP/serve.out" && break; sleep 0.1; done
url=$(sed -n 's|^serving \(http://127\.0\.0\.1:[0-9]*/metrics\) .*|\1|p' "$TMP/serve.out")
[ -n "$url" ] || { kill "$serve"; fail "metrics serve did not say where it listens: $(cat "$TMP/serve.out" "$TMP/serve.err")"; finish; }
ok "metrics serve listens on $url"
scrape() { # FILE [openmetrics]
	/usr/bin/python3 - "$url" "$1" "${2:-}" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1])
if sys.argv[3]:
    req.add_header("Accept", "application/openmetrics-text; version=1.0.0")
with urllib.request.urlopen(req, timeout=5) as r:
    ct = r.headers["Content-Type"]
    body = r.read()
open(sys.argv[2], "wb").write(body)
want = "application/openmetrics-text" if sys.argv[3] else "text/plain; version=0.0.4"
sys.exit(0 if ct.startswith(want) else 3)
PY
}
scrape "$TMP/empty.txt" && grep -q '^sandbench_registry_sandboxes 0$' "$TMP/empty.txt" &&
	ok "endpoint with no registry yet: 0 sandboxes" || fail "endpoint before the run: $(cat "$TMP/empty.txt")"

# --- a native sandbox busy for 8 s, sampled every 0.25 s ---
"$SB" run latency-spawn --driver native --param work=8 --runs 1 --warmup 0 --no-host-ref \
	--live --sample-interval 0.25 --registry "$REG" --out "$TMP/spawn.json" >"$TMP/run.out" 2>&1 &
run=$!
row=""
for _ in $(seq 600); do # up to 60 s: the first run may build the standard rootfs
	row=$("$SB" top --once --registry "$REG" | awk '$3 == "native" && $5 ~ /^[0-9.]+$/ && $5 > 5')
	[ -n "$row" ] && break
	kill -0 "$run" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$row" ]; then
	fail "top --once never showed the busy native sandbox with CPU % > 5: $(cat "$TMP/run.out")"
	kill "$serve" "$run" 2>/dev/null; wait; finish
fi
ok "top --once shows the busy sandbox: $row"
box=$(echo "$row" | awk '{print $1}')
cpu_a=$(echo "$row" | awk '{print $6}')
[ "$(echo "$row" | awk '{print $2}')" = latency-spawn ] && ok "its name is the scenario" || fail "name column: $row"
scrape "$TMP/m1.txt" || fail "scrape 1 (content type)"
sleep 1.2
row2=$("$SB" top --once --registry "$REG" | awk -v b="$box" '$1 == b')
cpu_b=$(echo "$row2" | awk '{print $6}')
/usr/bin/python3 -c "import sys; sys.exit(0 if float('$cpu_b') > float('$cpu_a') + 0.1 else 1)" &&
	ok "top: CPU seconds moved under load ($cpu_a -> $cpu_b)" || fail "top: CPU seconds $cpu_a -> $cpu_b"
scrape "$TMP/m2.txt" || fail "scrape 2 (content type)"
scrape "$TMP/om.txt" openmetrics || fail "OpenMetrics scrape (content type)"

promtool check metrics <"$TMP/m2.txt" >"$TMP/promtool.out" 2>&1 && ok "promtool check metrics passes" ||
	fail "promtool check metrics: $(cat "$TMP/promtool.out")"
/usr/bin/python3 - "$TMP/m1.txt" "$TMP/m2.txt" "$TMP/om.txt" "$box" <<'PY' && ok "prometheus_client parses both formats; the sandbox's counters moved" || fail "prometheus_client checks"
import sys
from prometheus_client.parser import text_string_to_metric_families as parse_text
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
m1, m2, om, box = sys.argv[1:5]

def values(path, parser):
    out = {}
    for fam in parser(open(path).read()):
        for s in fam.samples:
            if s.labels.get("sandbox") == box:
                assert s.labels["driver"] == "native", s.labels
                assert s.labels["name"] == "latency-spawn", s.labels
                out[s.name] = s.value
    return out

a, b = values(m1, parse_text), values(m2, parse_text)
c = values(om, parse_om)
for v in (a, b, c):
    assert "sandbench_sandbox_cpu_seconds_total" in v, v
assert b["sandbench_sandbox_cpu_seconds_total"] > a["sandbench_sandbox_cpu_seconds_total"] + 0.1, (a, b)
assert b["sandbench_sandbox_sample_timestamp_seconds"] > a["sandbench_sandbox_sample_timestamp_seconds"], (a, b)
assert b["sandbench_sandbox_cpu_usage_ratio"] > 0.05, b  # one busy core, on a shared host
assert b["sandbench_sandbox_pids"] >= 1, b
assert b["sandbench_sandbox_rss_bytes"] > 0, b
assert c["sandbench_sandbox_cpu_seconds_total"] >= b["sandbench_sandbox_cpu_seconds_total"], (b, c)
print("cpu seconds %.2f -> %.2f -> %.2f, ratio %.2f" % (a["sandbench_sandbox_cpu_seconds_total"],
      b["sandbench_sandbox_cpu_seconds_total"], c["sandbench_sandbox_cpu_seconds_total"],
      b["sandbench_sandbox_cpu_usage_ratio"]))
PY

wait "$run" && ok "the live run finished ok" || fail "run --live: $(cat "$TMP/run.out")"
out=$("$SB" top --once --registry "$REG")
[ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] && ok "after the run: no live sandbox" || fail "after the run: $out"
[ ! -e "$REG" ] && ok "after the run: the registry file is gone" || fail "registry left behind: $REG"
scrape "$TMP/after.txt" && grep -q '^sandbench_registry_sandboxes 0$' "$TMP/after.txt" &&
	ok "endpoint after the run: 0 sandboxes" || fail "endpoint after the run: $(grep registry "$TMP/after.txt")"
kill -TERM "$serve"
wait "$serve" && ok "metrics serve exits 0 on SIGTERM" || fail "metrics serve exit status $?"

# --- a scenario records the sampled series (--keep-series) ---
"$SB" run resource-mem-touch --driver native --param size=32M --runs 3 --warmup 0 --no-host-ref \
	--live --sample-interval 0.05 --registry "$REG" --keep-series --out "$TMP/mem.json" >"$TMP/mem.out" 2>&1 ||
	fail "run resource-mem-touch --live --keep-series: $(cat "$TMP/mem.out")"
validate "$TMP/mem.json" >/dev/null && ok "its report validates" || fail "report does not validate"
/usr/bin/python3 - "$TMP/mem.json" <<'PY' && ok "the report has the live_* series" || fail "live_* series missing"
import json, sys
r = json.load(open(sys.argv[1]))
names = {s["name"] for s in r.get("series", [])}
need = {"live_rss_bytes", "live_pids", "live_mem_bytes"}
assert need <= names, names
rss = [p for s in r["series"] if s["name"] == "live_rss_bytes" for p in s["points"]]
assert len(rss) >= 2 and all(v > 0 for _, v in rss), rss
PY
finish
