# netproxy.bash - runs tests/tools/fault-proxy (or bench/latency-proxy)
# between OpenSSH's client or sftpfs and the private sshd of lib/sshd.bash.
#
# proxy_start [proxy options...] starts the fault proxy in front of
# $SSHD_PORT with a control socket; it sets $PROXY_PORT, $PROXY_CTL,
# $PROXY_PID and $PROXY_KNOWN_HOSTS (the sshd's host keys under
# [127.0.0.1]:$PROXY_PORT). proxy_ctl COMMAND sends a control command,
# proxy_stat NAME prints one counter, proxy_ssh runs OpenSSH's client through
# the proxy, proxy_stop ends the proxy.

PROXY_BIN=${PROXY_BIN:-$top_builddir/tests/tools/fault-proxy}

proxy_start() {
	[ -x "$PROXY_BIN" ] || fail_precondition "$PROXY_BIN not built (make)" || return 1
	[ -n "${SSHD_PORT:-}" ] || fail_precondition "proxy_start needs a running sshd (sshd_start)" || return 1
	PROXY_CTL=$SSHD_DIR/proxy.ctl
	rm -f "$SSHD_DIR/proxy.port"
	"$PROXY_BIN" --target "$SSHD_PORT" --control "$PROXY_CTL" --port-file "$SSHD_DIR/proxy.port" "$@" \
		>/dev/null 2>"$SSHD_DIR/proxy.log" &
	PROXY_PID=$!
	local i
	for i in $(seq 1 100); do
		[ -s "$SSHD_DIR/proxy.port" ] && break
		sleep 0.02
	done
	[ -s "$SSHD_DIR/proxy.port" ] || fail_precondition "proxy did not start: $(cat "$SSHD_DIR/proxy.log")" || return 1
	PROXY_PORT=$(cat "$SSHD_DIR/proxy.port")
	PROXY_KNOWN_HOSTS=$SSHD_DIR/known_hosts.proxy
	sed "s/^\[127\.0\.0\.1\]:$SSHD_PORT /[127.0.0.1]:$PROXY_PORT /" "$SSHD_KNOWN_HOSTS" >"$PROXY_KNOWN_HOSTS"
	export PROXY_PORT PROXY_CTL PROXY_PID PROXY_KNOWN_HOSTS
}

proxy_ctl() {
	"$PROXY_BIN" --ctl "$PROXY_CTL" "$@"
}

proxy_stat() {
	proxy_ctl stats | awk -v k="$1" '$1 == k { print $2 }'
}

proxy_stop() {
	[ -n "${PROXY_PID:-}" ] || return 0
	kill "$PROXY_PID" 2>/dev/null || true
	wait "$PROXY_PID" 2>/dev/null || true
	PROXY_PID=
}

# OpenSSH's client through the proxy: the sshd's host keys are known under
# the proxy's port, so StrictHostKeyChecking stays on.
proxy_ssh() {
	ssh -F /dev/null -p "$PROXY_PORT" -i "$SSHD_USER_KEY" \
		-o UserKnownHostsFile="$PROXY_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
		-o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes \
		"$SSHD_USER@127.0.0.1" "$@"
}
