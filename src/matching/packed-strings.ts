/**
 * A fixed list of strings packed into one buffer. At 100 000 phrases the phrase texts and the
 * index's words as separate JavaScript strings, each with its header and an array slot, cost
 * about three times their characters; packed, the bytes sit outside the JS heap, which the garbage
 * collector then neither marks nor has to grow for. One byte a character when every character is
 * Latin-1 (U+0000–U+00FF), as transcripts and names almost always are; two otherwise.
 */
/** A PackedStrings as plain typed arrays, to post to another thread (see `PackedStrings.from`). */
export interface PackedStringsData {
  readonly units: Uint8Array | Uint16Array;
  readonly starts: Uint32Array;
}

export class PackedStrings {
  /** Latin-1 bytes, or UTF-16 code units (little-endian) when any character is above U+00FF. */
  #bytes: Buffer;
  /** The same memory as code units, for comparing without decoding. */
  #units: Uint8Array | Uint16Array;
  #encoding: 'latin1' | 'utf16le';
  /** String i is units [starts[i], starts[i + 1]). */
  #starts: Uint32Array;

  constructor(strings: readonly string[]) {
    let total = 0;
    let wide = false;
    for (const s of strings) {
      total += s.length;
      if (!wide && !isLatin1(s)) wide = true;
    }
    this.#starts = new Uint32Array(strings.length + 1);
    this.#encoding = wide ? 'utf16le' : 'latin1';
    this.#units = wide ? new Uint16Array(total) : new Uint8Array(total);
    this.#bytes = Buffer.from(this.#units.buffer, 0, this.#units.byteLength);
    let at = 0;
    for (const [i, s] of strings.entries()) {
      this.#starts[i] = at;
      for (let k = 0; k < s.length; k++) this.#units[at++] = s.charCodeAt(k);
    }
    this.#starts[strings.length] = at;
  }

  /** The packed arrays themselves (not copies): post them with their buffers transferred. */
  toData(): PackedStringsData {
    return { units: this.#units, starts: this.#starts };
  }

  /** The strings `toData` gave, on this thread, without re-packing them. */
  static from(data: PackedStringsData): PackedStrings {
    const packed = new PackedStrings([]);
    packed.#units = data.units;
    packed.#starts = data.starts;
    packed.#encoding = data.units instanceof Uint16Array ? 'utf16le' : 'latin1';
    packed.#bytes = Buffer.from(data.units.buffer, data.units.byteOffset, data.units.byteLength);
    return packed;
  }

  get size(): number {
    return this.#starts.length - 1;
  }

  /** Bytes held: one a character for Latin-1 text, two otherwise, plus the offsets. */
  get byteLength(): number {
    return this.#units.byteLength + this.#starts.byteLength;
  }

  /** String `i`, decoded (a new string on every call). */
  get(i: number): string {
    const unit = this.#units.BYTES_PER_ELEMENT;
    return this.#bytes.toString(
      this.#encoding,
      this.#starts[i]! * unit,
      this.#starts[i + 1]! * unit,
    );
  }

  length(i: number): number {
    return this.#starts[i + 1]! - this.#starts[i]!;
  }

  /** Whether string `i` is `s`, without decoding it. */
  equals(i: number, s: string): boolean {
    const start = this.#starts[i]!;
    if (this.#starts[i + 1]! - start !== s.length) return false;
    const units = this.#units;
    for (let k = 0; k < s.length; k++) if (units[start + k] !== s.charCodeAt(k)) return false;
    return true;
  }
}

function isLatin1(s: string): boolean {
  for (let k = 0; k < s.length; k++) if (s.charCodeAt(k) > 0xff) return false;
  return true;
}
