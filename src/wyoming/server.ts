/**
 * The Wyoming listeners: sockets, access and time. Each connection is checked against the
 * allowlist (refused: closed at once) and the rate limit (refused: one `error` event, then closed),
 * then its bytes go through the frame decoder and its events, one at a time and in order, to the
 * handle service, whose answers are written back. Whatever a peer sends costs it an `error` event
 * or a closed connection, never the process: sizes are bounded by the decoder, reading pauses
 * while an event is answered and while the peer is not reading our answers, a connection that says
 * nothing is closed after the idle timeout, and past `maxConnections` new ones are closed at once.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Allowlist } from '../access/allowlist.js';
import type { ClientRateLimit } from '../access/client-rate.js';
import { encodeEvent, FrameDecoder, type Decoded } from './framing.js';
import type { Answer, ConnectionContext, HandleService } from './handle-service.js';

export interface WyomingLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface WyomingServerOptions {
  readonly service: HandleService;
  readonly log: WyomingLog;
  /** Who may connect (ECHONET_ALLOWLIST); absent: anyone. */
  readonly allowlist?: Allowlist | undefined;
  /**
   * Connections, and transcripts after the first on one connection, per client per minute
   * (ECHONET_RATE_LIMIT_PER_MIN); absent: no limit.
   */
  readonly rateLimit?: ClientRateLimit | undefined;
  /** How long a connection may send nothing, in ms (read at each reset). */
  readonly idleTimeoutMs: () => number;
  /** How long close() lets answers in progress finish before it cuts their connections. */
  readonly closeGraceMs: () => number;
  /** Open connections per listener past which new ones are closed at once (default 1024). */
  readonly maxConnections?: number;
}

/** One port to listen on, and what its connections stand for. */
export interface Binding {
  readonly host: string;
  readonly port: number;
  /** The service name `info` gives and mDNS advertises. */
  readonly name: string;
  /** Where an utterance naming no assistant goes on this port; undefined: the configured default. */
  readonly defaultTarget?: string | undefined;
}

export interface Listening extends Binding {
  /** The port really listened on (a binding's port 0 picks one). */
  readonly port: number;
}

/** Answers not yet read by the peer, above which we stop reading its next events. */
const MAX_UNREAD_BYTES = 256 * 1024;
const DEFAULT_MAX_CONNECTIONS = 1024;

/** One open port: stopped on its own when its binding is removed, or with the rest. */
export interface Listener {
  readonly listening: Listening;
  /** Stops accepting on this port; its answers in progress finish (within the close grace). */
  close(): Promise<void>;
}

/** A port's server and what is connected to it. */
interface Port {
  readonly server: Server;
  readonly connections: Set<Connection>;
  /** Refused connections still saying goodbye (closed at once on close). */
  readonly refused: Set<Socket>;
  closing?: Promise<void>;
}

export class WyomingServer {
  readonly #options: WyomingServerOptions;
  readonly #ports = new Set<Port>();
  #closing: Promise<void> | undefined;

  constructor(options: WyomingServerOptions) {
    this.#options = options;
  }

  /** Open connections, all listeners together. */
  get connections(): number {
    let n = 0;
    for (const port of this.#ports) n += port.connections.size;
    return n;
  }

  /** Starts listening on the binding's port; rejects (as net does) when the port cannot be had. */
  async listen(binding: Binding): Promise<Listener> {
    if (this.#closing) throw new Error('the Wyoming server is closed');
    // Half-open: a client that sends its event and shuts its side still gets the answer.
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    server.maxConnections = this.#options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    const port: Port = { server, connections: new Set(), refused: new Set() };
    server.on('connection', (socket) =>
      this.#accept(socket, port, {
        address: socket.remoteAddress ?? '',
        defaultTarget: binding.defaultTarget,
        name: binding.name,
      }),
    );
    server.on('drop', (dropped) =>
      this.#options.log.warn(
        { address: dropped?.remoteAddress, port: binding.port },
        'Wyoming connection closed at once: too many open connections',
      ),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: binding.host, port: binding.port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.#options.log.warn({ err }, 'Wyoming listener error'));
    this.#ports.add(port);
    const listening = { ...binding, port: (server.address() as AddressInfo).port };
    return { listening, close: () => this.#closePort(port) };
  }

  /**
   * Stops accepting on every port; answers in progress finish (for at most the close grace),
   * idle connections close now.
   */
  close(): Promise<void> {
    this.#closing ??= Promise.all([...this.#ports].map((p) => this.#closePort(p))).then(
      () => undefined,
    );
    return this.#closing;
  }

