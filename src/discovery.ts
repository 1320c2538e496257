/**
 * mDNS/DNS-SD advertisement of a running Echonet as `_echonet._tcp`, with bonjour-service, so
 * assistants and front ends on the local network can find it (the Python service's zeroconf
 * advertisement, same service type and TXT keys), and of each Wyoming port as `_wyoming._tcp`,
 * which Home Assistant browses for and offers to add. Advertising never delays or stops the server:
 * `advertise()` returns at once, and a network without multicast costs one warning in the log.
 */
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { Bonjour, type Service } from 'bonjour-service';
import type { Config } from './config.js';

export const SERVICE_TYPE = 'echonet';
export const WYOMING_SERVICE_TYPE = 'wyoming';

/** A Wyoming port to advertise, under its own instance name (one Home Assistant entry each). */
export interface WyomingService {
  readonly name: string;
  readonly port: number;
}

/** What the advertisement says (and the handshake reports): the configured values, resolved. */
export interface DiscoveryInfo {
  readonly enabled: boolean;
  readonly instanceName: string;
  /** The `.local` host label the SRV record points at. */
  readonly host: string;
  readonly zone: string;
  /** Empty when none is configured (the Python service always sent the key). */
  readonly subzone: string;
}

export function discoveryInfo(config: Config): DiscoveryInfo {
  return {
    enabled: config.discoveryEnabled,
    instanceName: config.discoveryName,
    host: config.discoveryHost ?? machineHostLabel(),
    zone: config.discoveryZone,
    subzone: config.discoverySubzone ?? '',
  };
}

