#!/usr/bin/python3
"""Independent reference for the hashes that are part of the memory file format (pure Python 3, stdlib only).

Written from the mathematical description, not from the TypeScript source:

  * murmur3_32(data, seed): Austin Appleby's MurmurHash3_x86_32 over a byte string. Every 4-byte block,
    read little-endian as a word w, is mixed in by
        k = rotl32(w * c1, 15) * c2;  h = rotl32(h ^ k, 13) * 5 + 0xe6546b64      (all mod 2^32)
    with c1 = 0xcc9e2d51, c2 = 0x1b873593; the 1..3 tail bytes form a little-endian word k that is
    mixed by h ^= rotl32(k * c1, 15) * c2 only; then h ^= L and h = fmix32(h), L = length IN BYTES.
    Checked on every run against published reference vectors (PUBLIC_MURMUR3_VECTORS).

  * hash_ids(ids, seed): the token-id hash of libs/memory/src/hash.ts. It is murmur3_32 over the
    little-endian 32-bit encoding of the ids (one block per id, so never a tail) EXCEPT that the
    length term is the WORD count n instead of the byte count 4n:
        hash_ids(ids, seed) = fmix32(H(ids, seed) ^ n),  murmur3_32(le32(ids), seed) = fmix32(H ^ 4n)
    where H is the block state after mixing the n words into the seed. Ids and the seed are 32-bit
    words (reduced mod 2^32). Since fmix32 is a bijection the two agree exactly when n = 0.

  * fmix32: murmur3's finaliser h ^= h>>16; h *= 0x85ebca6b; h ^= h>>13; h *= 0xc2b2ae35; h ^= h>>16.

  * derive_seed(seed, purpose): block-mix the words [seed mod 2^32, floor(seed / 2^32) mod 2^32,
    UTF-16 code units of purpose...] into the state 0x9747b28c, then fmix32 (no length term).

  * entry_seeds(base, m): s_j = fmix32(base + (j + 1) * 0x9e3779b9 mod 2^32), j = 0..m-1.

  * shingles (SHINGLE_SEED = 0x5eed5111): the k-shingles of a token sequence t_0..t_{n-1} are the windows
    t_i..t_{i+k-1}; a non-empty sequence shorter than k has one shingle, itself; empty has none. The
    shingle set S is the SET of hash_ids(window, SHINGLE_SEED).

  * simset MinHash (DESIGN.md "simset-k"): with minhash seeds a_j = entry_seeds(derive_seed(seed,
    purpose + "/minhash"), m) and gate seeds b_j = entry_seeds(derive_seed(seed, purpose + "/gate"), m),
    h_j(s) = fmix32(s ^ a_j), mh_j(S) = argmin_{s in S} h_j(s), g_j(s) = fmix32(s ^ b_j) / 2^32 in [0, 1);
    entry j is on iff S is non-empty and g_j(mh_j(S)) < p.

  * token mode: position t uses the single shingle ending at t (t_{max(0,t-k+1)}..t_t), whose MinHash is
    itself: entry j is on at t iff g_j(hash_ids(that shingle, SHINGLE_SEED)) < p. In a chunk with padding
    the real positions take the last R real tokens' masks in order (R = number of real positions).

Protocol: one JSON object on stdin, one on stdout; see main().
"""
import json
import struct
import sys

M32 = 1 << 32
SHINGLE_SEED = 0x5EED5111
C1 = 0xCC9E2D51
C2 = 0x1B873593


def rotl32(x, r):
    return ((x << r) | (x >> (32 - r))) & 0xFFFFFFFF


def fmix32(h):
    h ^= h >> 16
    h = (h * 0x85EBCA6B) % M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) % M32
    h ^= h >> 16
    return h


def _scramble(k):
    return (rotl32((k * C1) % M32, 15) * C2) % M32


def _mix_block(h, w):
    h ^= _scramble(w)
    return (rotl32(h, 13) * 5 + 0xE6546B64) % M32


def murmur3_32(data, seed, length_term=None):
    """MurmurHash3_x86_32 of bytes `data`; length_term replaces len(data) in the final xor (None: standard)."""
    h = seed % M32
    nblocks = len(data) // 4
    for i in range(nblocks):
        h = _mix_block(h, int.from_bytes(data[4 * i:4 * i + 4], 'little'))
    tail = data[4 * nblocks:]
    if tail:
        h ^= _scramble(int.from_bytes(tail, 'little'))
    h ^= len(data) if length_term is None else length_term
    return fmix32(h)


def le32(ids):
    return struct.pack('<%dI' % len(ids), *[i % M32 for i in ids])


def hash_ids(ids, seed):
    """murmur3_32 of the ids as little-endian 32-bit words, finalised with the word count, not the byte count."""
    return murmur3_32(le32(ids), seed, length_term=len(ids))


