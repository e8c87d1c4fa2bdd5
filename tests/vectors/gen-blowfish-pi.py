#!/usr/bin/env python3
# gen-blowfish-pi.py - prints the Blowfish initial state (P-array and four
# S-boxes): the first 1042 32-bit words of the fractional hexadecimal digits
# of pi (Schneier, "Description of a New Variable-Length Key, 64-Bit Block
# Cipher (Blowfish)", FSE 1993). Computed here from Machin's formula
# pi = 16 atan(1/5) - 4 atan(1/239) in exact integer arithmetic, so the
# constants in src/bcrypt_pbkdf.c are derived, not copied. Run:
#   python3 tests/vectors/gen-blowfish-pi.py > /tmp/pi.inc
# and compare with the table (tests/unit/test-bcrypt-pbkdf.c checks Blowfish
# known-answer vectors, which any wrong constant would break).
WORDS = 18 + 4 * 256
N = WORDS * 8 + 16  # hex digits plus guard digits
BITS = 4 * N + 64
ONE = 1 << BITS


def atan_inv(x):
    total = term = ONE // x
    x2, n, sign = x * x, 1, -1
    while term:
        term //= x2
        total += sign * (term // (2 * n + 1))
        n, sign = n + 1, -sign
    return total


pi = 16 * atan_inv(5) - 4 * atan_inv(239)
digits = format((pi - 3 * ONE) >> 64, 'x').zfill(N)[:WORDS * 8]
words = ['0x' + digits[i:i + 8] for i in range(0, len(digits), 8)]
print('static const uint32_t blf_init_p[18] = {')
for i in range(0, 18, 6):
    print('\t' + ', '.join(words[i:i + 6]) + ',')
print('};\n')
print('static const uint32_t blf_init_s[4][256] = {')
for s in range(4):
    box = words[18 + 256 * s:18 + 256 * (s + 1)]
    print('\t{')
    for i in range(0, 256, 6):
        print('\t\t' + ', '.join(box[i:i + 6]) + ',')
    print('\t},')
print('};')
