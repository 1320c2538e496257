/**
 * Hashing for the fuzzy index. With 100 000 phrases the deletion neighbourhoods run to millions of
 * strings; materialising them as JavaScript strings in a Map costs seconds and hundreds of MB. So
 * strings are reduced to 32-bit hashes (a deletion variant's hash is computed from prefix hashes
 * without building the string) and kept in packed typed arrays. A hash collision can only add a
 * candidate, and every candidate is verified on the real words, so collisions never change results.
 */

const BASE = 0x01000193;

/** Final avalanche (murmur3 fmix32) so the top bits are usable as a directory index. */
export function mix(h: number, length: number): number {
  h ^= Math.imul(length, 0x9e3779b9);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function rawHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, BASE) + s.charCodeAt(i)) | 0;
  return h;
}

/** The hash of a string (and of any deletion variant equal to it). */
export function stringHash(s: string): number {
  return mix(rawHash(s), s.length);
}

/** The hash of `a + b`, without building the concatenation. */
export function concatHash(a: string, b: string): number {
  let h = rawHash(a);
  for (let i = 0; i < b.length; i++) h = (Math.imul(h, BASE) + b.charCodeAt(i)) | 0;
  return mix(h, a.length + b.length);
}

let prefix = new Int32Array(64);
let power = new Int32Array(64);
/** Scratch output of `deletionHashes`; valid until the next call. */
export let deletionScratch = new Uint32Array(256);

/** Raw hash of s[a, b) from the prefix hashes: P[b] - P[a]·B^(b-a). */
function sub(a: number, b: number): number {
  return (prefix[b]! - Math.imul(prefix[a]!, power[b - a]!)) | 0;
}

/**
 * Hashes of every string made by deleting at most `k` (0–2) characters of `s`, `s` itself first,
 * written to `deletionScratch`; returns how many. Equal variants may repeat.
 */
export function deletionHashes(s: string, k: number): number {
  const n = s.length;
  if (prefix.length <= n) {
    prefix = new Int32Array(n * 2 + 1);
    power = new Int32Array(n * 2 + 1);
  }
  const needed = 1 + n + (n * (n - 1)) / 2;
  if (deletionScratch.length < needed) deletionScratch = new Uint32Array(needed * 2);
  prefix[0] = 0;
  power[0] = 1;
  for (let i = 0; i < n; i++) {
    prefix[i + 1] = (Math.imul(prefix[i]!, BASE) + s.charCodeAt(i)) | 0;
    power[i + 1] = Math.imul(power[i]!, BASE);
  }
  const out = deletionScratch;
  let count = 0;
  out[count++] = mix(prefix[n]!, n);
  if (k < 1) return count;
  for (let i = 0; i < n; i++) {
    const h = (Math.imul(prefix[i]!, power[n - 1 - i]!) + sub(i + 1, n)) | 0;
    out[count++] = mix(h, n - 1);
  }
  if (k < 2) return count;
  for (let i = 0; i < n; i++) {
    const head = Math.imul(prefix[i]!, power[n - 2 - i]!);
    for (let j = i + 1; j < n; j++) {
      const h = (head + Math.imul(sub(i + 1, j), power[n - 1 - j]!) + sub(j + 1, n)) | 0;
      out[count++] = mix(h, n - 2);
    }
  }
  return count;
}

/** Collects (hash, id) pairs while an index is built. */
export class PostingsBuilder {
  #hashes = new Uint32Array(1024);
  #ids = new Uint32Array(1024);
  #size = 0;