/** The machine's host name as one DNS label: `pi.lan` → `pi`, odd characters → `-`. */
function machineHostLabel(): string {
  const first = hostname().split('.')[0] ?? '';
  const label = first
    .replace(/[^A-Za-z0-9-]/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
  return label === '' ? 'echonet' : label;
}

/** The TXT record: Python's keys (`version`, `zone`, `subzone`, `capabilities`, a comma list). */
export function txtRecord(
  info: DiscoveryInfo,
  version: string,
  capabilities: readonly string[],
): Record<string, string> {
  return {
    version,
    zone: info.zone,
    subzone: info.subzone,
    capabilities: capabilities.join(','),
  };
}

/** True for an address only this machine can reach, where advertising would mislead clients. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1' || h.startsWith('::ffff:127.');
}

/**
 * `advertised`: announced on a network that took the packets. `unavailable`: no multicast here
 * (the socket could not bind, or the network refused the packets); logged once.
 */
export type DiscoveryStatus = 'starting' | 'advertised' | 'unavailable' | 'stopped';

export interface DiscoveryLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

export interface AdvertiseOptions {
  readonly info: DiscoveryInfo;
  /** The port the server really listens on (ECHONET_PORT=0 picks one). */
  readonly port: number;
  readonly version: string;
  readonly capabilities: readonly string[];
  readonly log: DiscoveryLog;
  /** The Wyoming ports listening (none: nothing is advertised as `_wyoming._tcp`). */
  readonly wyoming?: readonly WyomingService[];
  /** multicast-dns socket options; only tests change them (another port, an interface). */
  readonly mdns?: { readonly port?: number; readonly interface?: string };
}

export interface Advertisement {
  readonly status: DiscoveryStatus;
  /** Resolves once the status leaves `starting` (for tests and the start-up log). */
  readonly settled: Promise<DiscoveryStatus>;
  /**
   * Advertises these Wyoming ports instead of the ones before (a binding added or removed while
   * running): the ones gone get a goodbye, the new ones are announced.
   */
  setWyoming(services: readonly WyomingService[]): void;
  /** Sends the goodbye (TTL 0) so browsers drop the service now, then closes the socket. */
  stop(): Promise<void>;
}

export function advertise(options: AdvertiseOptions): Advertisement {
  const { info, port, log } = options;
  let status: DiscoveryStatus = 'starting';
  let settle: (s: DiscoveryStatus) => void = () => undefined;
  const settled = new Promise<DiscoveryStatus>((resolve) => (settle = resolve));
  const set = (s: DiscoveryStatus) => {
    status = s;
    settle(s);
  };

  let warned = false;
  const unavailable = (err: unknown) => {
    if (status === 'stopped') return;
    set('unavailable');
    if (warned) return;
    warned = true;
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    log.warn(
      { err: (err as Error | undefined)?.message, code },
      'mDNS discovery unavailable (no multicast on this network?): Echonet works, but browsers ' +
        'will not find it; set ECHONET_DISCOVERY_ENABLED=false to stop trying',
    );
  };

  // The callback receives failures to answer a query; without it bonjour-service throws them.
  const bonjour = new Bonjour({ ...options.mdns }, unavailable);
  // The package's own objects, typed loosely by it: the socket wrapper is where a bind failure
  // (`error`: port 5353 held exclusively, no permission) and a lost interface (`warning`) surface.
  const mdns = (
    bonjour as unknown as {
      server: {
        mdns: NodeJS.EventEmitter & {
          query(name: string, type: string, cb: (err: Error | null) => void): void;
        };
      };
    }
  ).server.mdns;
  mdns.on('error', unavailable);
  mdns.on('warning', (err: Error) => log.debug({ err: err.message }, 'mDNS warning'));
  mdns.on('response', watchForNameClash(info, port, log));

  const wyoming = new Map<string, Service>();
  const wyomingKey = (w: WyomingService) => `${w.name}\u0000${w.port}`;
  const publishWyoming = (w: WyomingService) => {
    wyoming.set(
      wyomingKey(w),
      bonjour.publish({
        name: w.name,
        type: WYOMING_SERVICE_TYPE,
        port: w.port,
        host: `${info.host}.local`,
        txt: { version: options.version },
        probe: false,
      }),
    );
  };

  let service: Service | undefined;
  try {
    service = bonjour.publish({
      name: info.instanceName,
      type: SERVICE_TYPE,
      port,
      host: `${info.host}.local`,
      txt: txtRecord(info, options.version, options.capabilities),
      // The package's probe reports a name clash with console.log and a stack trace, outside the
      // JSON log, and gives up; watchForNameClash logs it instead, and the advertisement stays.
      probe: false,
    });
    for (const w of options.wyoming ?? []) publishWyoming(w);
  } catch (err) {
    unavailable(err);
  }
  // bonjour-service reports its announcement as sent whether or not the network took it; a query
  // of our own says whether multicast packets leave this machine at all.
  mdns.query(`_${SERVICE_TYPE}._tcp.local`, 'PTR', (err) => {
    if (err) return unavailable(err);
    if (status !== 'starting') return;
    set('advertised');
    log.info(
      {
        name: info.instanceName,
        host: `${info.host}.local`,
        port,
        zone: info.zone,
        subzone: info.subzone,
      },
      `advertising _${SERVICE_TYPE}._tcp on the local network (mDNS)`,
    );
    for (const w of options.wyoming ?? []) {
      log.info(
        { name: w.name, host: `${info.host}.local`, port: w.port },
        `advertising _${WYOMING_SERVICE_TYPE}._tcp on the local network (mDNS)`,
      );
    }
  });

  let stopping: Promise<void> | undefined;
  return {
    get status() {
      return status;
    },
    settled,
    setWyoming(services) {
      if (status === 'stopped') return;
      const wanted = new Map(services.map((w) => [wyomingKey(w), w]));
      for (const [key, published] of wyoming) {
        if (wanted.has(key)) continue;
        wyoming.delete(key);
        published.stop?.();
      }
      for (const [key, w] of wanted) {
        if (wyoming.has(key)) continue;
        try {
          publishWyoming(w);
          log.info(
            { name: w.name, host: `${info.host}.local`, port: w.port },
            `advertising _${WYOMING_SERVICE_TYPE}._tcp on the local network (mDNS)`,
          );
        } catch (err) {
          unavailable(err);
        }
      }
    },
    stop() {
      stopping ??= new Promise<void>((resolve) => {
        set('stopped');
        const close = () => bonjour.destroy(() => resolve());
        // The goodbye goes out even while starting (the announcement may be out already); where
        // packets cannot be sent, its send fails at once and the socket closes all the same.
        if (service) bonjour.unpublishAll(close);
        else close();
      });
      return stopping;
    },
  };
}

interface ResourceRecord {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly data?: unknown;
}

/**
 * Without the package's probe, a second Echonet under the same instance name would hide one of the
 * two; this notices another machine's service record for our name (in the answers to our start-up
 * query, or its own announcement) and says so once.
 */
function watchForNameClash(info: DiscoveryInfo, port: number, log: DiscoveryLog) {
  const ours = `${info.instanceName.replace(/\./g, '-')}._${SERVICE_TYPE}._tcp.local`.toLowerCase();
  const ourTarget = `${info.host}.local`.toLowerCase();
  let reported = false;
  return (packet: { answers?: ResourceRecord[]; additionals?: ResourceRecord[] }) => {
    if (reported) return;
    for (const rr of [...(packet.answers ?? []), ...(packet.additionals ?? [])]) {
      if (rr.type !== 'SRV' || String(rr.name).toLowerCase() !== ours) continue;
      const srv = rr.data as { port?: unknown; target?: unknown } | undefined;
      const target = String(srv?.target ?? '').toLowerCase();
      if (srv?.port === port && target === ourTarget) continue;
      reported = true;
      log.warn(
        { name: info.instanceName, other: `${target}:${String(srv?.port)}` },
        `another service on the network is advertised as "${info.instanceName}"; browsers will ` +
          'see only one of the two: give each Echonet its own ECHONET_DISCOVERY_NAME',
      );
      return;
    }
  };
}
