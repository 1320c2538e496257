/** Small helpers shared by the reliability tests: talking to a real server and checking its file. */
import Database from 'better-sqlite3';
import { request } from 'undici';

export const API_KEY = 'reliability-api-key-0123456789abcdef';

export interface ApiResponse {
  readonly status: number;
  readonly body: string;
  json<T = Record<string, unknown>>(): T;
}

/** One request to a running `echonet serve`, with the API key; network errors are thrown. */
export async function api(
  baseUrl: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  payload?: unknown,
): Promise<ApiResponse> {
  const res = await request(`${baseUrl}${path}`, {
    method,
    headers: {
      'x-api-key': API_KEY,
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: payload === undefined ? undefined : JSON.stringify(payload),
  });
  const body = await res.body.text();
  return { status: res.statusCode, body, json: <T>() => JSON.parse(body) as T };
}

/** `PRAGMA integrity_check` on the file, through a connection of its own ("ok" when sound). */
export function integrityCheck(dbPath: string): string {
  const db = new Database(dbPath, { fileMustExist: true, timeout: 10_000 });
  try {
    const rows = db.pragma('integrity_check', { simple: false }) as { integrity_check: string }[];
    return rows.map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

export interface TargetJson {
  name: string;
  base_url: string;
  listen_url: string;
  phrases: string[];
  health?: Record<string, unknown>;
}

/** GET /targets. */
export async function listTargets(baseUrl: string): Promise<TargetJson[]> {
  const res = await api(baseUrl, 'GET', '/targets');
  if (res.status !== 200) throw new Error(`GET /targets: ${res.status} ${res.body}`);
  return res.json<{ targets: TargetJson[] }>().targets;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The phrase register-storm.ts registers for `name`: its own words, so no two ever conflict. */
export function stormPhrase(name: string): string {
  return `storm ${name.replace(/[-_]/g, ' ')}`;
}
