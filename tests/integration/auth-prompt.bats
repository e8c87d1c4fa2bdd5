#!/usr/bin/env bats
# Prompts as ssh asks them: /dev/tty with echo off (on a pty made by
# script(1)), SSH_ASKPASS when there is no terminal or SSH_ASKPASS_REQUIRE
# says so (never / prefer / force, DISPLAY honoured), password_stdin.
# setsid detaches the tool from any controlling terminal for "no tty" cases.

setup_file() {
	command -v script >/dev/null || { echo "precondition failed: script(1) missing (bsdutils)" >&2; return 1; }
	command -v setsid >/dev/null || { echo "precondition failed: setsid missing (util-linux)" >&2; return 1; }
}

setup() {
	TOOL="$top_builddir/tests/tools/prompt-tool"
	ASKPASS="$BATS_TEST_TMPDIR/askpass"
	cat >"$ASKPASS" <<SH
#!/bin/sh
printf '%s\n' "\$1" >"$BATS_TEST_TMPDIR/askpass.prompt"
printf '%s\n' "\${SSH_ASKPASS_PROMPT:-}" >"$BATS_TEST_TMPDIR/askpass.hint"
echo "secret from askpass"
SH
	chmod +x "$ASKPASS"
	unset DISPLAY WAYLAND_DISPLAY SSH_ASKPASS SSH_ASKPASS_REQUIRE
}

on_pty() { # command... ; stdin is typed into the pty
	script -qec "$*" /dev/null
}

# Types a line into the pty once the prompt had time to turn echo off: like
# readpassphrase(3), the prompt flushes (TCSAFLUSH) anything typed earlier.
type_late() { # line command...
	local line=$1
	shift
	{ sleep 1; printf '%s\n' "$line"; } | script -qec "$*" /dev/null
}

@test "tty: passphrase read with echo off from /dev/tty" {
	run type_late hunter2 "'$TOOL' noecho 'Password: '"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Password: "* ]]
	[[ "$output" == *"answer=[hunter2]"* ]]
	# Typed characters were not echoed: the secret appears only in our answer line.
	[ "$(grep -o hunter2 <<<"$output" | wc -l)" -eq 1 ]
}

@test "tty: questions are echoed" {
	run on_pty "'$TOOL' echo 'Continue? '" <<<"yes-typed"
	[ "$status" -eq 0 ]
	[ "$(grep -o yes-typed <<<"$output" | wc -l)" -eq 2 ]
}

@test "tty: a terminal is preferred over askpass unless SSH_ASKPASS_REQUIRE=prefer" {
	export SSH_ASKPASS="$ASKPASS" DISPLAY=:99
	run type_late typed "'$TOOL' noecho 'Password: '"
	[[ "$output" == *"answer=[typed]"* ]]
	export SSH_ASKPASS_REQUIRE=prefer
	run on_pty "'$TOOL' noecho 'Password: '" </dev/null
	[[ "$output" == *"answer=[secret from askpass]"* ]]
	# prefer without a display falls back to the terminal.
	unset DISPLAY
	run type_late typed "'$TOOL' noecho 'Password: '"
	[[ "$output" == *"answer=[typed]"* ]]
}

@test "askpass: used without a terminal when DISPLAY is set; gets the prompt" {
	export SSH_ASKPASS="$ASKPASS" DISPLAY=:99
	run setsid -w "$TOOL" noecho "Enter passphrase for key: " </dev/null
	[ "$status" -eq 0 ]
	[ "$output" = "answer=[secret from askpass]" ]
	[ "$(cat "$BATS_TEST_TMPDIR/askpass.prompt")" = "Enter passphrase for key: " ]
	[ -z "$(cat "$BATS_TEST_TMPDIR/askpass.hint")" ]
}

@test "askpass: confirmations carry SSH_ASKPASS_PROMPT=confirm" {
	export SSH_ASKPASS="$ASKPASS" SSH_ASKPASS_REQUIRE=force
	run setsid -w "$TOOL" confirm "Are you sure? " </dev/null
	[ "$status" -eq 0 ]
	[ "$(cat "$BATS_TEST_TMPDIR/askpass.hint")" = confirm ]
}

