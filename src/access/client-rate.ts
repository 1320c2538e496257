/**
 * A per-client count of things a client does in a minute, for protocols without Fastify's rate
 * limiter (Wyoming connections and transcripts). Clients are counted the way the HTTP limit counts
 * them (src/http/rate-limits.ts): per IPv4 address, an IPv4-mapped IPv6 address as its IPv4
 * address, and per IPv6 network of `ipv6Prefix` bits, since one home holds a whole /64.
 *
 * Fixed one-minute windows per client, from the client's first action: cheap (one map entry per
 * client seen this minute) and enough to stop a flood; entries of finished windows are swept as
 * the map grows.
 */
import { isIP } from 'node:net';
import type { Clock } from '../clock.js';

export interface ClientRateOptions {
  /** Actions one client may take per minute. */
  readonly perMin: number;
  /** Prefix length, 1 to 128, under which IPv6 clients share one count. */
  readonly ipv6Prefix: number;
  readonly clock: Clock;
}

export type RateAnswer =
  { readonly ok: true } | { readonly ok: false; readonly retryAfterS: number };

const MINUTE_MS = 60_000;
/** Above this many clients, finished windows are swept before a new one is added. */
const SWEEP_AT = 10_000;

export class ClientRateLimit {
  readonly perMin: number;
  readonly #ipv6Prefix: number;
  readonly #clock: Clock;
  readonly #windows = new Map<string, { count: number; endsAt: number }>();

  constructor(options: ClientRateOptions) {
    this.perMin = options.perMin;
    this.#ipv6Prefix = options.ipv6Prefix;
    this.#clock = options.clock;
  }

  /** Counts one action of the client at `address`; refuses it when the client is over the limit. */
  take(address: string): RateAnswer {
    const now = this.#clock.now();
    const key = clientKey(address, this.#ipv6Prefix);
    let window = this.#windows.get(key);
    if (window === undefined || window.endsAt <= now) {
      if (window === undefined && this.#windows.size >= SWEEP_AT) this.#sweep(now);
      window = { count: 0, endsAt: now + MINUTE_MS };
      this.#windows.set(key, window);
    }
    if (window.count >= this.perMin) {
      return { ok: false, retryAfterS: Math.max(1, Math.ceil((window.endsAt - now) / 1000)) };
    }
    window.count++;
    return { ok: true };
  }

  #sweep(now: number): void {
    for (const [key, w] of this.#windows) if (w.endsAt <= now) this.#windows.delete(key);
  }
}

/**
 * The key a client is counted under: the IPv4 address, or the IPv6 network (`prefix` bits, the
 * rest zero) in full hexadecimal; anything else as it is.
 */
export function clientKey(address: string, ipv6Prefix: number): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (isIP(address) !== 6) return address;
  const groups = expandIpv6(address);
  if (groups === undefined) return address;
  const bits = groups.map((g) => g.toString(2).padStart(16, '0')).join('');
  const network = bits.slice(0, ipv6Prefix).padEnd(128, '0');
  const hex: string[] = [];
  for (let i = 0; i < 128; i += 16) hex.push(parseInt(network.slice(i, i + 16), 2).toString(16));
  return `${hex.join(':')}/${ipv6Prefix}`;
}

/** The eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 part included). */
function expandIpv6(address: string): number[] | undefined {
  let text = address.replace(/%.*$/, '').toLowerCase();
  const v4 = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  const zeros = 8 - front.length - back.length;
  if (zeros < 0 || (tail === undefined && zeros !== 0)) return undefined;
  return [...front, ...new Array<number>(zeros).fill(0), ...back];
}
