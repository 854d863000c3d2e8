#!/bin/bash
# The Debian package end to end: dpkg-buildpackage -us -uc -b in a copy of the source tree (no git
# metadata, so the version comes from debian/changelog), the .deb's contents, `apt-get install
# ./sandbench_*.deb`, the installed sandbench (agent found under /usr/libexec without help) running
# the quick suite on native with reports valid against the installed schema, `man -l` rendering the
# page, and `apt-get purge` leaving nothing. Exit 77 with the reason when the host cannot do this.
. "$SRCDIR/tests/integration/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "installing a package needs root"
for t in dpkg-buildpackage dh scdoc man apt-get; do
	command -v $t >/dev/null || skip "$t missing (bash scripts/deps.sh package)"
done
[ -x /bin/busybox ] || skip "busybox-static missing (the package depends on it)"
if dpkg-query -W -f='${Status}' sandbench 2>/dev/null | grep -q 'install ok installed'; then
	skip "a sandbench package is installed already; this test would replace it"
fi
installed=false
cleanup() {
	if $installed; then
		apt-get purge -y -qq -o DPkg::Lock::Timeout=300 sandbench >"$TMP/purge.log" 2>&1 ||
			echo "FAIL: apt-get purge sandbench: $(tail -3 "$TMP/purge.log")"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

# A copy of the tree as a source package would hold it: tracked and new files, no build dirs, no .git.
mkdir -p "$TMP/pkg/src"
if git -C "$SRCDIR" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$SRCDIR" ls-files -z -co --exclude-standard |
		tar -C "$SRCDIR" --null -T - -cf - | tar -C "$TMP/pkg/src" -xf -
else
	tar -C "$SRCDIR" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$TMP/pkg/src" -xf -
fi
want_version=$(cd "$TMP/pkg/src" && dpkg-parsechangelog -S Version)
if (cd "$TMP/pkg/src" && DEB_BUILD_OPTIONS="nocheck noddebs parallel=2" dpkg-buildpackage -us -uc -b) \
	>"$TMP/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b"
else
	tail -25 "$TMP/build.log"
	fail "dpkg-buildpackage failed"
	finish
fi
deb=$(ls "$TMP"/pkg/sandbench_*.deb 2>/dev/null | head -1)
[ -f "$deb" ] || { fail "no sandbench_*.deb next to the source"; finish; }

# What meson install put in the package: binary, agent, man page, every schema in docs/.
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$TMP/contents"
want=(/usr/bin/sandbench /usr/libexec/sandbench/sandbench-agent /usr/share/man/man1/sandbench.1.gz
	/usr/share/doc/sandbench/copyright)
for s in "$SRCDIR"/docs/*.schema.json; do want+=("/usr/share/sandbench/$(basename "$s")"); done
missing=0
for f in "${want[@]}"; do
	grep -qx -- "$f" "$TMP/contents" || { fail "package lacks $f"; missing=1; }
done
[ $missing -eq 0 ] && ok "package holds the binary, the agent, the man page and ${#want[@]} files in all"
for d in "$SRCDIR"/docs/*.md; do
	grep -Eqx "/usr/share/doc/sandbench/$(basename "$d")(\.gz)?" "$TMP/contents" ||
		fail "docs/$(basename "$d") is not in the package (debian/sandbench.docs)"
done
dpkg-deb -f "$deb" Depends | grep -q busybox-static && ok "Depends names busybox-static (the rootfs userland)" ||
	fail "Depends lacks busybox-static: $(dpkg-deb -f "$deb" Depends)"

# Install as an operator would.
if apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "$deb" >"$TMP/install.log" 2>&1; then
	installed=true
	ok "apt-get install ./$(basename "$deb")"
else
	tail -10 "$TMP/install.log"
	fail "apt-get install failed"
	finish
fi
dpkg-query -W -f='${Status} ${Version}\n' sandbench | grep -qx "install ok installed $want_version" &&
	ok "dpkg says sandbench $want_version is installed" ||
	fail "dpkg status: $(dpkg-query -W -f='${Status} ${Version}' sandbench)"

# The installed binary, alone: no SANDBENCH_AGENT, a PATH without the build tree, a private cache.
sbi() { env -u SANDBENCH_AGENT PATH=/usr/sbin:/usr/bin:/sbin:/bin SANDBENCH_CACHE="$TMP/cache" SANDBENCH_STORE=off /usr/bin/sandbench "$@"; }
ver=$(sbi --version | head -1)
case $ver in "sandbench "*"($want_version)") ok "installed --version: $ver" ;;
*) fail "installed --version '$ver' does not name the package version $want_version" ;; esac
if sbi run --profile quick --driver native --runs 2 --out "$TMP/res" >"$TMP/run.out" 2>&1; then
	ok "installed sandbench ran the quick suite on native"
else
	tail -15 "$TMP/run.out"
	fail "installed sandbench run --profile quick --driver native failed"
fi
n=$(ls "$TMP"/res/*.json 2>/dev/null | wc -l)
[ "$n" -ge 4 ] && ok "$n reports written" || fail "only $n reports from the quick profile"
bad=$(grep -L '"status": *"ok"' "$TMP"/res/*.json 2>/dev/null)
[ -z "$bad" ] && ok "every report has status ok" || fail "reports not ok: $bad"
if /usr/bin/python3 -c 'import jsonschema' 2>/dev/null; then
	out=$(/usr/bin/python3 "$SRCDIR/tests/tools/validate_report.py" /usr/share/sandbench/report.schema.json "$TMP/res" 2>&1) &&
		ok "reports valid against the installed schema ($out)" || fail "schema: $out"
fi
ls "$TMP"/cache/rootfs-*/sandbench-agent >/dev/null 2>&1 &&
	cmp -s "$(ls "$TMP"/cache/rootfs-*/sandbench-agent | head -1)" /usr/libexec/sandbench/sandbench-agent &&
	ok "the rootfs got the installed agent" || fail "the rootfs's agent is not /usr/libexec/sandbench/sandbench-agent"

# The man page renders, without groff warnings, with its sections.
MANWIDTH=80 man -l /usr/share/man/man1/sandbench.1.gz >"$TMP/man.txt" 2>"$TMP/man.err"
rc=$?
if [ $rc -eq 0 ] && [ ! -s "$TMP/man.err" ]; then ok "man -l renders sandbench(1)"; else
	fail "man -l exit $rc: $(head -3 "$TMP/man.err")"; fi
for sec in NAME SYNOPSIS VERBS 'EXIT STATUS' ENVIRONMENT FILES EXAMPLES; do
	grep -q "^$sec" "$TMP/man.txt" || fail "man page lacks section $sec"
done
ok "the installed man page has its sections (tests/package/man.sh checks the verbs)"

# Purge leaves nothing of the package behind.
if apt-get purge -y -qq -o DPkg::Lock::Timeout=300 sandbench >"$TMP/purge.log" 2>&1; then
	installed=false
	left=$(ls -d /usr/bin/sandbench /usr/libexec/sandbench /usr/share/sandbench 2>/dev/null)
	[ -z "$left" ] && ok "apt-get purge removed everything" || fail "left after purge: $left"
else
	fail "apt-get purge: $(tail -3 "$TMP/purge.log")"
fi
finish