def derive_seed(seed, purpose):
    units = purpose.encode('utf-16-le')
    words = [seed % M32, (seed // M32) % M32] + [int.from_bytes(units[i:i + 2], 'little') for i in range(0, len(units), 2)]
    h = 0x9747B28C
    for w in words:
        h = _mix_block(h, w)
    return fmix32(h)


def entry_seeds(base, m):
    return [fmix32((base + (j + 1) * 0x9E3779B9) % M32) for j in range(m)]


def shingle_set(tokens, k):
    n = len(tokens)
    if n == 0:
        return set()
    if n < k:
        return {hash_ids(tokens, SHINGLE_SEED)}
    return {hash_ids(tokens[i:i + k], SHINGLE_SEED) for i in range(n - k + 1)}


def _gate(s, b):
    return fmix32(s ^ b) / M32


def entry_set(tokens, k, m, seed, p, purpose='simset'):
    S = shingle_set(tokens, k)
    if not S:
        return []
    a = entry_seeds(derive_seed(seed, purpose + '/minhash'), m)
    b = entry_seeds(derive_seed(seed, purpose + '/gate'), m)
    on = []
    for j in range(m):
        mh = min(S, key=lambda s: fmix32(s ^ a[j]))
        if _gate(mh, b[j]) < p:
            on.append(j)
    return on


def position_masks(tokens, chunk_mask, k, m, seed, p, purpose='simset'):
    """Per chunk position, the sorted on-entries (padding positions: [])."""
    b = entry_seeds(derive_seed(seed, purpose + '/gate'), m)
    n = len(tokens)
    real = sum(1 for v in chunk_mask if v)
    t = n - real
    rows = []
    for v in chunk_mask:
        if not v:
            rows.append([])
            continue
        s = hash_ids(tokens[max(0, t - k + 1):t + 1], SHINGLE_SEED)
        rows.append([j for j in range(m) if _gate(s, b[j]) < p])
        t += 1
    return rows


# Published MurmurHash3_x86_32 vectors (SMHasher-derived lists, e.g. the widely cited table on
# Stack Overflow "MurmurHash3 test vectors", and mmh3's hash(b"hello") = 0x248bfa47).
PUBLIC_MURMUR3_VECTORS = [
    (b'', 0, 0x00000000),
    (b'', 1, 0x514E28B7),
    (b'', 0xFFFFFFFF, 0x81F16F39),
    (b'\x00\x00\x00\x00', 0, 0x2362F9DE),
    (b'\xff\xff\xff\xff', 0, 0x76293B50),
    (b'\x21\x43\x65\x87', 0, 0xF55B516B),
    (b'\x21\x43\x65\x87', 0x5082EDEE, 0x2362F9DE),
    (b'\x21\x43\x65', 0, 0x7E4A8634),
    (b'\x21\x43', 0, 0xA0F7B07A),
    (b'\x21', 0, 0x72661CF4),
    (b'\x00\x00\x00', 0, 0x85F0B427),
    (b'\x00\x00', 0, 0x30F4C306),
    (b'\x00', 0, 0x514E28B7),
    (b'aaaa', 0x9747B28C, 0x5A97808A),
    (b'hello', 0, 0x248BFA47),
    (b'Hello, world!', 0x9747B28C, 0x24884CBA),
    (b'The quick brown fox jumps over the lazy dog', 0x9747B28C, 0x2FA826CD),
]


def self_check():
    bad = [(d, s, e, murmur3_32(d, s)) for d, s, e in PUBLIC_MURMUR3_VECTORS if murmur3_32(d, s) != e]
    if bad:
        raise SystemExit('murmur3_32 reference fails public vectors: %r' % bad)


def main():
    self_check()
    req = json.load(sys.stdin)
    out = {
        'publicMurmur3': [{'hex': d.hex(), 'seed': s, 'expected': e, 'got': murmur3_32(d, s)} for d, s, e in PUBLIC_MURMUR3_VECTORS],
        'hashIds': [hash_ids(c['ids'], c['seed']) for c in req.get('hashIds', [])],
        'murmur3OfIds': [murmur3_32(le32(c['ids']), c['seed']) for c in req.get('hashIds', [])],
        'deriveSeed': [derive_seed(c['seed'], c['purpose']) for c in req.get('deriveSeed', [])],
        'entrySeeds': [entry_seeds(c['base'], c['m']) for c in req.get('entrySeeds', [])],
        'shingleSets': [sorted(shingle_set(c['tokens'], c['k'])) for c in req.get('shingleSets', [])],
        'entrySets': [entry_set(c['tokens'], c['k'], c['m'], c['seed'], c['p'], c.get('purpose', 'simset'))
                      for c in req.get('entrySets', [])],
        'positionMasks': [position_masks(c['tokens'], c['chunkMask'], c['k'], c['m'], c['seed'], c['p'],
                                         c.get('purpose', 'simset'))
                          for c in req.get('positionMasks', [])],
    }
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
