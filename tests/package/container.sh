#!/bin/bash
# The bench container for real: `docker build` of packaging/Dockerfile (Debian 12 base, sandbench
# built inside, the runtimes installed from Debian's packages), then:
#  - run without privileges: the entrypoint refuses with one line that names --privileged;
#  - run privileged with /output mounted: the quick suite on native, exit 0, reports copied to
#    /output/reports and valid against the schema, the system information naming the commit.
# Where Docker Hub's debian:12 cannot be pulled, the base is made here from Debian's packages
# (mmdebstrap bookworm | docker import, tagged sandbench-base/debian:12 and kept as a cache).
# The build uses the host's network (dockerd runs with --iptables=false here: no NAT for bridges).
# Docker's --privileged asks the kernel for every capability; where root's bounding set lacks one
# (CAP_SYS_RESOURCE on this machine kind) runc refuses to start, so the privileged run goes through
# podman --privileged (which grants what the bounding set holds) on the same image.
# Exit 77 with the reason when docker, a daemon or the package mirror is not available.
. "$SRCDIR/tests/integration/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "docker needs root"
docker=/usr/bin/docker
[ -x $docker ] || skip "docker CLI missing (docker.io)"
tag=sandbench-test/bench:$$
ptag=
start=
base=sandbench-base/debian:12
fixed=
cleanup() {
	$docker rmi -f "$tag" >/dev/null 2>&1
	[ -n "$ptag" ] && podman rmi -f "$ptag" >/dev/null 2>&1
	# The build stage's image (untagged) of builds before this one: the newest stays as the layer
	# cache of the next build, older ones would pile up (~800 MB each).
	[ -n "$start" ] && $docker image prune -f --filter label=org.sandbench.stage=build \
		--filter "until=$(($(date +%s) - start + 1))s" >/dev/null 2>&1
	[ -n "$fixed" ] && { "$SANDBENCH" doctor --restore-host --drivers docker >"$TMP/restore.out" 2>&1 ||
		echo "FAIL: doctor --restore-host: $(cat "$TMP/restore.out")"; }
	rm -rf "$TMP"
}
trap cleanup EXIT

# A daemon: the one running, else started through doctor (and stopped again at the end).
if ! $docker info >/dev/null 2>&1; then
	"$SANDBENCH" doctor --prepare-host --drivers docker >"$TMP/prepare.out" 2>&1 && fixed=docker
	for _ in $(seq 50); do $docker info >/dev/null 2>&1 && break; sleep 0.2; done
	$docker info >/dev/null 2>&1 || skip "no docker daemon, and doctor could not start one: $(tail -1 "$TMP/prepare.out")"
	ok "dockerd started through doctor --prepare-host"
fi

# The base image.
build_base=$base
if ! $docker image inspect $base >/dev/null 2>&1 && ! $docker image inspect debian:12 >/dev/null 2>&1; then
	command -v mmdebstrap >/dev/null || skip "no debian:12 image and no mmdebstrap to make one (bash scripts/deps.sh package)"
	if mmdebstrap --variant=minbase --mode=root bookworm "$TMP/base.tar" >"$TMP/mmdebstrap.log" 2>&1 &&
		$docker import "$TMP/base.tar" $base >/dev/null; then
		ok "base image $base made with mmdebstrap from Debian's packages"
	else
		skip "cannot make a Debian 12 base (is the package mirror reachable?): $(tail -1 "$TMP/mmdebstrap.log")"
	fi
	rm -f "$TMP/base.tar"
elif ! $docker image inspect $base >/dev/null 2>&1; then
	build_base=debian:12
fi

# The build, from the source tree (.dockerignore keeps build dirs out).
git_version=$("$SANDBENCH" --version | sed -n '1s/.*(\(.*\)).*/\1/p')
start=$(date +%s)
if $docker build --force-rm --network host -f "$SRCDIR/packaging/Dockerfile" --build-arg BASE=$build_base \
	--build-arg SANDBENCH_GIT="$git_version" -t "$tag" "$SRCDIR" >"$TMP/build.log" 2>&1; then
	ok "docker build of packaging/Dockerfile ($(($(date +%s) - start)) s)"
else
	grep -q "Temporary failure resolving\|Could not resolve\|Failed to fetch" "$TMP/build.log" &&
		skip "the build container cannot reach Debian's packages: $(grep -m1 'Failed to fetch\|resolv' "$TMP/build.log")"
	tail -20 "$TMP/build.log"
	fail "docker build failed"
	finish
