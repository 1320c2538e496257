/**
 * The Wyoming front end as the app holds it: built with the app (never listening), started by
 * `echonet serve` (or a test) with listen(), closed with the app. It opens ECHONET_WYOMING_PORT
 * and each ECHONET_WYOMING_BINDINGS port on ECHONET_HOST, with the allowlist and rate limit the
 * HTTP API has, and says what it listens on so serve can advertise each port over mDNS. The
 * bindings are live (`wyoming_bindings` in PUT /config): rebind() closes the ports of removed
 * bindings (their answers in progress finish) and opens the new ones.
 */
import { createAllowlist, type Allowlist, type Resolver } from '../access/allowlist.js';
import { ClientRateLimit } from '../access/client-rate.js';
import type { Clock } from '../clock.js';
import type { Config, WyomingBinding } from '../config.js';
import { DEADLINE_SLACK_MS } from '../delivery/deadlines.js';
import { ConfigError } from '../errors.js';
import { HandleService, type Handler } from './handle-service.js';
import {
  WyomingServer,
  type Binding,
  type Listener,
  type Listening,
  type WyomingLog,
} from './server.js';

/** How long after the forward's own deadline the guard answers in its place. */
export const GUARD_MARGIN_MS = 100;

export interface WyomingFrontEndOptions {
  readonly config: Config;
  readonly handler: Handler;
  readonly version: string;
  readonly clock: Clock;
  /** The forward timeout now, in seconds (PUT /config may change it). */
  readonly httpTimeoutS: () => number;
  readonly log: WyomingLog;
  /** Host-name resolution for the allowlist; node:dns by default. */
  readonly resolve?: Resolver;
  /** Open connections per port past which new ones are closed at once. */
  readonly maxConnections?: number;
  /** The bindings now (runtime settings; default: ECHONET_WYOMING_BINDINGS). */
  readonly bindings?: () => readonly WyomingBinding[] | undefined;
}

export interface ListenOptions {
  /** Default: ECHONET_HOST. */
  readonly host?: string;
  /** Default: ECHONET_WYOMING_PORT (unset: no main port). */
  readonly port?: number | undefined;
  /** Default: the live bindings (ECHONET_WYOMING_BINDINGS, or as PUT /config set them). */
  readonly bindings?: readonly { readonly port: number; readonly target: string }[] | undefined;
}

type BindingSpec = { readonly port: number; readonly target: string };

export class WyomingFrontEnd {
  readonly service: HandleService;
  readonly #options: WyomingFrontEndOptions;
  #server: WyomingServer | undefined;
  #allowlist: Allowlist | undefined;
  /** The host listened on, once listen() ran. */
  #host: string | undefined;
  #main: Listener | undefined;
  /** Open bindings by `port=target`. */
  readonly #bound = new Map<string, Listener>();
  /** Rebinds run one after another. */
  #rebinding: Promise<void> = Promise.resolve();
  readonly #watchers = new Set<(listening: readonly Listening[]) => void>();
  #closed = false;

  constructor(options: WyomingFrontEndOptions) {
    this.#options = options;
    this.service = new HandleService({
      handler: options.handler,
      version: options.version,
      // The forward's own deadline fires at most DEADLINE_SLACK_MS late, and its answer names the
      // assistant; this one, a little later, only answers if something else held the utterance.
      deadlineMs: () =>
        Math.round(options.httpTimeoutS() * 1000) + DEADLINE_SLACK_MS + GUARD_MARGIN_MS,
      onError: (err) => options.log.error({ err }, 'Wyoming transcript failed'),
    });
  }

  /** What is listening now (empty before listen() and after close()). */
  get listening(): readonly Listening[] {
    return [
      ...(this.#main ? [this.#main.listening] : []),
      ...[...this.#bound.values()].map((l) => l.listening),
    ];
  }

  /** Open Wyoming connections, every port together. */
  get connections(): number {
    return this.#server?.connections ?? 0;
  }

  /** Hears of every change to what is listening (a rebind); returns the way to stop. */
  onChange(watcher: (listening: readonly Listening[]) => void): () => void {
    this.#watchers.add(watcher);
    return () => this.#watchers.delete(watcher);
  }

  /**
   * Opens the main port and every binding; a port that cannot be had closes the ones already open
   * and rejects with a ConfigError naming the setting.
   */
  async listen(options: ListenOptions = {}): Promise<readonly Listening[]> {
    if (this.#closed) throw new Error('the Wyoming front end is closed');
    const { config } = this.#options;
    const host = options.host ?? config.host;
    const port = 'port' in options ? options.port : config.wyomingPort;
    const bindings = 'bindings' in options ? options.bindings : this.#liveBindings();
    this.#host = host;
    const server = await this.#ensureServer();
    try {
      if (port !== undefined) {
        this.#main = await this.#open(server, 'ECHONET_WYOMING_PORT', {
          host,
          port,
          name: config.discoveryName,
        });
      }
      for (const b of bindings ?? []) {
        this.#bound.set(
          keyOf(b),
          await this.#open(server, 'ECHONET_WYOMING_BINDINGS', this.#bindingFor(b)),
        );
      }
    } catch (err) {
      await this.close();
      throw err;
    }
    return this.listening;
  }

