#!/bin/bash
# The store on a real PostgreSQL server: a throwaway cluster started here (initdb in a temp dir,
# a unix socket in that dir, no TCP). Import and idempotence, history with a change point,
# compare --against-history, recording by run and paired, several hosts writing into one fresh
# store at once (the schema created exactly once, every result exactly once), and a store written
# by schema version 1 (tests/store/fixtures/v1-postgresql.sql) migrated on open.
. "$SRCDIR/tests/integration/lib.sh"
. "$SRCDIR/tests/store/pg_lib.sh"
sb=$SANDBENCH
craft() { /usr/bin/python3 "$SRCDIR/tests/compare/craft.py" "$@"; }
run_rc() {
	local want=$1 what=$2; shift 2
	"$@" > "$TMP/out" 2> "$TMP/err"; local rc=$?
	[ "$rc" -eq "$want" ] && ok "$what (exit $rc)" || { fail "$what: exit $rc, expected $want"; cat "$TMP/out" "$TMP/err"; }
}
q() { pg_psql -At -c "$1"; }

pg_start
uri() { echo "postgresql:///$1?host=$PGDIR&user=postgres"; }
ok "throwaway cluster up on $PGDIR"
export SANDBENCH_STORE=$(uri postgres)

# 16 daily runs with a 40 % step from the 11th.
mkdir -p "$TMP/in"
for k in $(seq 0 15); do
	level=1.0; [ "$k" -ge 10 ] && level=1.4
	craft "$TMP/in/r$k.json" --metric lifecycle_ms ms 0 "$level" 10 "$k" 1 --param work=0 \
		--started "2026-01-$(printf '%02d' $((k + 1)))T10:00:00Z" --host-ref 0.5 "$k" 1
done
run_rc 0 "import into PostgreSQL" $sb history import "$TMP/in"
grep -q "16 results added, 0 already present" "$TMP/out" && ok "16 added" || fail "import: $(cat "$TMP/out")"
run_rc 0 "import again" $sb history import "$TMP/in"
grep -q "0 results added, 16 already present" "$TMP/out" && ok "nothing added twice" || fail "reimport: $(cat "$TMP/out")"
[ "$(q 'select count(*) from results')" = 16 ] && ok "16 result rows" || fail "rows: $(q 'select count(*) from results')"
[ "$(q "select value from sb_meta where key = 'schema_version'")" = 2 ] && ok "schema version 2" || fail "version"

run_rc 0 "history on PostgreSQL" $sb history --scenario latency-spawn --metric lifecycle_ms --json
/usr/bin/python3 - "$TMP/out" "$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"]["id"])' "$TMP/in/r10.json")" <<'PY' &&
import json, sys
s, = json.load(open(sys.argv[1]))["series"]
assert len(s["points"]) == 16
cp, = s["change_points"]
assert cp["index"] == 10 and cp["run_id"] == sys.argv[2], cp
PY
	ok "the step found at run 10, as on SQLite" || fail "history: $(head -c 500 "$TMP/out")"

craft "$TMP/slow.json" --metric lifecycle_ms ms 0 2.1 10 99 1 --param work=0 --started 2026-02-01T10:00:00Z --host-ref 0.5 99 1
run_rc 2 "compare --against-history from PostgreSQL" $sb compare --against-history 4 "$TMP/slow.json"
grep -q "lifecycle_ms (p50) .*40+10 .*regression" "$TMP/out" && ok "four stored runs as the baseline" || fail "against: $(cat "$TMP/out")"

run_rc 0 "run records into PostgreSQL" $sb run latency-spawn --runs 3 --out "$TMP/run"
grep -q "history: 1 result recorded in postgresql://" "$TMP/out" && ok "run says so" || fail "run: $(tail -2 "$TMP/out")"
run_rc 0 "paired records into PostgreSQL" $sb paired --baseline-cmd /bin/true --current-cmd /bin/true --pairs 6 --warmup 1 --threshold 5 # the record, not the verdict
[ "$(q "select count(*) from results where side <> ''")" = 2 ] && ok "paired sides" || fail "paired sides"
[ "$(q "select count(*) from runs where kind = 'paired' and document is not null")" = 1 ] && ok "paired run document" ||
	fail "paired run"

