/**
 * Talking to Echonet: every call sends the API key (and the admin key, if given) as headers.
 * The keys live in session storage only: gone when the tab closes, never in local storage.
 */
import { ApiError } from './errors.js';

export { ApiError, fieldOf } from './errors.js';

export interface Keys {
  readonly apiKey: string;
  readonly adminKey?: string;
}

const STORAGE = 'echonet.console.keys';

export function loadKeys(): Keys | undefined {
  try {
    const raw = sessionStorage.getItem(STORAGE);
    if (!raw) return undefined;
    const keys = JSON.parse(raw) as Keys;
    return typeof keys.apiKey === 'string' && keys.apiKey !== '' ? keys : undefined;
  } catch {
    return undefined;
  }
}

export function saveKeys(keys: Keys): void {
  sessionStorage.setItem(STORAGE, JSON.stringify(keys));
}

export function clearKeys(): void {
  sessionStorage.removeItem(STORAGE);
}

export class Api {
  constructor(
    readonly keys: Keys,
    /** Called on a 401 (the key stopped working, e.g. it was revoked): back to sign-in. */
    private readonly onUnauthorized: (message: string) => void = () => {},
  ) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { 'x-api-key': this.keys.apiKey };
    if (this.keys.adminKey) headers['x-admin-key'] = this.keys.adminKey;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch {
      throw new ApiError(0, 'Echonet did not answer: is it running, and is this its address?');
    }
    const json = (await res.json().catch(() => null)) as { error?: unknown } | null;
    if (!res.ok) {
      const message =
        json && typeof json.error === 'string' ? json.error : `HTTP ${res.status} from ${path}`;
      // A change refused for want of the admin key is not a reason to sign out.
      if (/admin key/i.test(message) && (res.status === 401 || res.status === 403)) {
        throw new ApiError(
          res.status,
          `${message}: this change needs the admin key; sign out and sign in with it`,
        );
      }
      if (res.status === 401) this.onUnauthorized(message);
      throw new ApiError(res.status, message);
    }
    return json as T;
  }

  /** The live feed's URL: EventSource cannot send headers, so the key goes as `?key=`. */
  streamUrl(path: string): string {
    const sep = path.includes('?') ? '&' : '?';
    return `${path}${sep}key=${encodeURIComponent(this.keys.apiKey)}`;
  }
}

/** A message for anything thrown by a call. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
