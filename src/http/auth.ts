/**
 * API-key and admin-key checks. They run in onRequest, before the body is read, so a caller
 * without a key costs Echonet almost nothing.
 *
 * Every check is constant-time: the candidate is hashed with SHA-256 and its digest compared with
 * every accepted digest by timingSafeEqual, without stopping at a match, so the time depends on how
 * many keys there are, never on the candidate, its length or how much of it is right. There is no
 * per-connection shortcut: behind a proxy one connection carries many clients (a remembered key
 * compared with `===` would leak it to the next client by timing), and a revoked key must stop
 * working on a connection that is already open.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Forbidden, Unauthorized } from '../errors.js';
import { keyDigest } from '../store/keys.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Reachable without an API key (GET /health). */
    public?: boolean;
    /** Also needs the admin key when one is configured. */
    admin?: boolean;
    /** With `admin`: refused outright when no admin key is configured (key management). */
    adminKeyRequired?: boolean;
    /**
     * The API key may also come as `?key=` (GET /events/stream: a browser's EventSource cannot
     * send headers). The URL is redacted from logs (app.ts).
     */
    queryKey?: boolean;
  }
}

/** Compares two 32-byte digests; crypto.timingSafeEqual unless a test counts the calls. */
export type DigestEqual = (a: Buffer, b: Buffer) => boolean;

/** Where stored keys come from (the database's KeyStore). */
export interface KeySource {
  digests(): Buffer[];
}

/**
 * The accepted API keys: the fixed ones (environment or generated) and the stored ones, which are
 * read again on reload() (called when this process or another one changes them).
 */
export class ApiKeyRing {
  readonly #fixed: readonly Buffer[];
  readonly #stored: KeySource | undefined;
  #digests: readonly Buffer[];

  constructor(fixedKeys: readonly string[], stored?: KeySource) {
    this.#fixed = fixedKeys.map(keyDigest);
    this.#stored = stored;
    this.#digests = this.#read();
  }

  get digests(): readonly Buffer[] {
    return this.#digests;
  }

  /** Reads the stored keys again; if that fails, keeps the ones it had and rethrows. */
  reload(): void {
    this.#digests = this.#read();
  }

  #read(): readonly Buffer[] {
    return Object.freeze([...this.#fixed, ...(this.#stored?.digests() ?? [])]);
  }
}

/** True when `candidate` is one of the keys behind `digests`, in time independent of it. */
export function matchesAnyKey(
  digests: readonly Buffer[],
  candidate: string,
  equal: DigestEqual = timingSafeEqual,
): boolean {
  const d = keyDigest(candidate);
  let found = false;
  // equal() first, so every digest is compared whatever the ones before it said.
  for (const k of digests) found = equal(k, d) || found;
  return found;
}

export interface AuthOptions {
  /** Read on every request, so a reloaded ring applies to the next one. */
  readonly apiKeys: { readonly digests: readonly Buffer[] };
  readonly adminKey: string | undefined;
  readonly equal?: DigestEqual;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function queryKey(request: FastifyRequest): string | undefined {
  const v = (request.query as Record<string, unknown> | undefined)?.key;
  return typeof v === 'string' ? v : undefined;
}

export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  const { apiKeys, equal = timingSafeEqual } = options;
  const adminDigests = options.adminKey === undefined ? undefined : [keyDigest(options.adminKey)];

  // Callback style: an async hook costs a promise per request on the hottest path.
  app.addHook('onRequest', (request, _reply, done) => {
    const config = request.routeOptions.config;
    if (config.public) return done();
    const key = header(request, 'x-api-key') ?? (config.queryKey ? queryKey(request) : undefined);
    if (key === undefined) {
      return done(
        new Unauthorized(
          config.queryKey
            ? 'missing X-API-Key header or key parameter'
            : 'missing X-API-Key header',
        ),
      );
    }
    if (!matchesAnyKey(apiKeys.digests, key, equal)) {
      return done(new Unauthorized('invalid API key'));
    }
    if (config.adminKeyRequired && !adminDigests) {
      return done(
        new Forbidden(
          'this route needs ECHONET_ADMIN_KEY to be set on the server (or use `echonet keys` there)',
        ),
      );
    }
    if (config.admin && adminDigests) {
      const admin = header(request, 'x-admin-key');
      if (admin === undefined) return done(new Unauthorized('missing X-Admin-Key header'));
      if (!matchesAnyKey(adminDigests, admin, equal)) {
        return done(new Forbidden('invalid admin key'));
      }
    }
    done();
  });
}
