/**
 * The Wyoming front end as the app holds it: built with the app (never listening), started by
 * `echonet serve` (or a test) with listen(), closed with the app. It opens ECHONET_WYOMING_PORT
 * and each ECHONET_WYOMING_BINDINGS port on ECHONET_HOST, with the allowlist and rate limit the
 * HTTP API has, and says what it listens on so serve can advertise each port over mDNS.
 */
import { createAllowlist, type Allowlist, type Resolver } from '../access/allowlist.js';
import { ClientRateLimit } from '../access/client-rate.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { DEADLINE_SLACK_MS } from '../delivery/deadlines.js';
import { ConfigError } from '../errors.js';
import { HandleService, type Handler } from './handle-service.js';
import { WyomingServer, type Binding, type Listening, type WyomingLog } from './server.js';

/** How long after the forward's own deadline the guard answers in its place. */
export const GUARD_MARGIN_MS = 100;

export interface WyomingFrontEndOptions {
  readonly config: Config;
  readonly handler: Handler;
  readonly version: string;
  readonly clock: Clock;
  /** The forward timeout now, in seconds (PUT /config may change it). */
  readonly httpTimeoutS: () => number;
  readonly log: WyomingLog & { error(obj: object, msg: string): void };
  /** Host-name resolution for the allowlist; node:dns by default. */
  readonly resolve?: Resolver;
  /** Open connections per port past which new ones are closed at once. */
  readonly maxConnections?: number;
}

export interface ListenOptions {
  /** Default: ECHONET_HOST. */
  readonly host?: string;
  /** Default: ECHONET_WYOMING_PORT (unset: no main port). */
  readonly port?: number | undefined;
  /** Default: ECHONET_WYOMING_BINDINGS. */
  readonly bindings?: readonly { readonly port: number; readonly target: string }[] | undefined;
}

export class WyomingFrontEnd {
  readonly service: HandleService;
  readonly #options: WyomingFrontEndOptions;
  #server: WyomingServer | undefined;
  #allowlist: Allowlist | undefined;
  #listening: Listening[] = [];
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
    return this.#listening;
  }

  /** Open Wyoming connections, every port together. */
  get connections(): number {
    return this.#server?.connections ?? 0;
  }

  /** True when the configuration asks for any Wyoming port. */
  get configured(): boolean {
    const { config } = this.#options;
    return config.wyomingPort !== undefined || (config.wyomingBindings?.length ?? 0) > 0;
  }

  /**
   * Opens the main port and every binding; a port that cannot be had closes the ones already open
   * and rejects with a ConfigError naming the setting.
   */
  async listen(options: ListenOptions = {}): Promise<readonly Listening[]> {
    if (this.#closed) throw new Error('the Wyoming front end is closed');
    const { config, log, clock } = this.#options;
    const host = options.host ?? config.host;
    const port = 'port' in options ? options.port : config.wyomingPort;
    const bindings = ('bindings' in options ? options.bindings : config.wyomingBindings) ?? [];
    const wanted: (Binding & { setting: string })[] = [];
    if (port !== undefined) {
      wanted.push({ host, port, name: config.discoveryName, setting: 'ECHONET_WYOMING_PORT' });
    }
    for (const b of bindings) {
      wanted.push({
        host,
        port: b.port,
        name: bindingName(config.discoveryName, b.target),
        defaultTarget: b.target,
        setting: 'ECHONET_WYOMING_BINDINGS',
      });
    }
    if (wanted.length === 0) return [];
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
    const opened: Listening[] = [];
    for (const { setting, ...binding } of wanted) {
      try {
        opened.push(await this.#server.listen(binding));
      } catch (err) {
        await this.close();
        throw listenError(err, setting, binding) ?? err;
      }
      log.info(
        {
          host,
          port: opened.at(-1)?.port,
          name: binding.name,
          default_target: binding.defaultTarget,
        },
        'Wyoming handle service listening',
      );
    }
    this.#listening = [...this.#listening, ...opened];
    return opened;
  }

  /** Closes every listener; answers in progress finish first (bounded by the forward timeout). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listening = [];
    this.#allowlist?.close();
    await this.#server?.close();
  }
}

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