  /**
   * Brings the open bindings in line with the live setting: removed ones close (their answers in
   * progress finish), new ones open. A port that cannot be had is logged and skipped; nothing
   * happens before listen().
   */
  rebind(): Promise<void> {
    this.#rebinding = this.#rebinding.then(async () => {
      if (this.#closed || this.#host === undefined || this.#server === undefined) return;
      const wanted = new Map((this.#liveBindings() ?? []).map((b) => [keyOf(b), b]));
      let changed = false;
      for (const [key, listener] of [...this.#bound]) {
        if (wanted.has(key)) continue;
        this.#bound.delete(key);
        changed = true;
        await listener.close();
        this.#options.log.info(
          { port: listener.listening.port, name: listener.listening.name },
          'Wyoming binding closed',
        );
      }
      for (const [key, b] of wanted) {
        if (this.#bound.has(key)) continue;
        try {
          this.#bound.set(
            key,
            await this.#open(this.#server, 'wyoming_bindings', this.#bindingFor(b)),
          );
          changed = true;
        } catch (err) {
          this.#options.log.error(
            { err: (err as Error).message, port: b.port, target: b.target },
            'Wyoming binding could not be opened; the others are unaffected',
          );
        }
      }
      if (changed) for (const watch of this.#watchers) watch(this.listening);
    });
    return this.#rebinding;
  }

  /** Closes every listener; answers in progress finish first (bounded by the forward timeout). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#main = undefined;
    this.#bound.clear();
    this.#allowlist?.close();
    await this.#server?.close();
  }

  #liveBindings(): readonly BindingSpec[] | undefined {
    return this.#options.bindings ? this.#options.bindings() : this.#options.config.wyomingBindings;
  }

  #bindingFor(b: BindingSpec): Binding {
    return {
      host: this.#host ?? this.#options.config.host,
      port: b.port,
      name: bindingName(this.#options.config.discoveryName, b.target),
      defaultTarget: b.target,
    };
  }

  async #ensureServer(): Promise<WyomingServer> {
    const { config, log, clock } = this.#options;
    if (config.allowlist !== undefined && this.#allowlist === undefined) {
      this.#allowlist = await createAllowlist(config.allowlist, {
        log,
        ...(this.#options.resolve && { resolve: this.#options.resolve }),
      });
    }
    this.#server ??= new WyomingServer({
      service: this.service,
      log,
      allowlist: this.#allowlist,
      rateLimit:
        config.rateLimitPerMin === undefined
          ? undefined
          : new ClientRateLimit({
              perMin: config.rateLimitPerMin,
              ipv6Prefix: config.rateLimitIpv6Prefix,
              clock,
            }),
      idleTimeoutMs: () => Math.round(config.wyomingIdleTimeoutS * 1000),
      closeGraceMs: () => Math.round(this.#options.httpTimeoutS() * 1000) + 1000,
      ...(this.#options.maxConnections !== undefined && {
        maxConnections: this.#options.maxConnections,
      }),
    });
    return this.#server;
  }

  async #open(server: WyomingServer, setting: string, binding: Binding): Promise<Listener> {
    let listener: Listener;
    try {
      listener = await server.listen(binding);
    } catch (err) {
      throw listenError(err, setting, binding) ?? err;
    }
    this.#options.log.info(
      {
        host: binding.host,
        port: listener.listening.port,
        name: binding.name,
        default_target: binding.defaultTarget,
      },
      'Wyoming handle service listening',
    );
    return listener;
  }
}

const keyOf = (b: BindingSpec) => `${b.port}=${b.target}`;

/**
 * A binding's service name, `Echonet (astraea)`: Home Assistant titles the entry with it, and
 * mDNS needs one name per port. Kept within one DNS label (63 bytes).
 */
export function bindingName(base: string, target: string): string {
  const suffix = ` (${target})`;
  let head = base;
  while (Buffer.byteLength(head + suffix, 'utf8') > 63) head = [...head].slice(0, -1).join('');
  return head.trimEnd() + suffix;
}

function listenError(err: unknown, setting: string, binding: Binding): ConfigError | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const where = `${setting} port ${binding.port}`;
  switch (code) {
    case 'EADDRINUSE':
      return new ConfigError(
        `${where} is in use on ${binding.host} (by another program, ECHONET_PORT or another Wyoming port); choose a free port`,
      );
    case 'EACCES':
      return new ConfigError(
        `${where} needs more privileges than this user has; use 1024 or above`,
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EADDRNOTAVAIL':
      return new ConfigError(
        `host ${JSON.stringify(binding.host)} cannot be listened on for ${setting}; set ECHONET_HOST to an address of this machine`,
      );
    default:
      return undefined;
  }
}
