/**
 * Wyoming events to and from bytes, and nothing else (no sockets, no timers). An event on the wire
 * is one JSON header line ending in `\n` (`type`, optional `data`, `data_length`,
 * `payload_length`; writers add `version`), then `data_length` bytes of UTF-8 JSON merged over the
 * header's `data`, then `payload_length` bytes of payload. Nothing separates events.
 *
 * The decoder is fed whatever a socket delivers (one byte or many events at a time) and bounds
 * every size a peer picks, so a hostile peer costs at most a few hundred KiB and linear time:
 *   - fatal errors (the stream cannot be followed any more: a header line over 64 KiB or not a
 *     JSON object with a `type`, a length that is no count or over 64 KiB): the decoder stops;
 *   - a data part that is not a JSON object: that event is reported as an error, and decoding
 *     goes on with the next (its length was known, so the stream is still in step).
 */

/** The `version` writers put in headers: the Wyoming protocol release whose events we speak. */
export const WYOMING_VERSION = '1.8.0';

export const MAX_HEADER_BYTES = 64 * 1024;
export const MAX_DATA_BYTES = 64 * 1024;
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/** Event types are short names (`transcript`, `audio-chunk`); longer is no event we could know. */
const MAX_TYPE_LENGTH = 128;

export type EventData = Record<string, unknown>;

export interface WyomingEvent {
  readonly type: string;
  readonly data: EventData;
  /** Null when the event has none. */
  readonly payload: Buffer | null;
}

/** Why the bytes are no Wyoming event; `code` goes into the `error` event sent back. */
export interface FrameError {
  readonly code:
    'header_too_large' | 'bad_header' | 'data_too_large' | 'payload_too_large' | 'bad_data';
  readonly message: string;
  /** True when the stream cannot be followed past it (the connection should close). */
  readonly fatal: boolean;
}

export type Decoded =
  | { readonly kind: 'event'; readonly event: WyomingEvent }
  | { readonly kind: 'error'; readonly error: FrameError };

