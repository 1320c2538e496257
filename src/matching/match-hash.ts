/**
 * Hashing for the fuzzy index. With 100 000 phrases the deletion neighbourhoods run to a million
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

/** Collects (hash, value) pairs while an index is built. */
export class PostingsBuilder {
  #hashes: Uint32Array;
  #values: Uint32Array;
  #size = 0;

  /** `capacity`: the expected number of postings (it grows past it if need be). */
  constructor(capacity = 1024) {
    this.#hashes = new Uint32Array(Math.max(16, capacity));
    this.#values = new Uint32Array(Math.max(16, capacity));
  }

  add(hash: number, value: number): void {
    if (this.#size === this.#hashes.length) {
      const hashes = new Uint32Array(this.#size * 2);
      const values = new Uint32Array(this.#size * 2);
      hashes.set(this.#hashes);
      values.set(this.#values);
      this.#hashes = hashes;
      this.#values = values;
    }
    this.#hashes[this.#size] = hash;
    this.#values[this.#size] = value;
    this.#size++;
  }

  /** The table; `filter` adds a Bloom filter in front, for tables that most probes miss. */
  build({ filter = true }: { filter?: boolean } = {}): Postings {
    return new Postings(
      this.#hashes.subarray(0, this.#size),
      this.#values.subarray(0, this.#size),
      filter,
    );
  }
}

const EMPTY = new Uint32Array(0);

/** Bits needed to write `n`. */
function bitsFor(n: number): number {
  return n === 0 ? 0 : 32 - Math.clz32(n);
}

/**
 * Immutable hash → values multimap, about 5 bytes a posting. Postings are grouped by the top bits
 * of their hash into buckets of a few entries in one Uint32Array, each entry a value with a
 * fingerprint of its hash in the spare high bits, and a directory points at each bucket. A lookup
 * reads one directory slot and scans one short run of adjacent entries; the fingerprint (13+ bits
 * beyond the directory's) keeps other hashes in the bucket from turning into candidates, and the
 * few that slip through are verified like any other. A blocked Bloom filter (one 64-byte block per
 * hash, three bits, ~8 bits a posting) answers most absent hashes with a single cache line, which
 * is what most probes are.
 *
 * Built by a counting sort on the bucket (count, then place each posting straight into the final
 * array), so the build needs no scratch arrays: at 100 000 phrases a radix sort's two extra
 * copies were 13 MB of peak memory that the allocator then kept.
 *
 * Values must be below 2^28.
 */
/** A built Postings table as plain data, to post to another thread (see `Postings.from`). */
export interface PostingsData {
  readonly dir: Uint32Array;
  readonly entries: Uint32Array;
  readonly shift: number;
  readonly valueMask: number;
  readonly fpShift: number;
  readonly fpMask: number;
  readonly filter: Int32Array | null;
  readonly blockShift: number;
}

export class Postings {
  // Not readonly only so that `from` can fill a table in without building it.
  #dir: Uint32Array;
  #entries: Uint32Array;
  #shift: number;
  #valueMask: number;
  #fpShift: number;
  #fpMask: number;
  #filter: Int32Array | null;
  #blockShift: number;

  constructor(hashes: Uint32Array, values: Uint32Array, filter = true) {
    const total = hashes.length;
    let maxValue = 0;
    for (let i = 0; i < total; i++) if (values[i]! > maxValue) maxValue = values[i]!;
    const valueBits = Math.max(1, bitsFor(maxValue));
    if (valueBits > 28) throw new RangeError('postings value out of range');
    this.#valueMask = valueBits === 32 ? -1 : (1 << valueBits) - 1;
    this.#fpShift = valueBits;
    this.#fpMask = (2 ** (32 - valueBits) - 1) >>> 0;
    // About four postings a bucket: a directory of ~1 byte a posting, a scan of one cache line
    // (sized by postings, not hashes: a sound bucket holds a dozen words under one hash).
    const dirBits = Math.max(1, Math.min(30, Math.round(Math.log2(Math.max(1, total) / 4))));
    const shift = 32 - dirBits;
    this.#shift = shift;
    // dir[b + 1] counts bucket b, then (prefix sums) is where bucket b ends.
    const dir = new Uint32Array(2 ** dirBits + 1);
    for (let i = 0; i < total; i++) dir[(hashes[i]! >>> shift) + 1]!++;
    for (let b = 1; b < dir.length; b++) dir[b]! += dir[b - 1]!;
    // Placed from the last posting back, each at its bucket's end, which moves down: insertion
    // order is kept within a bucket, and dir[b + 1] ends up where bucket b starts.
    const entries = new Uint32Array(total);
    for (let i = total - 1; i >= 0; i--) {
      const h = hashes[i]!;
      entries[--dir[(h >>> shift) + 1]!] =
        (((h & this.#fpMask) << this.#fpShift) | values[i]!) >>> 0;
    }
    dir.copyWithin(0, 1);
    dir[dir.length - 1] = total;
    this.#dir = dir;
    this.#entries = entries;

    this.#filter = null;
    this.#blockShift = 0;
    if (filter && total > 0) {
      const blockBits = Math.max(0, Math.round(Math.log2((total * 8) / 512)));
      const bloom = new Int32Array(2 ** blockBits * 16);
      this.#blockShift = 32 - blockBits;
      for (let i = 0; i < total; i++) {
        const h = hashes[i]!;
        const at = this.#blockOf(h);
        bloom[at + ((h >>> 5) & 15)]! |= 1 << (h & 31);
        bloom[at + ((h >>> 14) & 15)]! |= 1 << ((h >>> 9) & 31);
        bloom[at + ((h >>> 23) & 15)]! |= 1 << ((h >>> 18) & 31);
      }
      this.#filter = bloom;
    }
  }

  /** The table's arrays themselves (not copies): post them with their buffers transferred. */
  toData(): PostingsData {
    return {
      dir: this.#dir,
      entries: this.#entries,
      shift: this.#shift,
      valueMask: this.#valueMask,
      fpShift: this.#fpShift,
      fpMask: this.#fpMask,
      filter: this.#filter,
      blockShift: this.#blockShift,
    };
  }

  /** The table `toData` gave, on this thread, without building it again. */
  static from(data: PostingsData): Postings {
    const table = new Postings(EMPTY, EMPTY, false);
    table.#dir = data.dir;
    table.#entries = data.entries;
    table.#shift = data.shift;
    table.#valueMask = data.valueMask;
    table.#fpShift = data.fpShift;
    table.#fpMask = data.fpMask;
    table.#filter = data.filter;
    table.#blockShift = data.blockShift;
    return table;
  }

  /**
   * The index of the first entry that may hold a value stored under `hash`, or -1. Read it with
   * `value`, then step with `next` until -1. Values under one hash come in insertion order.
   */
  first(hash: number): number {
    const bloom = this.#filter;
    if (bloom !== null) {
      const at = this.#blockOf(hash);
      if (
        (bloom[at + ((hash >>> 5) & 15)]! & (1 << (hash & 31))) === 0 ||
        (bloom[at + ((hash >>> 14) & 15)]! & (1 << ((hash >>> 9) & 31))) === 0 ||
        (bloom[at + ((hash >>> 23) & 15)]! & (1 << ((hash >>> 18) & 31))) === 0
      ) {
        return -1;
      }
    }
    const bucket = hash >>> this.#shift;
    return this.#scan(this.#dir[bucket]!, this.#dir[bucket + 1]!, (hash & this.#fpMask) >>> 0);
  }

  /** The entry after `entry` under the same hash (as `first` gave it), or -1. */
  next(entry: number, hash: number): number {
    const bucket = hash >>> this.#shift;
    return this.#scan(entry + 1, this.#dir[bucket + 1]!, (hash & this.#fpMask) >>> 0);
  }

  /** The value in an entry that `first` or `next` returned. */
  value(entry: number): number {
    return this.#entries[entry]! & this.#valueMask;
  }

  /** Every value stored under `hash` (and, rarely, under a hash sharing its fingerprint). */
  values(hash: number): number[] {
    const out: number[] = [];
    for (let e = this.first(hash); e !== -1; e = this.next(e, hash)) out.push(this.value(e));
    return out;
  }

  #scan(from: number, to: number, fp: number): number {
    const entries = this.#entries;
    for (let i = from; i < to; i++) {
      if (entries[i]! >>> this.#fpShift === fp) return i;
    }
    return -1;
  }

  #blockOf(hash: number): number {
    // A block from bits the in-block positions do not use (the hash is fully mixed).
    return this.#blockShift === 32 ? 0 : (Math.imul(hash, 0x9e3779b1) >>> this.#blockShift) * 16;
  }
}
