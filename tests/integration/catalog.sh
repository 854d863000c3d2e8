#!/bin/bash
# The README's scenario and driver tables name exactly what `sandbench list --json` and
# `sandbench drivers --json` report; every listed scenario declares its metrics; the tree's code and
# docs cite only documents that are in the tree.
. "$SRCDIR/tests/integration/lib.sh"
sb=$SANDBENCH
$sb list --json > "$TMP/list.json" || fail "list --json"
$sb drivers --json > "$TMP/drivers.json" 2> /dev/null || fail "drivers --json"
/usr/bin/python3 - "$SRCDIR/README.md" "$TMP/list.json" "$TMP/drivers.json" <<'PY' && ok "README tables match the registries" || fail "README tables"
import json, re, sys
readme = open(sys.argv[1]).read()
def table(section):
    body = readme.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return {m.group(1) for m in re.finditer(r"^\| `([a-z0-9-]+)` \|", body, re.M)}
scn = {s["name"] for s in json.load(open(sys.argv[2]))}
drv = {d["name"] for d in json.load(open(sys.argv[3]))}
ok = True
for what, listed, real in (("scenario", table("Scenarios"), scn), ("driver", table("Drivers"), drv)):
    for name in sorted(real - listed):
        print(f"README lacks the {what} {name}"); ok = False
    for name in sorted(listed - real):
        print(f"README lists the {what} {name}, which does not exist"); ok = False
sys.exit(0 if ok else 1)
PY
/usr/bin/python3 - "$TMP/list.json" <<'PY' && ok "every scenario declares its metrics" || fail "undeclared metrics"
import json, sys
for s in json.load(open(sys.argv[1])):
    assert s["metrics"], s["name"]
    for m in s["metrics"]:
        assert m["unit"] and m["meaning"] and isinstance(m["higher_is_better"], bool), (s["name"], m)
PY
# Design notes outside the repository are not something a reader of the tree has.
outside="DESIGN""\.md"
hits=$(grep -rlE "$outside" "$SRCDIR/src" "$SRCDIR/docs" "$SRCDIR/tests" "$SRCDIR/bench" "$SRCDIR/scripts" \
	"$SRCDIR/README.md" 2> /dev/null)
[ -z "$hits" ] && ok "no citation of documents outside the tree" || fail "cites an outside document: $hits"
finish
