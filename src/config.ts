/**
 * All configuration: ECHONET_* environment variables, with a `.env` file in the working directory
 * as a fallback (a real environment variable always wins). Validated once, at start-up, into a
 * frozen Config; nothing else in Echonet reads the environment. What would otherwise be silently
 * ignored (a `.env` line that is not NAME=value, an ECHONET_* name that is no setting, usually a
 * typo) is reported through the caller's `warn`, one line each.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { closestName } from './closest-name.js';
import { ConfigError } from './errors.js';
import { targetName } from './target-name.js';
import { EVENT_LOG_LEVELS, type EventLogLevel } from './routing/decision-log.js';
import { DEFAULT_MATCH_OPTIONS } from './matching/matcher.js';
import { NAME_PATTERN } from './registration.js';
import {
  DEFAULT_MATCH_NAMES,
  MATCH_NAMES,
  parseMatchNames,
  type MatchNames,
} from './routing/name-rules.js';
import {
  ADDRESS_LIST_ACCEPTS,
  parseAddressList,
  parseAddressRule,
  ruleText,
  type AddressRule,
} from './address-list.js';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface Setting<T> {
  readonly env: string;
  /** What the variable accepts, in words: used in errors and the docs. */
  readonly accepts: string;
  readonly description: string;
  readonly fallback: T;
  /** Returns the value, or undefined when `raw` is not acceptable. */
  readonly parse: (raw: string) => T | undefined;
  /** A password: an error about the setting never repeats its value. */
  readonly secret?: boolean;
}

function setting<T>(s: Setting<T>): Setting<T> {
  return s;
}

const integer = (min: number, max: number) => (raw: string) => {
  if (!/^[+-]?\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= min && n <= max ? n : undefined;
};

const decimal =
  (min: number, max: number, { exclusiveMin = false } = {}) =>
  (raw: string) => {
    if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(raw)) return undefined;
    const n = Number(raw);
    const aboveMin = exclusiveMin ? n > min : n >= min;
    return aboveMin && n <= max ? n : undefined;
  };

const TRUE = new Set(['true', '1', 'yes', 'on']);
const FALSE = new Set(['false', '0', 'no', 'off']);
const boolean = (raw: string) => {
  const v = raw.toLowerCase();
  return TRUE.has(v) ? true : FALSE.has(v) ? false : undefined;
};

const nonEmpty = (raw: string) => (raw.trim() === '' ? undefined : raw);

const commaList = (raw: string) =>
  raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');

/** A comma list with at least one entry, each accepted by `entry`. */
const listOf =
  <T>(entry: (s: string) => T | undefined) =>
  (raw: string): readonly T[] | undefined => {
    const items = commaList(raw).map(entry);
    return items.length > 0 && items.every((i) => i !== undefined) ? (items as T[]) : undefined;
  };

// DNS-SD limits (RFC 6763): an instance name is one DNS label (63 bytes); a TXT string holds 255
// bytes, key and `=` included. Dots would be read as label separators by most browsers.
const hasControl = (s: string) =>
  [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

const dnsSdInstanceName = (raw: string) => {
  const name = raw.trim();
  return name !== '' && utf8Bytes(name) <= 63 && !name.includes('.') && !hasControl(name)
    ? name
    : undefined;
};

/** `echonet`, `echonet.local` and `echonet.local.` all mean the label `echonet`. */
const mdnsHostLabel = (raw: string) => {
  const label = raw.trim().replace(/\.local\.?$/i, '');
  return /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label) ? label : undefined;
};

const TXT_VALUE_ACCEPTS = 'text of 1 to 64 bytes without control characters';
const txtValue = (raw: string) => {
  const value = raw.trim();
  return value !== '' && utf8Bytes(value) <= 64 && !hasControl(value) ? value : undefined;
};

const PROXY_KEYWORDS = new Set(['loopback', 'linklocal', 'uniquelocal']);
/** Addresses and ranges (or proxy-addr's keywords) for Fastify's trustProxy; never host names. */
const proxyEntry = (s: string) => {
  if (PROXY_KEYWORDS.has(s.toLowerCase())) return s.toLowerCase();
  const rule = parseAddressRule(s);
  return rule === undefined || rule.kind === 'host' ? undefined : ruleText(rule);
};

