/**
 * A Wyoming client written here from the protocol's framing, not from src/wyoming (so the tests
 * check Echonet against the protocol, not against itself): a header line of JSON, then
 * `data_length` bytes of JSON data, then `payload_length` bytes of payload. `ask` does what Home
 * Assistant does for each utterance: a new connection, one event, read the answer, close.
 */
import { connect, type Socket } from 'node:net';
import { GENEROUS_MS, within } from './wait.js';

export interface WyEvent {
  readonly type: string;
  readonly data: Record<string, unknown>;
  readonly payload: Buffer | null;
}

/**
 * One event as the Wyoming library writes it: data in its own part after the header (not inside
 * the header), `version` in the header. `inHeader` puts the data in the header instead, which
 * readers accept too.
 */
export function frame(
  type: string,
  data: Record<string, unknown> = {},
  options: { payload?: Buffer; inHeader?: Record<string, unknown> } = {},
): Buffer {
  const dataBytes = Object.keys(data).length > 0 ? Buffer.from(JSON.stringify(data)) : null;
  const header: Record<string, unknown> = { type, version: '1.5.4' };
  if (options.inHeader) header.data = options.inHeader;
  if (dataBytes) header.data_length = dataBytes.length;
  if (options.payload) header.payload_length = options.payload.length;
  return Buffer.concat([
    Buffer.from(JSON.stringify(header) + '\n'),
    ...(dataBytes ? [dataBytes] : []),
    ...(options.payload ? [options.payload] : []),
  ]);
}

/** Home Assistant's transcript: text, language, and a context with the conversation's ids. */
export function transcript(
  text: string,
  context: { conversation_id?: string; satellite_id?: string; device_id?: string } = {},
): Buffer {
  return frame('transcript', {
    text,
    language: 'en',
    context: { conversation_id: 'conv-01', ...context },
  });
}

export class WyomingClient {
  readonly events: WyEvent[] = [];
  /** Resolves when the server closes the connection (or it is reset). */
  readonly closed: Promise<void>;
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  #waiters: (() => void)[] = [];
  #isClosed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#parse();
      this.#wake();
    });
    socket.on('error', () => undefined);
    this.closed = new Promise<void>((resolve) =>
      socket.once('close', () => {
        this.#isClosed = true;
        this.#wake();
        resolve();
      }),
    );
  }

  static connect(port: number, host = '127.0.0.1'): Promise<WyomingClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host, noDelay: true });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new WyomingClient(socket));
      });
    });
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  send(bytes: Buffer | string): void {
    this.#socket.write(bytes);
  }

  /** Resolves with the `n`th event received (1-based), or rejects if the connection closes first. */
  async nth(n: number): Promise<WyEvent> {
    return within(
      (async () => {
        for (;;) {
          const event = this.events[n - 1];
          if (event) return event;
          if (this.#isClosed) {
            throw new Error(`connection closed after ${this.events.length} events, wanted ${n}`);
          }
          await new Promise<void>((resolve) => this.#waiters.push(resolve));
        }
      })(),
      GENEROUS_MS,
      `event ${n}`,
    );
  }

  /** The next event after the ones already read through `next`. */
  #read = 0;
  next(): Promise<WyEvent> {
    this.#read += 1;
    return this.nth(this.#read);
  }

  /** Waits for the server to close the connection. */
  waitClosed(): Promise<void> {
    return within(this.closed, GENEROUS_MS, 'the server to close the connection');
  }

  /** Half-closes our side (the server may still answer). */
  end(): void {
    this.#socket.end();
  }

  close(): void {
    this.#socket.destroy();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  #parse(): void {
    for (;;) {
      const nl = this.#buffer.indexOf(0x0a);
      if (nl < 0) return;
      const header = JSON.parse(this.#buffer.subarray(0, nl).toString('utf8')) as {
        type: string;
        data?: Record<string, unknown>;
        data_length?: number;
        payload_length?: number;
      };
      const dataLength = header.data_length ?? 0;
      const payloadLength = header.payload_length ?? 0;
      const end = nl + 1 + dataLength + payloadLength;
      if (this.#buffer.length < end) return;
      const dataPart =
        dataLength > 0
          ? (JSON.parse(
              this.#buffer.subarray(nl + 1, nl + 1 + dataLength).toString('utf8'),
            ) as Record<string, unknown>)
          : {};
      const payload =
        payloadLength > 0 ? Buffer.from(this.#buffer.subarray(nl + 1 + dataLength, end)) : null;
      this.events.push({ type: header.type, data: { ...header.data, ...dataPart }, payload });
      this.#buffer = this.#buffer.subarray(end);
    }
  }
}

/** Home Assistant's way: a new connection, one event, the first answer, then close. */
export async function ask(port: number, bytes: Buffer): Promise<WyEvent> {
  const client = await WyomingClient.connect(port);
  try {
    client.send(bytes);
    return await client.next();
  } finally {
    client.close();
  }
}
