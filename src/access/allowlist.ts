/**
 * ECHONET_ALLOWLIST: which client addresses may talk to Echonet at all, over any protocol (HTTP
 * requests in src/http/access.ts, Wyoming connections in src/wyoming/server.ts). Addresses and ranges go
 * into a net.BlockList; host names are resolved with node:dns at start-up and again every minute,
 * so a DHCP-assigned doorbell keeps working. A name that does not resolve is a warning: it simply
 * lets no one in until it does (its last known addresses are kept through a failed refresh).
 */
import { lookup } from 'node:dns/promises';
import type { BlockList } from 'node:net';
import { blockListHas, blockListOf, hostNamesOf, type AddressRule } from '../address-list.js';

/** Resolves a host name to every address it has. */
export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** Where resolution failures are reported (a pino logger fits). */
export interface AllowlistLog {
  warn(obj: object, msg: string): void;
}

export interface AllowlistOptions {
  readonly log: AllowlistLog;
  readonly resolve?: Resolver;
  /** How often host names are resolved again; 60 s by default. */
  readonly refreshMs?: number;
  /** How long one resolution may take before it counts as failed. */
  readonly resolveTimeoutMs?: number;
}

export interface Allowlist {
  allows(address: string): boolean;
  /** Resolves the host names again now; never rejects. */
  refresh(): Promise<void>;
  close(): void;
}

/** Builds the allowlist and waits for the first resolution of its host names. */
export async function createAllowlist(
  rules: readonly AddressRule[],
  options: AllowlistOptions,
): Promise<Allowlist> {
  const { log, resolve = systemResolver, resolveTimeoutMs = 5000 } = options;
  const hosts = hostNamesOf(rules);
  const resolved = new Map<string, readonly string[]>();
  let list: BlockList = blockListOf(rules);
  let running: Promise<void> | undefined;

  const resolveOne = async (host: string) => {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer in ${resolveTimeoutMs} ms`)),
          resolveTimeoutMs,
        );
      });
      const addresses = await Promise.race([resolve(host), timeout]);
      resolved.set(host, addresses);
    } catch (err) {
      const known = resolved.get(host);
      log.warn(
        { host, err: (err as NodeJS.ErrnoException).code ?? (err as Error).message },
        known
          ? 'allowlist host name did not resolve; keeping its last known addresses'
          : 'allowlist host name did not resolve; it lets no one in until it does',
      );
    } finally {
      clearTimeout(timer);
    }
  };

  const refresh = () => {
    running ??= Promise.all(hosts.map(resolveOne)).then(() => {
      list = blockListOf(rules, [...resolved.values()].flat());
      running = undefined;
    });
    return running;
  };

  await refresh();
  const timer =
    hosts.length === 0 ? undefined : setInterval(() => void refresh(), options.refreshMs ?? 60_000);
  timer?.unref();

  return {
    allows: (address) => blockListHas(list, address),
    refresh,
    close: () => clearInterval(timer),
  };
}
