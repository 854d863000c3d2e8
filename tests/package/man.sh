#!/bin/bash
# sandbench(1) as built in this tree (docs/man/sandbench.1.scd through scdoc): `man -l` renders it
# without warnings, with its sections, and it describes every verb `sandbench --help` lists, so a new
# verb without a man entry fails here (quickly) rather than only in the package test.
. "$SRCDIR/tests/integration/lib.sh"
page=${MANPAGE:?MANPAGE must point at the built page}
[ -f "$page" ] || skip "the man page was not built (scdoc missing: bash scripts/deps.sh package)"
command -v man >/dev/null || skip "man missing (man-db)"
MANWIDTH=80 man -l "$page" >"$TMP/man.txt" 2>"$TMP/man.err"
rc=$?
[ $rc -eq 0 ] && [ ! -s "$TMP/man.err" ] && ok "man -l renders it cleanly" || fail "man -l exit $rc: $(head -3 "$TMP/man.err")"
for sec in NAME SYNOPSIS DESCRIPTION VERBS DRIVERS 'EXIT STATUS' ENVIRONMENT FILES EXAMPLES 'SEE ALSO'; do
	grep -q "^$sec" "$TMP/man.txt" || fail "no section $sec"
done
ok "every section there"
verbs=$("$SANDBENCH" --help | awk '/^verbs:/ {on=1; next} on && !NF {exit} on {print $1}')
[ -n "$verbs" ] || fail "no verbs parsed from sandbench --help"
for verb in $verbs; do
	grep -Eq "^       $verb( |$)" "$TMP/man.txt" || fail "verb '$verb' is not described in docs/man/sandbench.1.scd"
done
ok "every verb of sandbench --help described: $(echo $verbs)"
for d in $("$SANDBENCH" drivers --json | sed -n 's/^ *"name": *"\([a-z0-9-]*\)".*/\1/p'); do
	grep -q "\b$d\b" "$TMP/man.txt" || fail "driver '$d' not named in the man page's DRIVERS"
done
ok "every driver named"
finish