/**
 * An extra Wyoming port and the target an utterance naming no assistant goes to there; written
 * back (GET /config, `.env`) as `port=target`.
 */
export class WyomingBinding {
  constructor(
    readonly port: number,
    readonly target: string,
  ) {}

  toString(): string {
    return `${this.port}=${this.target}`;
  }
}

/**
 * `10801=astraea,10802=echobell`: ports 1 to 65535, each once, and target names. Empty is no
 * bindings (through the config API, which can then override the variable with none).
 */
function wyomingBindings(raw: string): readonly WyomingBinding[] | undefined {
  if (raw.trim() === '') return [];
  const port = integer(1, 65535);
  const bindings = listOf((entry) => {
    const m = /^([^=]+)=(.+)$/.exec(entry);
    const p = m?.[1] === undefined ? undefined : port(m[1].trim());
    const target = m?.[2]?.trim().toLowerCase();
    return p === undefined || target === undefined || !NAME_PATTERN.test(target)
      ? undefined
      : new WyomingBinding(p, target);
  })(raw);
  if (bindings === undefined) return undefined;
  return new Set(bindings.map((b) => b.port)).size === bindings.length ? bindings : undefined;
}

/**
 * A source (a Wyoming satellite, a Hermes site) and the room it stands in; written back (GET
 * /config, `.env`) as `source=room`.
 */
export class SourceRoom {
  constructor(
    readonly source: string,
    readonly room: string,
  ) {}

  toString(): string {
    return `${this.source}=${this.room}`;
  }
}

export const SOURCE_ROOMS_ACCEPTS =
  'a comma-separated list of source=room (kitchen-mic=kitchen,hall-mic=kitchen), each source once, each side 1 to 64 characters without = or ,';

/**
 * `kitchen-mic=kitchen,hall-mic=kitchen`: source ids and rooms as the front ends send them (1 to
 * 64 characters, as POST /text takes them), each source once. Empty is none (through the config
 * API, which can then override the variable with none).
 */
function sourceRooms(raw: string): readonly SourceRoom[] | undefined {
  if (raw.trim() === '') return [];
  const entries = listOf((entry) => {
    const m = /^([^=]+)=([^=]+)$/.exec(entry);
    const source = m?.[1]?.trim();
    const room = m?.[2]?.trim();
    return source && room && source.length <= 64 && room.length <= 64
      ? new SourceRoom(source, room)
      : undefined;
  })(raw);
  if (entries === undefined) return undefined;
  return new Set(entries.map((e) => e.source)).size === entries.length ? entries : undefined;
}

/** A broker URL MQTT.js can connect to over TCP or TLS; anything else is a typo worth saying. */
function mqttUrl(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return undefined;
  }
  return (url.protocol === 'mqtt:' || url.protocol === 'mqtts:') && url.hostname !== ''
    ? raw.trim()
    : undefined;
}

const NUL = String.fromCharCode(0);

