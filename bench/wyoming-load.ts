/**
 * The Wyoming load generator, run as its own process like bench/load.ts: `connections` clients
 * each send the wake workload's utterances as `transcript` events with a satellite id, and wait
 * for the answer before the next. `per-utterance`: a new TCP connection for each transcript, as
 * Home Assistant does; `persistent`: one connection per client for the whole run. A success is a
 * `handled` answer (the utterance was forwarded); anything else is a failure.
 *
 * Usage: wyoming-load.ts '<WyomingLoadSpec JSON>'; prints one LoadResult JSON line.
 */
import { connect, type Socket } from 'node:net';
import { encodeEvent, FrameDecoder } from '../src/wyoming/framing.js';
import type { LoadResult } from './load.js';
import { closedLoop, type LoopWorker } from './lib/closed-loop.js';
import { sourceId, WAKE_TEXTS } from './lib/workload.js';

export type WyomingMode = 'per-utterance' | 'persistent';

export interface WyomingLoadSpec {
  readonly port: number;
  readonly mode: WyomingMode;
  readonly connections: number;
  readonly warmupS: number;
  readonly durationS: number;
}

/** The i-th transcript: the wake workload's text and speaker, as Home Assistant frames it. */
export function transcriptBytes(i: number): Buffer {
  return encodeEvent('transcript', {
    text: WAKE_TEXTS[i % WAKE_TEXTS.length],
    language: 'en',
    context: { conversation_id: `bench-${i}`, satellite_id: sourceId('wake', i) },
  });
}

/** A connection that answers one event at a time. */
class Conn {
  readonly #socket: Socket;
  readonly #decoder = new FrameDecoder();
  #waiting: ((type: string) => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      for (const d of this.#decoder.push(chunk)) {
        this.#settle(d.kind === 'event' ? d.event.type : 'bad-frame');
      }
    });
    socket.on('error', () => this.#settle('socket-error'));
    socket.on('close', () => this.#settle('closed'));
  }

  static open(port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', noDelay: true });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new Conn(socket));
      });
    });
  }

  /** Sends the bytes and resolves with the type of the answer. */
  ask(bytes: Buffer): Promise<string> {
    return new Promise((resolve) => {
      this.#waiting = resolve;
      this.#socket.write(bytes);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #settle(type: string): void {
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.(type);
  }
}

function run(spec: WyomingLoadSpec): Promise<LoadResult> {
  let next = 0;
  const once = async (conn: Conn, w: LoopWorker): Promise<void> => {
    const i = next++;
    const t0 = performance.now();
    const type = await conn.ask(transcriptBytes(i));
    w.record(type === 'handled', performance.now() - t0);
  };
  return closedLoop(spec, async (w) => {
    if (spec.mode === 'persistent') {
      const conn = await Conn.open(spec.port);
      while (!w.stopped()) await once(conn, w);
      conn.close();
      return;
    }
    while (!w.stopped()) {
      let conn: Conn;
      try {
        conn = await Conn.open(spec.port);
      } catch {
        // Refused or out of local ports: a failed utterance, as Home Assistant would see it.
        w.record(false, 0);
        continue;
      }
      await once(conn, w);
      conn.close();
    }
  });
}

const arg = process.argv[2];
if (arg !== undefined) {
  const result = await run(JSON.parse(arg) as WyomingLoadSpec);
  process.stdout.write(JSON.stringify(result) + '\n');
}
