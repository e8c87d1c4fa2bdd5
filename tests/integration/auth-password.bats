#!/usr/bin/env bats
# Password authentication (RFC 4252 §8) against a private sshd that checks
# a throwaway user's password itself (UsePAM no): -o password_stdin, an
# SSH_ASKPASS prompt, a wrong password, BatchMode. The password never shows
# in argv, the environment or the -d output.

load lib/sshd
load lib/fuse
load lib/daemon
load lib/password

setup_file() {
	SSHD_PASSWORD_AUTHENTICATION=yes pw_setup_file password
}

# teardown_file, setup and teardown come from lib/password.

@test "password_stdin: mounts; the password is not in argv, environment or -d output" {
	pw_check_stdin password password
}

@test "password asked through SSH_ASKPASS (SSH_ASKPASS_REQUIRE=force)" {
	pw_check_askpass password password
	grep -qF "$PWUSER@127.0.0.1's password:" "$ASKPASS_LOG"
}

@test "a wrong password: one-line error, non-zero exit, nothing mounted, one try" {
	pw_check_wrong password password
}

@test "BatchMode=yes: never prompts" {
	pw_check_batch password
}

@test "password: after the connection is cut, the reconnect does not ask again" {
	pw_check_reconnect password password
}

@test "password: partial success (AuthenticationMethods publickey,password)" {
	pw_check_partial password password
}