@test "askpass: force works without DISPLAY; never forbids it" {
	export SSH_ASKPASS="$ASKPASS" SSH_ASKPASS_REQUIRE=force
	run setsid -w "$TOOL" noecho "pw: " </dev/null
	[ "$output" = "answer=[secret from askpass]" ]
	export SSH_ASKPASS_REQUIRE=never DISPLAY=:99
	run setsid -w "$TOOL" noecho "pw: " </dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"feature not supported"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/askpass.prompt" ] || [ "$(cat "$BATS_TEST_TMPDIR/askpass.prompt")" = "pw: " ]
}

@test "no terminal and no DISPLAY: refused, askpass not run" {
	export SSH_ASKPASS="$ASKPASS"
	run setsid -w "$TOOL" noecho "pw: " </dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"feature not supported"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/askpass.prompt" ]
}

@test "askpass failing means cancelled" {
	printf '#!/bin/sh\nexit 1\n' >"$ASKPASS"
	export SSH_ASKPASS="$ASKPASS" SSH_ASKPASS_REQUIRE=force
	run setsid -w "$TOOL" noecho "pw: " </dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"operation cancelled"* ]]
}

@test "key passphrases use askpass when stdin is not a terminal, even with a tty" {
	export SSH_ASKPASS="$ASKPASS" DISPLAY=:99
	run on_pty "'$TOOL' passphrase 'Passphrase: ' </dev/null" </dev/null
	[[ "$output" == *"answer=[secret from askpass]"* ]]
}

@test "password_stdin: one line from stdin, the rest left alone" {
	run "$TOOL" stdin < <(printf 'pw with spaces\nsecond line\n')
	[ "$status" -eq 0 ]
	[ "$output" = "answer=[pw with spaces]" ]
	run "$TOOL" stdin < <(printf 'no-newline')
	[ "$output" = "answer=[no-newline]" ]
	run "$TOOL" stdin </dev/null
	[ "$status" -eq 1 ]
	[[ "$output" == *"operation cancelled"* ]]
	run "$TOOL" stdin < <(head -c 2000 /dev/zero | tr '\0' x)
	[ "$status" -eq 1 ]
	[[ "$output" == *"limit exceeded"* ]]
}

@test "password: ssh's prompt on the terminal, echo off" {
	run type_late pw-typed "'$TOOL' password bob example.com"
	[ "$status" -eq 0 ]
	[[ "$output" == *"bob@example.com's password: "* ]]
	[[ "$output" == *"answer=[pw-typed]"* ]]
	[ "$(grep -o pw-typed <<<"$output" | wc -l)" -eq 1 ]
}

@test "password: password_stdin reads stdin once; batch mode never asks" {
	run "$TOOL" password bob example.com stdin < <(printf 'from-stdin\nnext\n')
	[ "$status" -eq 0 ]
	[ "$output" = "answer=[from-stdin]" ]
	run on_pty "'$TOOL' password bob example.com batch" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"authentication failed"* ]]
	[[ "$output" != *"password: "* ]]
}

@test "keyboard-interactive: server text shown sanitised, echo as the server asks" {
	run script -qec "'$TOOL' kbdint" /dev/null < <(sleep 1; printf 'code123\n'; sleep 1; printf 'kbd-secret\n')
	[ "$status" -eq 0 ]
	[[ "$output" == *"answers=[code123][kbd-secret]"* ]]
	[[ "$output" == *"Server?]0;title? login"* ]]
	[[ "$output" == *"Enter both."* ]]
	[[ "$output" == *"Secret?[2J: "* ]]
	# The echoed prompt shows the code twice (typed + answer); the secret once.
	[ "$(grep -o code123 <<<"$output" | wc -l)" -eq 2 ]
	[ "$(grep -o kbd-secret <<<"$output" | wc -l)" -eq 1 ]
	[[ "$output" != *$'\033]0;'* ]]
	run on_pty "'$TOOL' kbdint batch" </dev/null
	[ "$status" -ne 0 ]
}
