# A throwaway PostgreSQL cluster for the store tests (sourced after tests/integration/lib.sh):
# initdb in a temp dir, the server on a unix socket in that dir only (no TCP), stopped and removed
# on exit. pg_start sets PGURI (a postgresql:// URI for database "postgres") or SKIPs with the reason.
PGDIR=
pg_stop() {
	[ -n "$PGDIR" ] || return 0
	if [ -f "$PGDIR/data/postmaster.pid" ]; then
		pg_as "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate -w stop >/dev/null 2>&1
	fi
	rm -rf "$PGDIR"
	PGDIR=
}
pg_as() {
	if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_start() {
	PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] ||
		skip "PostgreSQL server binaries not installed (Debian package postgresql)"
	if [ "$(id -u)" -eq 0 ]; then
		# initdb refuses to run as root; Debian's postgresql package makes the postgres user.
		id postgres >/dev/null 2>&1 || skip "no 'postgres' user to run the throwaway cluster as"
		command -v runuser >/dev/null || skip "runuser (util-linux) missing"
	fi
	PGDIR=$(mktemp -d /tmp/sb-pg-XXXXXX)
	chmod 755 "$PGDIR"
	[ "$(id -u)" -eq 0 ] && chown postgres: "$PGDIR"
	# The cluster goes on every way out, a signal too (a meson timeout sends SIGTERM).
	trap 'pg_stop; rm -rf "$TMP"' EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	pg_as "$PGBIN/initdb" -D "$PGDIR/data" -U postgres --auth=trust -E UTF8 --no-locale >"$PGDIR/initdb.log" 2>&1 ||
		{ cat "$PGDIR/initdb.log"; fail "initdb failed"; finish; }
	pg_as "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 60 \
		-o "-k $PGDIR -c listen_addresses= -c fsync=off -c max_connections=40" start >/dev/null 2>&1 ||
		{ cat "$PGDIR/server.log"; fail "pg_ctl start failed"; finish; }
	PGURI="postgresql:///postgres?host=$PGDIR&user=postgres"
}
# psql on the throwaway cluster: pg_psql -c 'SQL' ...
pg_psql() {
	"$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGDIR" -U postgres -d "${PGDB:-postgres}" "$@"
}
