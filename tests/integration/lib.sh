# Shared helpers for integration tests (sourced). Tests exit 0 pass, 1 fail, 77 skip.
set -u
: "${SANDBENCH:?SANDBENCH must point at the built binary}"
: "${SRCDIR:?SRCDIR must point at the source tree}"
TMP=$(mktemp -d /tmp/sb-it-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }
skip() { echo "SKIP: $*"; exit 77; }
finish() { [ "$fails" -eq 0 ] && exit 0; echo "$fails check(s) failed"; exit 1; }

# expect_error "what" EXPECTED_SUBSTRING cmd...: exit 1, exactly one stderr line containing the text.
expect_error() {
	local what=$1 want=$2; shift 2
	local err rc
	err=$("$@" 2>&1 >/dev/null); rc=$?
	if [ "$rc" -ne 1 ]; then fail "$what: exit $rc, expected 1"; return; fi
	if [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then fail "$what: expected one error line, got: $err"; return; fi
	case "$err" in *"$want"*) ok "$what";; *) fail "$what: '$err' lacks '$want'";; esac
}

validate() {
	/usr/bin/python3 "$SRCDIR/tests/tools/validate_report.py" "$SRCDIR/docs/report.schema.json" "$@"
}

# Wait (up to $2 s) until no process matches the pattern.
gone() {
	local pat=$1 t=${2:-5} i=0
	while pgrep -f -- "$pat" >/dev/null; do
		i=$((i + 1)); [ "$i" -gt $((t * 10)) ] && return 1; sleep 0.1
	done
	return 0
}
