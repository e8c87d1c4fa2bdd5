#!/usr/bin/env python3
# gen-chachapoly.py - independent pure-Python reference for the
# chacha20-poly1305@openssh.com packet construction (OpenSSH
# PROTOCOL.chacha20poly1305), used to produce the known answer in
# tests/unit/test-cipher.c. ChaCha20 (64-bit counter, 64-bit nonce: the
# original DJB layout OpenSSH uses) and Poly1305 are written from RFC 8439
# and checked here against RFC 8439 §A.1 and §2.5.2 before use. No OpenSSL.
import struct

def rotl(v, c):
    return ((v << c) & 0xffffffff) | (v >> (32 - c))

def qr(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = rotl(s[b] ^ s[c], 7)

def block(key, counter, nonce8):
    st = [0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]
    st += list(struct.unpack('<8I', key))
    st += [counter & 0xffffffff, counter >> 32]
    st += list(struct.unpack('<2I', nonce8))
    w = st[:]
    for _ in range(10):
        qr(w, 0, 4, 8, 12); qr(w, 1, 5, 9, 13); qr(w, 2, 6, 10, 14); qr(w, 3, 7, 11, 15)
        qr(w, 0, 5, 10, 15); qr(w, 1, 6, 11, 12); qr(w, 2, 7, 8, 13); qr(w, 3, 4, 9, 14)
    return struct.pack('<16I', *[(w[i] + st[i]) & 0xffffffff for i in range(16)])

def chacha(key, counter, nonce8, data):
    out = bytearray()
    for i in range(0, len(data), 64):
        ks = block(key, counter + i // 64, nonce8)
        out += bytes(a ^ b for a, b in zip(data[i:i + 64], ks))
    return bytes(out)

def poly1305(key, msg):
    r = int.from_bytes(key[:16], 'little') & 0x0ffffffc0ffffffc0ffffffc0fffffff
    s = int.from_bytes(key[16:], 'little')
    p = (1 << 130) - 5
    acc = 0
    for i in range(0, len(msg), 16):
        n = int.from_bytes(msg[i:i + 16] + b'\x01', 'little')
        acc = (acc + n) * r % p
    return ((acc + s) % (1 << 128)).to_bytes(16, 'little')

# RFC 8439 §A.1 test vector #1: all-zero key and nonce, counter 0.
assert block(bytes(32), 0, bytes(8)).hex().startswith('76b8e0ada0f13d90405d6ae55386bd28')
# RFC 8439 §2.5.2 Poly1305 example.
k = bytes.fromhex('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b')
assert poly1305(k, b'Cryptographic Forum Research Group').hex() == 'a8061dc1305136c6c22b8baf0c0127a9'

def seal(key64, seq, packet):
    k2, k1 = key64[:32], key64[32:]
    nonce = struct.pack('>Q', seq)
    enc = chacha(k1, 0, nonce, packet[:4]) + chacha(k2, 1, nonce, packet[4:])
    polykey = block(k2, 0, nonce)[:32]
    return enc + poly1305(polykey, enc)

key = bytes(range(64))
seq = 7
# packet_length 12, padding_length 4, payload "\x02hello" (SSH_MSG_IGNORE-like), 4 bytes padding... made block aligned:
packet = struct.pack('>I', 12) + bytes([4]) + b'\x5ehello!' + bytes(4)
print('key', key.hex())
print('seq', seq)
print('plain', packet.hex())
print('sealed', seal(key, seq, packet).hex())
