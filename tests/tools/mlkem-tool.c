/*
 * mlkem-tool.c - ML-KEM-768 from src/mlkem768.c on the command line, for the
 * cross-implementation test (tests/node/mlkem-cross.mjs). One operation per
 * run; inputs are hex lines on stdin, outputs hex lines on stdout:
 *
 *   mlkem-tool keygen   stdin: d||z (64 bytes)   stdout: ek, dk
 *   mlkem-tool encaps   stdin: ek, m (32 bytes)  stdout: c, K
 *   mlkem-tool decaps   stdin: c, dk             stdout: K
 *
 * Exits 1 with the err_str() message on stderr when the library refuses
 * (e.g. an encapsulation key that fails the FIPS 203 §7.2 modulus check).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "mlkem768.h"

#define LINE_MAX_HEX (2 * MLKEM768_SECRETKEYBYTES + 4)

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads one line of exactly 2*n hex digits into out. */
static int read_hex(uint8_t *out, size_t n)
{
	static char line[LINE_MAX_HEX];
	size_t len;

	if (fgets(line, sizeof(line), stdin) == NULL)
		return -1;
	len = strcspn(line, "\r\n");
	if (len != 2 * n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(line[2 * i]), lo = hexval(line[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static void print_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", p[i]);
	putchar('\n');
}

int main(int argc, char **argv)
{
	static uint8_t pk[MLKEM768_PUBLICKEYBYTES], sk[MLKEM768_SECRETKEYBYTES];
	static uint8_t ct[MLKEM768_CIPHERTEXTBYTES], ss[MLKEM768_SSBYTES], seed[64];
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: mlkem-tool keygen|encaps|decaps < hex-lines\n");
		return 2;
	}
	if (strcmp(argv[1], "keygen") == 0) {
		if (read_hex(seed, 64) != 0)
			goto bad_input;
		if ((r = mlkem768_keypair_derand(pk, sk, seed)) != 0)
			goto fail;
		print_hex(pk, sizeof(pk));
		print_hex(sk, sizeof(sk));
	} else if (strcmp(argv[1], "encaps") == 0) {
		if (read_hex(pk, sizeof(pk)) != 0 || read_hex(seed, 32) != 0)
			goto bad_input;
		if ((r = mlkem768_encaps_derand(ct, ss, pk, seed)) != 0)
			goto fail;
		print_hex(ct, sizeof(ct));
		print_hex(ss, sizeof(ss));
	} else if (strcmp(argv[1], "decaps") == 0) {
		if (read_hex(ct, sizeof(ct)) != 0 || read_hex(sk, sizeof(sk)) != 0)
			goto bad_input;
		if ((r = mlkem768_decaps(ss, ct, sk)) != 0)
			goto fail;
		print_hex(ss, sizeof(ss));
	} else {
		fprintf(stderr, "mlkem-tool: unknown operation %s\n", argv[1]);
		return 2;
	}
	return fflush(stdout) == 0 ? 0 : 1;
bad_input:
	fprintf(stderr, "mlkem-tool: malformed hex input\n");
	return 2;
fail:
	fprintf(stderr, "mlkem-tool: %s\n", err_str(r));
	return 1;
}