# Many hosts at once into a fresh store: four "hosts" (their own reports) plus one document set all
# of them import, started together. The schema must be created once and every result stored once.
pg_psql -c "CREATE DATABASE fleet" >/dev/null
for h in 1 2 3 4; do
	mkdir -p "$TMP/host$h"
	for k in $(seq 0 9); do
		craft "$TMP/host$h/r$k.json" --metric lifecycle_ms ms 0 1 20 "$k" 1 --param work=0 \
			--host "hostname_hash=\"host$h\"" --started "2026-03-0$((k % 9 + 1))T0$h:00:00Z"
	done
done
pids=()
for h in 1 2 3 4; do
	$sb history import --store "$(uri fleet)" "$TMP/host$h" "$TMP/in" > "$TMP/fleet$h.out" 2>&1 &
	pids+=($!)
done
$sb run latency-spawn --runs 3 --out "$TMP/frun1" --store "$(uri fleet)" > "$TMP/fleet5.out" 2>&1 &
pids+=($!)
$sb run latency-spawn --runs 3 --out "$TMP/frun2" --store "$(uri fleet)" > "$TMP/fleet6.out" 2>&1 &
pids+=($!)
bad=0
for i in "${!pids[@]}"; do wait "${pids[$i]}" || { bad=1; cat "$TMP/fleet$((i + 1)).out"; }; done
[ "$bad" = 0 ] && ok "six writers at once, all succeeded" || fail "a concurrent writer failed"
PGDB=fleet
[ "$(q 'select count(*) from results')" = $((4 * 10 + 16 + 2)) ] && ok "every result exactly once (58)" ||
	fail "results: $(q 'select count(*) from results'), expected 58"
[ "$(q "select count(*) from hosts where hostname_hash like 'host%'")" = 4 ] && ok "four hosts" || fail "hosts: $(q 'select hostname_hash from hosts')"
[ "$(q "select count(*) from samples s join results r on r.id = s.result_id join runs ru on ru.id = r.run_pk where ru.tool_git = 'test'")" = $((4 * 10 * 20 + 16 * 10)) ] &&
	ok "every sample exactly once" || fail "samples: $(q 'select count(*) from samples')"
[ "$(q "select value from sb_meta where key = 'schema_version'")" = 2 ] && ok "schema created once, version 2" || fail "fleet version"
grep -h "already present" "$TMP"/fleet[1-4].out | awk '{s += $(NF - 2)} END {exit !(s == 3 * 16)}' &&
	ok "the shared documents were added by one writer, found present by the other three" ||
	fail "shared documents: $(grep -h "already present" "$TMP"/fleet[1-4].out)"
PGDB=

# A store written by schema version 1, migrated when opened.
pg_psql -c "CREATE DATABASE old" >/dev/null
PGDB=old pg_psql -f "$SRCDIR/tests/store/fixtures/v1-postgresql.sql" >/dev/null 2>"$TMP/load.err" &&
	ok "v1 fixture loaded" || { fail "loading the v1 fixture: $(cat "$TMP/load.err")"; finish; }
PGDB=old
[ "$(q "select value from sb_meta where key = 'schema_version'")" = 1 ] && ok "it is version 1" || fail "fixture version"
run_rc 0 "history on the v1 store" $sb history --store "$(uri old)" --scenario latency-spawn --metric exec_ms --json
/usr/bin/python3 -c 'import json,sys; s,=json.load(open(sys.argv[1]))["series"]; assert len(s["points"]) == 3' "$TMP/out" &&
	ok "its three runs read back" || fail "v1 history: $(head -c 300 "$TMP/out")"
[ "$(q "select value from sb_meta where key = 'schema_version'")" = 2 ] && ok "migrated to version 2" || fail "not migrated"
[ "$(q "select count(*) from hosts where host_class is null")" = 0 ] && ok "host classes filled" || fail "host_class null"
run_rc 0 "new results into the migrated store" $sb history import --store "$(uri old)" "$TMP/in/r0.json"
[ "$(q 'select count(*) from results')" = 6 ] && ok "ids continue after the old rows" || fail "after import: $(q 'select count(*) from results')"
PGDB=

# A refused connection is one line.
expect_error "no server at that socket" "cannot connect" $sb history --store "postgresql:///x?host=$TMP/nosocket"
finish