/** Topic levels for Echonet's own topics: no wildcards, NUL or empty level, no leading `$`. */
function topicPrefix(raw: string): string | undefined {
  const prefix = raw.trim();
  const levels = prefix.split('/');
  return prefix !== '' &&
    !prefix.startsWith('$') &&
    levels.every((l) => l !== '' && !/[+#]/.test(l) && !l.includes(NUL))
    ? prefix
    : undefined;
}

/** The settings, in the order the docs list them. */
export const SETTINGS = {
  host: setting({
    env: 'ECHONET_HOST',
    accepts: 'an interface address or host name',
    description: 'Address to listen on.',
    fallback: '0.0.0.0',
    parse: (raw) => (raw.trim() === '' ? undefined : raw.trim()),
  }),
  port: setting({
    env: 'ECHONET_PORT',
    accepts: 'an integer from 0 to 65535',
    description: 'TCP port to listen on (0 picks a free one).',
    fallback: 8123,
    parse: integer(0, 65535),
  }),
  wyomingPort: setting<number | undefined>({
    env: 'ECHONET_WYOMING_PORT',
    accepts: 'an integer from 0 to 65535 (10800 is the usual choice)',
    description:
      'TCP port of the Wyoming handle service Home Assistant adds as a conversation agent, on ECHONET_HOST (0 picks a free one). Wyoming has no keys: ECHONET_ALLOWLIST and ECHONET_RATE_LIMIT_PER_MIN apply to its connections. Unset: off.',
    fallback: undefined,
    parse: integer(0, 65535),
  }),
  wyomingBindings: setting<readonly WyomingBinding[] | undefined>({
    env: 'ECHONET_WYOMING_BINDINGS',
    accepts: 'a comma-separated list of port=target (10801=astraea,10802=echobell), each port once',
    description:
      'More Wyoming ports, each with its own default target (where an utterance naming no assistant goes) and its own `_wyoming._tcp` name: one per Home Assistant pipeline, so each wake word reaches its own assistant. Live: `wyoming_bindings` in PUT /config.',
    fallback: undefined,
    parse: wyomingBindings,
  }),
  wyomingIdleTimeoutS: setting({
    env: 'ECHONET_WYOMING_IDLE_TIMEOUT_S',
    accepts: 'a number of seconds greater than 0 and at most 3600',
    description:
      'A Wyoming connection that sends nothing for this long is closed (the wait for an assistant’s answer does not count).',
    fallback: 30,
    parse: decimal(0, 3600, { exclusiveMin: true }),
  }),
  mqttUrl: setting<string | undefined>({
    env: 'ECHONET_MQTT_URL',
    accepts: 'an mqtt:// or mqtts:// URL with a host (mqtt://broker.lan:1883)',
    description:
      'The MQTT broker Echonet joins as a front end: Hermes `hermes/asr/textCaptured` and its own `<prefix>/text` in; decisions, Hermes session events and `hermes/tts/say` out (README: Use with Rhasspy / MQTT). A broker that is down is retried with backoff; HTTP and Wyoming serve meanwhile. Unset: off.',
    fallback: undefined,
    parse: mqttUrl,
  }),
  mqttUsername: setting<string | undefined>({
    env: 'ECHONET_MQTT_USERNAME',
    accepts: 'a non-empty string',
    description: 'User name for the MQTT broker. Unset: none (or the one in ECHONET_MQTT_URL).',
    fallback: undefined,
    parse: nonEmpty,
  }),
  mqttPassword: setting<string | undefined>({
    env: 'ECHONET_MQTT_PASSWORD',
    accepts: 'a non-empty string',
    description: 'Password for the MQTT broker; never logged. Unset: none.',
    fallback: undefined,
    parse: nonEmpty,
    secret: true,
  }),
  mqttClientId: setting<string | undefined>({
    env: 'ECHONET_MQTT_CLIENT_ID',
    accepts: 'text of 1 to 23 letters, digits, - or _',
    description:
      'The MQTT client id (one per Echonet on a broker: a second one with the same id pushes the first off). Unset: `echonet-` and random characters.',
    fallback: undefined,
    parse: (raw) => (/^[A-Za-z0-9_-]{1,23}$/.test(raw.trim()) ? raw.trim() : undefined),
  }),
  mqttTopicPrefix: setting({
    env: 'ECHONET_MQTT_TOPIC_PREFIX',
    accepts: 'one or more topic levels separated by /, without +, # or empty levels',
    description:
      'The first levels of Echonet’s own topics: `<prefix>/text` in, `<prefix>/decision/<source_id>` out.',
    fallback: 'echonet',
    parse: topicPrefix,
  }),
  apiKey: setting<string | undefined>({
    env: 'ECHONET_API_KEY',
    accepts: 'a non-empty string (use 32 random characters or more)',
    description:
      'Key every client sends as X-API-Key. Unset: Echonet generates one on first start, keeps it in the database and prints it once.',
    fallback: undefined,
    parse: nonEmpty,
  }),
  apiKeys: setting<readonly string[] | undefined>({
    env: 'ECHONET_API_KEYS',
    accepts: 'a comma-separated list of keys (each 32 random characters or more)',
    description:
      'More keys accepted as X-API-Key, alongside ECHONET_API_KEY. Keys added with `echonet keys add` or POST /keys are accepted too, and rotate without a restart.',
    fallback: undefined,
    parse: listOf(nonEmpty),
  }),
  adminKey: setting<string | undefined>({
    env: 'ECHONET_ADMIN_KEY',
    accepts: 'a non-empty string (use 32 random characters or more)',
    description:
      'When set, the admin routes (POST /register, DELETE /targets/{name}, the /keys routes) also need it as X-Admin-Key. Unset: the /keys routes are refused (use `echonet keys`).',
    fallback: undefined,
    parse: nonEmpty,
  }),
  allowlist: setting<readonly AddressRule[] | undefined>({
    env: 'ECHONET_ALLOWLIST',
    accepts: ADDRESS_LIST_ACCEPTS,
    description:
      'Only these clients may talk to Echonet (others get 403). Host names are resolved at start-up and every minute. Unset: any client.',
    fallback: undefined,
    parse: parseAddressList,
  }),
  trustProxy: setting<readonly string[] | undefined>({
    env: 'ECHONET_TRUST_PROXY',
    accepts:
      'a comma-separated list of IP addresses or CIDR ranges (or loopback, linklocal, uniquelocal)',
    description:
      'Reverse proxies whose X-Forwarded-For is believed; the client address is then the one the proxy saw. Unset: the header is ignored.',
    fallback: undefined,
    parse: listOf(proxyEntry),
  }),
  rateLimitPerMin: setting<number | undefined>({
    env: 'ECHONET_RATE_LIMIT_PER_MIN',
    accepts: 'an integer from 1 to 1000000',
    description:
      'Requests per minute one client (an IPv4 address, or an IPv6 network: ECHONET_RATE_LIMIT_IPV6_PREFIX) may make, malformed URLs included (then 429 with Retry-After). Unset: no limit.',
    fallback: undefined,
    parse: integer(1, 1_000_000),
  }),
  adminRateLimitPerMin: setting<number | undefined>({
    env: 'ECHONET_ADMIN_RATE_LIMIT_PER_MIN',
    accepts: 'an integer from 1 to 1000000',
    description:
      'Requests per minute one client address may make to the admin routes (POST /register, DELETE /targets/{name}, the /keys routes), counted apart from ECHONET_RATE_LIMIT_PER_MIN. Unset: they share the general limit.',
    fallback: undefined,
    parse: integer(1, 1_000_000),
  }),
  rateLimitIpv6Prefix: setting({
    env: 'ECHONET_RATE_LIMIT_IPV6_PREFIX',
    accepts: 'an integer from 1 to 128',
    description:
      'IPv6 clients are rate-limited per network of this prefix length, since one home (or one attacker) holds a whole /64; 128 counts every address apart. IPv4 clients, IPv4-mapped ones included, are counted per address.',
    fallback: 64,
    parse: integer(1, 128),
  }),
  targetHosts: setting<readonly AddressRule[] | undefined>({
    env: 'ECHONET_TARGET_HOSTS',
    accepts: ADDRESS_LIST_ACCEPTS,
    description:
      'Hosts a target base_url may name (names are compared as written, not resolved). Unset: any host.',
    fallback: undefined,
    parse: parseAddressList,
  }),
  dbPath: setting({
    env: 'ECHONET_DB_PATH',
    accepts: 'a file path',
    description: 'SQLite registry file; parent folders are created.',
    fallback: 'echonet_registry.db',
    parse: nonEmpty,
  }),
  sessionTimeoutS: setting({
    env: 'ECHONET_SESSION_TIMEOUT_S',
    accepts: 'a number of seconds greater than 0 and at most 86400',
    description: 'How long a conversation stays open after its last utterance.',
    fallback: 25,
    parse: decimal(0, 86_400, { exclusiveMin: true }),
  }),
  cancelPhrases: setting({
    env: 'ECHONET_CANCEL_PHRASES',
    accepts: 'a comma-separated list of phrases',
    description:
      'Phrases that, said alone or ending an utterance, end the speaker’s session without forwarding anything.',
    fallback: ['cancel', 'never mind', 'nevermind', 'stop listening'] as readonly string[],
    parse: (raw) => commaList(raw),
  }),
  forwardStripTrigger: setting({
    env: 'ECHONET_FORWARD_STRIP_TRIGGER',
    accepts: 'true or false',
    description: 'Remove the wake phrase from the text forwarded to the target.',
    fallback: true,
    parse: boolean,
  }),
  activeTimeoutS: setting({
    env: 'ECHONET_ACTIVE_TIMEOUT_S',
    accepts: 'a number of seconds greater than 0 and at most 86400',
    description:
      'How long the active listen mode (set with PUT /state) waits for an utterance to deliver before it goes back to trigger by itself.',
    fallback: 30,
    parse: decimal(0, 86_400, { exclusiveMin: true }),
  }),
  initialListenMode: setting<'trigger' | 'inactive'>({
    env: 'ECHONET_INITIAL_LISTEN_MODE',
    accepts: 'trigger or inactive (active needs a target to ask for it: PUT /state)',
    description:
      'Listen mode applied at start-up (logged with source startup when it changes the stored one); inactive routes nothing until changed.',
    fallback: 'trigger',
    parse: (raw) => {
      const v = raw.trim().toLowerCase();
      return v === 'trigger' || v === 'inactive' ? v : undefined;
    },
  }),
  httpTimeoutS: setting({
    env: 'ECHONET_HTTP_TIMEOUT_S',
    accepts: 'a number of seconds greater than 0 and at most 300',
    // The slack is DEADLINE_SLACK_MS in src/delivery/deadlines.ts (a test keeps the two equal).
    description:
      'Time a target has to answer a forwarded utterance, body included; a forward still unfinished then ends as timeout at most 10 ms later (plus any time the event loop is busy).',
    fallback: 3.0,
    parse: decimal(0, 300, { exclusiveMin: true }),
  }),
  targetMaxInflight: setting({
    env: 'ECHONET_TARGET_MAX_INFLIGHT',
    accepts: 'an integer from 1 to 10000',
    description:
      'Most forwards to one target at once (and connections to it); more fail at once with reason target_busy.',
    fallback: 32,
    parse: integer(1, 10_000),
  }),
  breakerFailures: setting({
    env: 'ECHONET_BREAKER_FAILURES',
    accepts: 'an integer from 0 to 1000 (0 turns the breaker off)',
    description:
      'Consecutive failed forwards after which a target is skipped (reason target_unavailable) for the cool-down.',
    fallback: 5,
    parse: integer(0, 1000),
  }),
  breakerCooldownS: setting({
    env: 'ECHONET_BREAKER_COOLDOWN_S',
    accepts: 'a number of seconds greater than 0 and at most 3600',
    description:
      'How long a failing target is skipped before one request probes it again; success resumes forwarding.',
    fallback: 10,
    parse: decimal(0, 3600, { exclusiveMin: true }),
  }),
  fallbackTarget: setting<string | null>({
    env: 'ECHONET_FALLBACK_TARGET',
    accepts:
      "a registered target's name (1-32 characters of a-z, 0-9, '_' or '-'), or empty for none",
    description:
      'When the chosen target fails (timeout, refused, 5xx, breaker open), the utterance goes once to this target instead, with `mode: "fallback"` and `intended_target`. Unset: no fallback.',
    fallback: null,
    // Empty means none, so `PUT /config/fallback_target` can turn off a fallback the environment set.
    parse: (raw) => (raw.trim() === '' ? null : targetName(raw)),
  }),
  logLevel: setting<LogLevel>({
    env: 'ECHONET_LOG_LEVEL',
    accepts: `one of ${LOG_LEVELS.join(', ')}`,
    description: 'Log verbosity (JSON lines on stdout).',
    fallback: 'info',
    parse: (raw) => LOG_LEVELS.find((l) => l === raw.toLowerCase()),
  }),
  discoveryEnabled: setting({
    env: 'ECHONET_DISCOVERY_ENABLED',
    accepts: 'true or false',
    description:
      'Advertise Echonet on the local network by mDNS/DNS-SD as `_echonet._tcp` (not while ECHONET_HOST is a loopback address, which no other machine can reach).',
    fallback: true,
    parse: boolean,
  }),
  discoveryName: setting({
    env: 'ECHONET_DISCOVERY_NAME',
    accepts: 'a name of 1 to 63 bytes without dots or control characters',
    description: 'The instance name browsers show; give each Echonet on one network its own.',
    fallback: 'Echonet',
    parse: dnsSdInstanceName,
  }),
  discoveryHost: setting<string | undefined>({
    env: 'ECHONET_DISCOVERY_HOST',
    accepts: 'a host name of letters, digits and hyphens (1 to 63; `.local` is added)',
    description:
      'The `.local` name the advertisement points at (Echonet answers for it with this machine’s addresses). Unset: this machine’s host name.',
    fallback: undefined,
    parse: mdnsHostLabel,
  }),
  discoveryZone: setting({
    env: 'ECHONET_DISCOVERY_ZONE',
    accepts: TXT_VALUE_ACCEPTS,
    description: 'The zone (house, site) advertised in the `zone` TXT record and the handshake.',
    fallback: 'home',
    parse: txtValue,
  }),
  discoverySubzone: setting<string | undefined>({
    env: 'ECHONET_DISCOVERY_SUBZONE',
    accepts: TXT_VALUE_ACCEPTS,
    description:
      'The part of the zone (floor, room) advertised in the `subzone` TXT record and the handshake. Unset: empty.',
    fallback: undefined,
    parse: txtValue,
  }),
  matchFuzzy: setting({
    env: 'ECHONET_MATCH_FUZZY',
    accepts: 'true or false',
    description: 'Accept misheard wake phrases (close spelling or same sound).',
    fallback: DEFAULT_MATCH_OPTIONS.fuzzy,
    parse: boolean,
  }),
  matchMinScore: setting({
    env: 'ECHONET_MATCH_MIN_SCORE',
    accepts: 'a number from 0 to 1',
    description: 'Fuzzy matches scoring below this are ignored.',
    // Tuned on test/fixtures/utterances.jsonl: at 0.8 "hey doormat" wakes "hey doorman".
    fallback: DEFAULT_MATCH_OPTIONS.minScore,
    parse: decimal(0, 1),
  }),
  matchNames: setting<MatchNames>({
    env: 'ECHONET_MATCH_NAMES',
    accepts: `one of ${MATCH_NAMES.join(', ')}`,
    description:
      'Where a target’s name at the start of an utterance wakes it like a wake phrase: wyoming for utterances from Wyoming only (a wake word was heard upstream), all for every front end, off nowhere.',
    fallback: DEFAULT_MATCH_NAMES,
    parse: parseMatchNames,
  }),
  defaultTarget: setting({
    env: 'ECHONET_DEFAULT_TARGET',
    accepts: 'a target name (1 to 32 of a-z, 0-9, _ or -), or empty for none',
    description:
      'Where an utterance with no wake phrase and no open conversation goes (it opens one), instead of nowhere. A name not registered routes nowhere, with one warning.',
    // Empty, not unset: a value stored through the config API can then turn it off.
    fallback: '',
    parse: (raw) => {
      const name = raw.trim().toLowerCase();
      return name === '' || NAME_PATTERN.test(name) ? name : undefined;
    },
  }),
  sourceRooms: setting<readonly SourceRoom[] | undefined>({
    env: 'ECHONET_SOURCE_ROOMS',
    accepts: SOURCE_ROOMS_ACCEPTS,
    description:
      'The room of each source whose front end sends none (Wyoming satellites, Hermes sites); an utterance’s own `room` wins. Utterances from one room share duplicate-wake arbitration and echo suppression. Live: `source_rooms` in PUT /config.',
    fallback: undefined,
    parse: sourceRooms,
  }),
  arbitrationWindowMs: setting({
    env: 'ECHONET_ARBITRATION_WINDOW_MS',
    accepts: 'an integer from 0 to 5000',
    description:
      'How long a wake in a room with more than one known source waits for the same wake from the others; only the most complete is forwarded (the others answer `duplicate_wake`). A room with one known source never waits. 0: off. Live: `arbitration_window_ms`.',
    fallback: 300,
    parse: integer(0, 5000),
  }),
  echoWindowS: setting({
    env: 'ECHONET_ECHO_WINDOW_S',
    accepts: 'a number of seconds from 0 to 600',
    description:
      'For this long after a reply is handed back to a room, an utterance there that is mostly that reply is dropped (`echo_of_reply`): a microphone hearing the assistant speak. 0: off. Live: `echo_window_s`.',
    fallback: 8,
    parse: decimal(0, 600),
  }),
  eventLog: setting<EventLogLevel>({
    env: 'ECHONET_EVENT_LOG',
    accepts: `one of ${EVENT_LOG_LEVELS.join(', ')}`,
    description:
      'The decision log (GET /events, `echonet events`): full keeps what was heard; metadata keeps every decision without the text or the matched words; off keeps nothing and streams nothing.',
    fallback: 'full',
    parse: (raw) => EVENT_LOG_LEVELS.find((l) => l === raw.trim().toLowerCase()),
  }),
  eventRetentionDays: setting({
    env: 'ECHONET_EVENT_RETENTION_DAYS',
    accepts: 'an integer from 1 to 36500',
    description: 'Decision-log rows older than this many days are deleted.',
    fallback: 30,
    parse: integer(1, 36_500),
  }),
  eventMaxRows: setting({
    env: 'ECHONET_EVENT_MAX_ROWS',
    accepts: 'an integer from 1 to 100000000',
    description: 'The decision log keeps at most this many rows; the oldest go first.',
    fallback: 100_000,
    parse: integer(1, 100_000_000),
  }),
  metricsPublic: setting({
    env: 'ECHONET_METRICS_PUBLIC',
    accepts: 'true or false',
    description:
      'Serve GET /metrics (Prometheus) without an API key, for a scraper that cannot send headers. The allowlist still applies.',
    fallback: false,
    parse: boolean,
  }),
};

type Settings = typeof SETTINGS;
export type Config = {
  readonly [K in keyof Settings]: Settings[K]['fallback'];
};

export type Env = Readonly<Record<string, string | undefined>>;

export interface LoadOptions {
  /** Where `.env` is looked for (default: the working directory). */
  readonly cwd?: string;
  /** The `.env` file to read instead, or false for none. */
  readonly envFile?: string | false;
  /** Receives each warning (one line, no trailing newline); default: warnings are dropped. */
  readonly warn?: (message: string) => void;
}

/**
 * Builds the Config from `env`, falling back to `<cwd>/.env` when that file exists.
 * Throws ConfigError naming the first bad variable and what it accepts.
 */
export function loadConfig(env: Env, options: LoadOptions = {}): Config {
  return loadSettings(env, options).config;
}

export interface LoadedConfig {
  readonly config: Config;
  /** The settings given by a variable (environment or `.env`); the others hold their default. */
  readonly fromEnv: ReadonlySet<keyof Config>;
}

/** loadConfig, also saying which settings a variable gave (GET /config reports the origin). */
export function loadSettings(env: Env, options: LoadOptions = {}): LoadedConfig {
  const warn = options.warn ?? (() => undefined);
  for (const name of Object.keys(env)) {
    const unknown = unknownSettingWarning(name);
    if (unknown !== undefined) warn(`environment: ${unknown}`);
  }
  const fileValues =
    options.envFile === false
      ? {}
      : readEnvFile(options.envFile ?? resolve(options.cwd ?? '.', '.env'), warn);
  const values: Record<string, unknown> = {};
  const fromEnv = new Set<keyof Config>();
  for (const [key, s] of Object.entries(SETTINGS) as [keyof Settings, Setting<unknown>][]) {
    const raw = env[s.env] ?? fileValues[s.env];
    if (raw === undefined || (raw === '' && s.fallback === undefined)) {
      values[key] = s.fallback;
      continue;
    }
    const parsed = s.parse(raw);
    if (parsed === undefined) {
      const shown = s.secret ? '(the value is not shown)' : JSON.stringify(raw);
      throw new ConfigError(`${s.env}=${shown} is invalid: expected ${s.accepts}`);
    }
    values[key] = parsed;
    fromEnv.add(key);
  }
  return { config: Object.freeze(values) as Config, fromEnv };
}

const SETTING_NAMES: readonly string[] = Object.values(SETTINGS).map((s) => s.env);

/** For a name that looks like ours (ECHONET_*, any case) but is no setting: what to say. */
function unknownSettingWarning(name: string): string | undefined {
  const upper = name.toUpperCase();
  if (!upper.startsWith('ECHONET_') || SETTING_NAMES.includes(name)) return undefined;
  const closest = closestName(upper, SETTING_NAMES);
  return `${name} is not an Echonet setting and is ignored; did you mean ${closest}?`;
}

function readEnvFile(path: string, warn: (message: string) => void): Record<string, string> {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`cannot read ${path}: ${(err as Error).message}`);
  }
  for (const { line, message } of envFileProblems(content))
    warn(`${path} line ${line}: ${message}`);
  return parseDotenv(content);
}

