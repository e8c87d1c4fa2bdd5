// mlkem-cross.mjs - ML-KEM-768 cross-implementation test: our C code (through
// tests/tools/mlkem-tool) against @noble/post-quantum, an independent
// TypeScript implementation of the final FIPS 203. Prints TAP.
//
// Every round, with fresh random d||z and m:
//   keygen:  ours and theirs must give byte-identical ek and dk from d||z
//            (this is what checks the G(d || k) domain byte of Algorithm 13);
//   ours keygen, theirs encaps, ours decaps -> same K;
//   theirs keygen, ours encaps, theirs decaps -> same K, and ours encaps of
//            the same (ek, m) must equal theirs byte for byte;
//   a ciphertext with one flipped bit decapsulates to the same implicit-
//            rejection key in both implementations.
// Usage: node mlkem-cross.mjs /path/to/mlkem-tool [rounds]
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ml_kem768 } from '@noble/post-quantum/ml-kem';

const tool = process.argv[2];
const rounds = Number(process.argv[3] || 50);
const hex = (b) => Buffer.from(b).toString('hex');
const unhex = (s) => new Uint8Array(Buffer.from(s, 'hex'));

function ours(op, ...inputs) {
  const r = spawnSync(tool, [op], { input: inputs.map(hex).join('\n') + '\n', encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mlkem-tool ${op} failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim().split('\n').map(unhex);
}

const same = (a, b) => a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;

let failed = 0;
let n = 0;
function check(cond, name) {
  n++;
  if (cond) {
    console.log(`ok ${n} - ${name}`);
  } else {
    failed++;
    console.log(`not ok ${n} - ${name}`);
  }
}

console.log(`1..${rounds * 5}`);
for (let i = 0; i < rounds; i++) {
  const seed = new Uint8Array(randomBytes(64));
  const m1 = new Uint8Array(randomBytes(32));
  const m2 = new Uint8Array(randomBytes(32));

  const [ekO, dkO] = ours('keygen', seed);
  const t = ml_kem768.keygen(seed);
  check(same(ekO, t.publicKey) && same(dkO, t.secretKey), `round ${i}: keygen(d||z) identical`);

  const enc = ml_kem768.encapsulate(ekO, m1);
  const [kO] = ours('decaps', enc.cipherText, dkO);
  check(same(kO, enc.sharedSecret), `round ${i}: ours keygen, theirs encaps, ours decaps`);

  const seed2 = new Uint8Array(randomBytes(64));
  const t2 = ml_kem768.keygen(seed2);
  const [ctO, kO2] = ours('encaps', t2.publicKey, m2);
  const kT = ml_kem768.decapsulate(ctO, t2.secretKey);
  check(same(kT, kO2), `round ${i}: theirs keygen, ours encaps, theirs decaps`);
  const enc2 = ml_kem768.encapsulate(t2.publicKey, m2);
  check(same(ctO, enc2.cipherText) && same(kO2, enc2.sharedSecret), `round ${i}: encaps(ek, m) identical`);

  const bad = new Uint8Array(enc.cipherText);
  bad[(i * 97) % bad.length] ^= 1 << (i % 8);
  const [kBadO] = ours('decaps', bad, dkO);
  const kBadT = ml_kem768.decapsulate(bad, t.secretKey);
  check(same(kBadO, kBadT) && !same(kBadO, enc.sharedSecret), `round ${i}: implicit rejection identical`);
}
process.exit(failed === 0 ? 0 : 1);
