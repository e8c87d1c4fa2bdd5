#!/usr/bin/env bats
# Keyboard-interactive authentication (RFC 4256) against a private sshd. On
# Linux OpenSSH offers keyboard-interactive only through PAM, so this sshd
# runs with UsePAM yes (the system's "sshd" PAM service, pam_unix checking
# a throwaway user's password). -o password_stdin answers the single
# password prompt; SSH_ASKPASS answers the server's prompt; a wrong
# password and BatchMode fail cleanly.

load lib/sshd
load lib/fuse
load lib/daemon
load lib/password

setup_file() {
	[ -f /etc/pam.d/sshd ] || { echo "precondition failed: /etc/pam.d/sshd missing (openssh-server)" >&2; return 1; }
	SSHD_USE_PAM=yes SSHD_KBDINT_AUTHENTICATION=yes pw_setup_file keyboard-interactive
}

# teardown_file, setup and teardown come from lib/password.

@test "keyboard-interactive: password_stdin answers; not in argv, environment or -d output" {
	pw_check_stdin keyboard-interactive keyboard-interactive/pam
}

@test "keyboard-interactive: the server's prompt through SSH_ASKPASS" {
	pw_check_askpass keyboard-interactive keyboard-interactive/pam
}

@test "keyboard-interactive: a wrong password: one-line error, non-zero exit, nothing mounted" {
	pw_check_wrong keyboard-interactive keyboard-interactive/pam
}

@test "keyboard-interactive: BatchMode=yes never prompts" {
	pw_check_batch keyboard-interactive
}

@test "keyboard-interactive: after the connection is cut, the reconnect does not ask again" {
	pw_check_reconnect keyboard-interactive keyboard-interactive/pam
}

@test "keyboard-interactive: partial success (AuthenticationMethods publickey,keyboard-interactive)" {
	pw_check_partial keyboard-interactive keyboard-interactive/pam
}