fi
missing=$($docker run --rm --network none --entrypoint /bin/sh "$tag" -c 'for f in "$@"; do [ -e "$f" ] || echo "$f"; done' sh \
	/usr/bin/sandbench /usr/libexec/sandbench/sandbench-agent /usr/local/bin/sandbench-entrypoint \
	/usr/share/sandbench/report.schema.json /usr/share/man/man1/sandbench.1.gz /usr/bin/bwrap /usr/bin/crun \
	/usr/sbin/runc /usr/bin/podman /usr/bin/docker /usr/bin/ctr /usr/bin/lxc-execute /usr/bin/firejail \
	/usr/bin/runsc /usr/bin/systemd-nspawn 2>&1)
[ -z "$missing" ] && ok "image holds sandbench, its agent, the entrypoint, the schema, the man page and the runtimes" ||
	fail "image lacks: $missing"

# Without privileges: refused, and told why.
$docker run --rm --network none "$tag" >"$TMP/unpriv.out" 2>"$TMP/unpriv.err"
rc=$?
if [ $rc -eq 1 ] && grep -q -- "--privileged" "$TMP/unpriv.err" && [ "$(wc -l <"$TMP/unpriv.err")" -eq 1 ]; then
	ok "unprivileged docker run: exit 1, '$(cut -c1-100 "$TMP/unpriv.err")...'"
else
	fail "unprivileged run: exit $rc, stderr: $(cat "$TMP/unpriv.err")"
fi
grep -q "^privileged: *no" "$TMP/unpriv.out" && ok "its system info says privileged: no" || fail "no privileged: line"

# Privileged, with /output mounted.
mkdir -p "$TMP/out"
run=("$docker" run --rm --privileged --network none)
if ! $docker run --rm --privileged --network none --entrypoint /bin/true "$tag" 2>"$TMP/priv.err"; then
	if grep -q "apply caps" "$TMP/priv.err" && command -v podman >/dev/null; then
		echo "note: docker --privileged cannot start here ($(grep -o 'unable to apply caps[^:]*: [a-z ]*' "$TMP/priv.err" | head -1):" \
			"root's bounding set lacks a capability); running the same image with podman --privileged"
		podman pull -q "docker-daemon:$tag" >"$TMP/pull.log" 2>&1 || { fail "podman pull docker-daemon:$tag: $(tail -1 "$TMP/pull.log")"; finish; }
		# podman's own quirk here: root lacks CAP_SYS_RESOURCE, so the default ulimits cannot be set.
		run=(podman run --rm --privileged --runtime runc --network none
			--ulimit nofile=20000:20000 --ulimit nproc=32768:32768)
		ptag=docker.io/$tag
	else
		fail "docker run --privileged fails: $(cat "$TMP/priv.err")"
		finish
	fi
fi
"${run[@]}" -v "$TMP/out:/output" -e SANDBENCH_RUNS=3 "${ptag:-$tag}" >"$TMP/run.out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "privileged run of the quick suite on native: exit 0" || { tail -20 "$TMP/run.out"; fail "privileged run exit $rc"; }
grep -q "^privileged: *yes" "$TMP/run.out" && ok "privileged: yes" || fail "privileged line: $(grep privileged "$TMP/run.out")"
grep -qx "commit: *$git_version" "$TMP/out/system.txt" 2>/dev/null && ok "the image reports commit $git_version" ||
	fail "commit in the container: $(grep commit "$TMP/out/system.txt" 2>&1)"
nquick=$("$SANDBENCH" list | awk 'NR > 1 && $4 ~ /(^|,)quick(,|$)/' | wc -l)
n=$(ls "$TMP"/out/reports/*.json 2>/dev/null | wc -l)
[ "$n" -eq "$nquick" ] && [ "$n" -gt 0 ] && ok "$n reports (the quick profile) in the mounted /output/reports" ||
	fail "$n reports in /output/reports, $nquick expected"
out=$(validate "$TMP/out/reports" 2>&1) && ok "they validate ($out)" || fail "validation: $out"
bad=$(grep -L '"status": *"ok"' "$TMP"/out/reports/*.json 2>/dev/null)
[ -z "$bad" ] && ok "every report ok" || fail "not ok: $bad"
[ -s "$TMP/out/summary.md" ] && [ -s "$TMP/out/slo.txt" ] && ok "summary.md and slo.txt written" || fail "summary/slo missing"
if "$SANDBENCH" slo --help >/dev/null 2>&1; then
	grep -q "all SLOs met\|VIOLATED\|not measured" "$TMP/out/slo.txt" &&
		ok "the image's default SLO file gave: $(cat "$TMP/out/slo.txt")" || fail "SLO line: $(cat "$TMP/out/slo.txt")"
fi
if "$SANDBENCH" run --help | grep -q -- --store; then
	[ -s "$TMP/out/history.db" ] && ok "the run was recorded into /output/history.db" || fail "no /output/history.db"
fi
finish