/** `NAME=value` (or dotenv's `NAME: value`), optionally after `export`; the value may be quoted. */
const ENV_LINE = /^(?:export\s+)?([\w.-]+)(?:\s*=|:\s)\s*(.*)$/;

/**
 * The lines dotenv would skip without a word, and the ECHONET_* names that are no setting. Only
 * finds problems: the values themselves are read by dotenv, whose rules this follows (comments,
 * blank lines, quoted values that run over several lines).
 */
export function envFileProblems(content: string): { line: number; message: string }[] {
  const problems: { line: number; message: string }[] = [];
  const lines = content.replace(/^\uFEFF/, '').split(/\r?\n/);
  let openQuote: string | undefined;
  lines.forEach((text, i) => {
    if (openQuote !== undefined) {
      if (closingQuoteAt(text, openQuote, 0) >= 0) openQuote = undefined;
      return;
    }
    const trimmed = text.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const m = ENV_LINE.exec(trimmed);
    if (!m) {
      // The line itself is not repeated: it may hold a secret.
      problems.push({ line: i + 1, message: 'not NAME=value; the line is ignored' });
      return;
    }
    const [, name = '', value = ''] = m;
    const quote = value[0];
    // A quoted value runs on to the line holding its closing quote; without one, dotenv reads
    // this line alone.
    if (
      (quote === '"' || quote === "'" || quote === '`') &&
      closingQuoteAt(value, quote, 1) < 0 &&
      lines.slice(i + 1).some((later) => closingQuoteAt(later, quote, 0) >= 0)
    ) {
      openQuote = quote;
    }
    const unknown = unknownSettingWarning(name);
    if (unknown !== undefined) problems.push({ line: i + 1, message: unknown });
  });
  return problems;
}