  add(hash: number, id: number): void {
    if (this.#size === this.#hashes.length) {
      const hashes = new Uint32Array(this.#size * 2);
      const ids = new Uint32Array(this.#size * 2);
      hashes.set(this.#hashes);
      ids.set(this.#ids);
      this.#hashes = hashes;
      this.#ids = ids;
    }
    this.#hashes[this.#size] = hash;
    this.#ids[this.#size] = id;
    this.#size++;
  }

  build(): Postings {
    return new Postings(this.#hashes.subarray(0, this.#size), this.#ids.subarray(0, this.#size));
  }
}

/**
 * Immutable hash → ids postings. Most hashes carry one id, so the table is open addressing with
 * the key and its id side by side: a probe is usually one cache line, which matters when the
 * table is tens of MB and a transcript costs a hundred probes. A hash with several ids points
 * into an overflow array instead (count, then the ids).
 */
export class Postings {
  readonly #slots: Uint32Array;
  readonly #capacity: number;
  readonly #overflow: Uint32Array;
  /**
   * One bit per hash (low bits; the slot comes from the high ones), about eight bits per key and
   * at most 4 MB: small enough to stay in cache, so most absent hashes never touch the slots.
   */
  readonly #filter: Uint32Array;
  readonly #filterMask: number;

  constructor(hashes: Uint32Array, ids: Uint32Array) {
    const [sortedHashes, sortedIds] = radixSort(hashes, ids);
    const total = sortedHashes.length;
    let unique = 0;
    let overflowSize = 0;
    for (let i = 0; i < total;) {
      let j = i + 1;
      while (j < total && sortedHashes[j] === sortedHashes[i]) j++;
      unique++;
      if (j - i > 1 || sortedIds[i]! >= MULTI) overflowSize += 1 + j - i;
      i = j;
    }
    // Load ≤ 0.6 keeps linear-probe runs short; `slotOf` scales the hash, so no power of two needed.
    this.#capacity = Math.max(8, Math.ceil(unique / 0.6));
    this.#slots = new Uint32Array(this.#capacity * 2);
    this.#overflow = new Uint32Array(overflowSize);
    const filterBits = Math.min(2 ** 25, Math.max(64, 2 ** Math.ceil(Math.log2(unique * 8))));
    this.#filter = new Uint32Array(filterBits / 32);
    this.#filterMask = filterBits - 1;
    let used = 0;
    for (let i = 0; i < total;) {
      const key = nonZero(sortedHashes[i]!);
      const bit = key & this.#filterMask;
      this.#filter[bit >>> 5]! |= 1 << (bit & 31);
      let j = i + 1;
      while (j < total && sortedHashes[j] === sortedHashes[i]) j++;
      let value: number;
      if (j - i === 1 && sortedIds[i]! < MULTI) value = sortedIds[i]!;
      else {
        value = (MULTI | used) >>> 0;
        this.#overflow[used++] = j - i;
        for (let k = i; k < j; k++) this.#overflow[used++] = sortedIds[k]!;
      }
      let slot = this.#slotOf(key);
      while (this.#slots[slot * 2] !== 0) slot = slot + 1 === this.#capacity ? 0 : slot + 1;
      this.#slots[slot * 2] = key;
      this.#slots[slot * 2 + 1] = value;
      i = j;
    }
  }

  /**
   * The ids stored under `hash`: -1 when none; a single id directly (≥ 0, < 2^31); or, for several,
   * `MULTI | offset` into `overflow`, where `overflow[offset]` is the count and the ids follow.
   */
  find(hash: number): number {
    const key = nonZero(hash);
    const bit = key & this.#filterMask;
    if ((this.#filter[bit >>> 5]! & (1 << (bit & 31))) === 0) return -1;
    const slots = this.#slots;
    for (let slot = this.#slotOf(key); ; slot = slot + 1 === this.#capacity ? 0 : slot + 1) {
      const k = slots[slot * 2]!;
      if (k === key) return slots[slot * 2 + 1]!;
      if (k === 0) return -1;
    }
  }

  get overflow(): Uint32Array {
    return this.#overflow;
  }

  #slotOf(key: number): number {
    return Math.floor((key / 4294967296) * this.#capacity);
  }
}

/** Marks a `Postings.find` result that points into the overflow array. */
export const MULTI = 0x80000000;

/** 0 marks an empty slot, so hash 0 is stored as another fixed value (collisions are harmless). */
function nonZero(hash: number): number {
  return hash === 0 ? 0x9e3779b9 : hash;
}

/**
 * LSD radix sort of hashes, 11 bits a pass (three passes; 2048 buckets stay in cache), carrying
 * the ids along.
 */
function radixSort(hashes: Uint32Array, ids: Uint32Array): [Uint32Array, Uint32Array] {
  let srcH = hashes;
  let srcI = ids;
  let dstH: Uint32Array = new Uint32Array(hashes.length);
  let dstI: Uint32Array = new Uint32Array(hashes.length);
  const counts = new Uint32Array(2049);
  for (const shift of [0, 11, 22]) {
    counts.fill(0);
    for (let i = 0; i < srcH.length; i++) counts[((srcH[i]! >>> shift) & 0x7ff) + 1]!++;
    for (let b = 1; b <= 2048; b++) counts[b]! += counts[b - 1]!;
    for (let i = 0; i < srcH.length; i++) {
      const b = (srcH[i]! >>> shift) & 0x7ff;
      const at = counts[b]!++;
      dstH[at] = srcH[i]!;
      dstI[at] = srcI[i]!;
    }
    [srcH, dstH] = [dstH, srcH];
    [srcI, dstI] = [dstI, srcI];
  }
  return [srcH, srcI];
}