  #closePort(port: Port): Promise<void> {
    port.closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => port.server.close(() => resolve()));
      for (const socket of port.refused) socket.destroy();
      const open = [...port.connections].map((c) => c.finish());
      const grace = setTimeout(() => {
        for (const c of port.connections) c.destroy();
      }, this.#options.closeGraceMs());
      await Promise.all([stopped, ...open]);
      clearTimeout(grace);
      this.#ports.delete(port);
    })();
    return port.closing;
  }

  #accept(socket: Socket, port: Port, context: ConnectionContext): void {
    const { allowlist, rateLimit, log } = this.#options;
    // A reset or a write to a closed peer must never become an uncaught error.
    socket.on('error', (err) => log.debug({ err: err.message }, 'Wyoming connection error'));
    if (port.closing) {
      socket.destroy();
      return;
    }
    if (allowlist && !allowlist.allows(context.address)) {
      log.info(
        { address: context.address },
        'Wyoming connection refused: client address not in ECHONET_ALLOWLIST',
      );
      socket.destroy();
      return;
    }
    const allowed = rateLimit?.take(context.address);
    if (allowed && !allowed.ok) {
      log.info({ address: context.address }, 'Wyoming connection refused: rate limit');
      // The error, then our side closed; what the peer sends is discarded, and a peer that never
      // closes its side is cut after the idle timeout like any silent connection.
      socket.setTimeout(this.#options.idleTimeoutMs(), () => socket.destroy());
      port.refused.add(socket);
      socket.once('close', () => port.refused.delete(socket));
      socket.resume();
      socket.end(encodeEvent('error', rateLimited(rateLimit?.perMin ?? 0, allowed.retryAfterS)));
      return;
    }
    const connection = new Connection(socket, context, this.#options);
    port.connections.add(connection);
    socket.on('close', () => port.connections.delete(connection));
  }
}

function rateLimited(perMin: number, retryAfterS: number) {
  return {
    text: `rate limit of ${perMin} per minute exceeded; retry in ${retryAfterS} seconds`,
    code: 'rate_limited',
  };
}

/** One client connection: its decoder, its queue of events, its idle timer. */
class Connection {
  readonly #socket: Socket;
  readonly #context: ConnectionContext;
  readonly #options: WyomingServerOptions;
  readonly #decoder = new FrameDecoder();
  #busy = false;
  #ended = false;
  #transcripts = 0;
  #closed: Promise<void>;
  #finishing = false;

  constructor(socket: Socket, context: ConnectionContext, options: WyomingServerOptions) {
    this.#socket = socket;
    this.#context = context;
    this.#options = options;
    this.#closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.setTimeout(options.idleTimeoutMs());
    socket.on('timeout', () => {
      options.log.debug({ address: context.address }, 'Wyoming connection idle; closing it');
      socket.destroy();
    });
    socket.on('data', (chunk: Buffer) => this.#received(chunk));
    socket.on('end', () => {
      this.#ended = true;
      if (this.#decoder.pending > 0) {
        options.log.debug(
          { address: context.address, bytes: this.#decoder.pending },
          'Wyoming client closed in the middle of an event; the half-written event is dropped',
        );
      }
      if (!this.#busy) socket.end();
    });
  }

  /** Ends the connection once the event in progress is answered; resolves when it is closed. */
  finish(): Promise<void> {
    this.#finishing = true;
    if (!this.#busy) this.#socket.destroy();
    return this.#closed;
  }

  destroy(): void {
    this.#socket.destroy();
  }

  #received(chunk: Buffer): void {
    const items = this.#decoder.push(chunk);
    if (items.length === 0) return;
    this.#busy = true;
    this.#socket.pause();
    void this.#process(items).finally(() => {
      this.#busy = false;
      const socket = this.#socket;
      if (socket.destroyed) return;
      if (this.#finishing || this.#decoder.failed) {
        socket.end();
        return;
      }
      if (this.#ended) {
        socket.end();
        return;
      }
      // The peer must read our answers before it may send more.
      if (socket.writableLength > MAX_UNREAD_BYTES) socket.once('drain', () => socket.resume());
      else socket.resume();
    });
  }

  async #process(items: Decoded[]): Promise<void> {
    for (const item of items) {
      if (this.#socket.destroyed || this.#finishing) return;
      if (item.kind === 'error') {
        this.#write({ type: 'error', data: { text: item.error.message, code: item.error.code } });
        if (item.error.fatal) return;
        continue;
      }
      const { event } = item;
      if (event.type === 'transcript' && ++this.#transcripts > 1) {
        const allowed = this.#options.rateLimit?.take(this.#context.address);
        if (allowed && !allowed.ok) {
          this.#write({
            type: 'error',
            data: rateLimited(this.#options.rateLimit?.perMin ?? 0, allowed.retryAfterS),
          });
          continue;
        }
      }
      // Waiting for an assistant is not idleness.
      this.#socket.setTimeout(0);
      let answer: Answer;
      try {
        answer = await this.#options.service.answer(event, this.#context);
      } catch (err) {
        // The service answers every failure it knows of; anything else is a bug, never a crash.
        this.#options.log.error({ err }, 'Wyoming event failed');
        answer = { type: 'error', data: { text: 'internal error', code: 'internal' } };
      } finally {
        if (!this.#socket.destroyed) this.#socket.setTimeout(this.#options.idleTimeoutMs());
      }
      this.#write(answer);
    }
  }

  #write(answer: Answer): void {
    if (this.#socket.destroyed || this.#socket.writableEnded) return;
    this.#socket.write(encodeEvent(answer.type, answer.data));
  }
}