/** Index of the first `quote` at or after `from` not escaped by a backslash, or -1. */
function closingQuoteAt(text: string, quote: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === quote) return i;
  }
  return -1;
}

/** The `.env.example` text, generated from SETTINGS so the docs never drift from the code. */
export function envExample(): string {
  const lines = [
    '# Echonet configuration. Copy to .env and edit; real environment variables win.',
    '',
  ];
  for (const s of Object.values(SETTINGS) as Setting<unknown>[]) {
    lines.push(`# ${s.description}`, `# Accepts ${s.accepts}.`);
    const fallback = Array.isArray(s.fallback) ? s.fallback.join(',') : s.fallback;
    lines.push(fallback == null ? `# ${s.env}=` : `# ${s.env}=${String(fallback)}`, '');
  }
  return lines.join('\n');
}

/** The README's configuration table, generated from SETTINGS like `.env.example`. */
export function configTable(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const rows = ['| Variable | Default | Accepts | What it does |', '| --- | --- | --- | --- |'];
  for (const s of Object.values(SETTINGS) as Setting<unknown>[]) {
    const fallback =
      s.fallback == null || s.fallback === ''
        ? 'unset'
        : `\`${Array.isArray(s.fallback) ? s.fallback.join(',') : String(s.fallback)}\``;
    rows.push(`| \`${s.env}\` | ${fallback} | ${cell(s.accepts)} | ${cell(s.description)} |`);
  }
  return rows.join('\n');
}