/** The bytes of one event, as Wyoming writers send it: the data after the header line. */
export function encodeEvent(type: string, data?: EventData, payload?: Buffer): Buffer {
  const header: Record<string, unknown> = { type, version: WYOMING_VERSION };
  const dataBytes =
    data === undefined || Object.keys(data).length === 0
      ? undefined
      : Buffer.from(JSON.stringify(data), 'utf8');
  if (dataBytes) header.data_length = dataBytes.length;
  if (payload && payload.length > 0) header.payload_length = payload.length;
  // JSON.stringify never writes a raw newline, so the header stays one line.
  const parts: Uint8Array[] = [Buffer.from(`${JSON.stringify(header)}\n`, 'utf8')];
  if (dataBytes) parts.push(dataBytes);
  if (payload && payload.length > 0) parts.push(payload);
  return Buffer.concat(parts);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const NEWLINE = 0x0a;

interface Header {
  readonly type: string;
  readonly data: EventData;
  readonly dataLength: number;
  readonly payloadLength: number;
}

export class FrameDecoder {
  readonly #bytes = new ByteQueue();
  /** The header read, while its data and payload are awaited. */
  #header: Header | undefined;
  /** Bytes at the front already known to hold no newline (a long header arriving in pieces). */
  #scanned = 0;
  #failed = false;

  /** True once a fatal error was reported: nothing more is decoded. */
  get failed(): boolean {
    return this.#failed;
  }

  /** Bytes received but not yet part of a whole event (a half-written frame at the end). */
  get pending(): number {
    return this.#bytes.length;
  }

  /** Takes the next bytes; returns the events (and errors) they complete, in order. */
  push(chunk: Uint8Array): Decoded[] {
    if (this.#failed) return [];
    this.#bytes.push(chunk);
    const out: Decoded[] = [];
    for (;;) {
      if (this.#header === undefined) {
        const end = this.#bytes.indexOf(NEWLINE, this.#scanned);
        if (end < 0) {
          this.#scanned = this.#bytes.length;
          if (this.#scanned > MAX_HEADER_BYTES) {
            return this.#fail(
              out,
              'header_too_large',
              `a header line over ${kib(MAX_HEADER_BYTES)}`,
            );
          }
          return out;
        }
        if (end > MAX_HEADER_BYTES) {
          return this.#fail(out, 'header_too_large', `a header line over ${kib(MAX_HEADER_BYTES)}`);
        }
        const line = this.#bytes.take(end + 1);
        this.#scanned = 0;
        const header = parseHeader(line);
        if (typeof header === 'string') return this.#fail(out, ...codeOf(header));
        this.#header = header;
      }
      const { dataLength, payloadLength } = this.#header;
      if (this.#bytes.length < dataLength + payloadLength) return out;
      const header = this.#header;
      this.#header = undefined;
      const dataBytes = dataLength > 0 ? this.#bytes.take(dataLength) : undefined;
      const payload = payloadLength > 0 ? this.#bytes.take(payloadLength) : null;
      let data = header.data;
      if (dataBytes) {
        const more = parseObject(dataBytes);
        if (more === undefined) {
          out.push({
            kind: 'error',
            error: {
              code: 'bad_data',
              message: `the data of a ${JSON.stringify(header.type)} event is not a UTF-8 JSON object`,
              fatal: false,
            },
          });
          continue;
        }
        data = { ...data, ...more };
      }
      out.push({ kind: 'event', event: { type: header.type, data, payload } });
    }
  }

  #fail(out: Decoded[], code: FrameError['code'], message: string): Decoded[] {
    this.#failed = true;
    this.#bytes.clear();
    out.push({ kind: 'error', error: { code, message, fatal: true } });
    return out;
  }
}

/** A header's problem, as `code: message` (parseHeader's string results). */
function codeOf(problem: string): [FrameError['code'], string] {
  const colon = problem.indexOf(':');
  return [problem.slice(0, colon) as FrameError['code'], problem.slice(colon + 2)];
}

/** The header line's fields, or `code: message` saying what is wrong with it. */
function parseHeader(line: Buffer): Header | string {
  const header = parseObject(line);
  if (header === undefined) return 'bad_header: a header line that is not a UTF-8 JSON object';
  const { type } = header;
  if (typeof type !== 'string' || type === '' || type.length > MAX_TYPE_LENGTH) {
    return `bad_header: a header without a "type" (a string of 1 to ${MAX_TYPE_LENGTH} characters)`;
  }
  const data = header.data ?? {};
  if (!isObject(data))
    return `bad_header: "data" of a ${JSON.stringify(type)} event is not an object`;
  const dataLength = lengthOf(header.data_length);
  if (dataLength === undefined) {
    return 'bad_header: "data_length" is not a byte count (a whole number of 0 or more)';
  }
  if (dataLength > MAX_DATA_BYTES) {
    return `data_too_large: "data_length" ${dataLength} is over ${kib(MAX_DATA_BYTES)}`;
  }
  const payloadLength = lengthOf(header.payload_length);
  if (payloadLength === undefined) {
    return 'bad_header: "payload_length" is not a byte count (a whole number of 0 or more)';
  }
  if (payloadLength > MAX_PAYLOAD_BYTES) {
    return `payload_too_large: "payload_length" ${payloadLength} is over ${kib(MAX_PAYLOAD_BYTES)}`;
  }
  return { type, data, dataLength, payloadLength };
}

/** Absent and null mean none, as in the Wyoming library. */
function lengthOf(value: unknown): number | undefined {
  if (value === undefined || value === null) return 0;
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

function parseObject(bytes: Buffer): EventData | undefined {
  try {
    const value: unknown = JSON.parse(utf8.decode(bytes));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is EventData {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kib(bytes: number): string {
  return `${bytes / 1024} KiB`;
}

/**
 * Bytes received and not yet consumed, in one growing buffer: appending and consuming cost time
 * in proportion to the bytes, however the peer splits them (a list of chunks re-scanned or
 * re-joined on every push would cost the square of the count of pieces).
 */
class ByteQueue {
  #buf = Buffer.alloc(0);
  #start = 0;
  #end = 0;

  get length(): number {
    return this.#end - this.#start;
  }

  push(chunk: Uint8Array): void {
    const needed = this.length + chunk.length;
    if (this.#end + chunk.length > this.#buf.length) {
      if (needed <= this.#buf.length) {
        this.#buf.copy(this.#buf, 0, this.#start, this.#end);
      } else {
        const next = Buffer.allocUnsafe(Math.max(needed, this.#buf.length * 2, 1024));
        this.#buf.copy(next, 0, this.#start, this.#end);
        this.#buf = next;
      }
      this.#end = this.length;
      this.#start = 0;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /** The offset of `byte` at or after `from` (offsets from the front), or -1. */
  indexOf(byte: number, from: number): number {
    const i = this.#buf.subarray(this.#start, this.#end).indexOf(byte, from);
    return i;
  }

  /** The first `n` bytes, removed (a copy: the buffer is reused). */
  take(n: number): Buffer {
    const out = Buffer.from(this.#buf.subarray(this.#start, this.#start + n));
    this.#start += n;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return out;
  }

  clear(): void {
    this.#buf = Buffer.alloc(0);
    this.#start = this.#end = 0;
  }
}
