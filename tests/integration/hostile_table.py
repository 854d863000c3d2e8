#!/usr/bin/python3
"""The Markdown rows of docs/hostile-input.md's table, made from tests/integration/hostile_input.tsv.
`hostile_table.py TSV` prints them; `hostile_table.py TSV DOC` exits 1 naming the first difference
between them and the rows in DOC between the table markers (the doc must quote the TSV exactly)."""
import sys

BEGIN = "<!-- table from tests/integration/hostile_input.tsv -->"
END = "<!-- end of table -->"


def cell(s):
    return s.replace("|", "\\|")


def rows(tsv):
    out = ["| verb | input | command (`sandbench ...`) | environment | the one error line says |",
           "|---|---|---|---|---|"]
    for line in open(tsv, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        verb, what, args, env, expect = line.split("\t")
        args = args.strip()
        out.append("| %s | %s | %s | %s | %s |" % (cell(verb), cell(what), "`%s`" % cell(args) if args else "(nothing)",
                                                   "" if env == "-" else "`%s`" % cell(env), cell(expect)))
    return out


want = rows(sys.argv[1])
if len(sys.argv) == 2:
    print("\n".join(want))
    sys.exit(0)
doc = open(sys.argv[2], encoding="utf-8").read().split("\n")
try:
    got = doc[doc.index(BEGIN) + 1:doc.index(END)]
except ValueError:
    sys.exit("%s: no table markers (%s ... %s)" % (sys.argv[2], BEGIN, END))
got = [g for g in got if g.strip()]
for i, (w, g) in enumerate(zip(want, got)):
    if w != g:
        sys.exit("%s: table row %d differs from the TSV:\n  doc: %s\n  tsv: %s" % (sys.argv[2], i - 1, g, w))
if len(want) != len(got):
    sys.exit("%s: table has %d rows, the TSV %d" % (sys.argv[2], len(got) - 2, len(want) - 2))
