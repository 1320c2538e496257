/**
 * A test app on a real socket (127.0.0.1, a free port), spoken to over HTTP by undici the way a
 * front end would: real parsing, real connections, real keep-alive. End-to-end tests use this;
 * `inject()` (app.ts) is for the rest.
 */
import type { AddressInfo } from 'node:net';
import { Client, type Dispatcher } from 'undici';
import { API_KEY, startTestApp, type TestApp, type TestAppOptions } from './app.js';

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- like inject()'s json()
  json<T = any>(): T;
}

/** The request options the tests use, in inject()'s words; an object payload is sent as JSON. */
export interface HttpRequest {
  readonly method?: Dispatcher.HttpMethod;
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly payload?: unknown;
}

export interface ListeningApp extends Pick<TestApp, 'app' | 'store' | 'clock' | 'config'> {
  readonly url: string;
  /** One HTTP request with the API key (and admin key, if configured) already set. */
  request(options: HttpRequest): Promise<HttpResponse>;
  /** Closes the client's connections, then the app and its database. */
  close(): Promise<void>;
}

export async function startListeningApp(
  env: Record<string, string> = {},
  options: TestAppOptions = {},
): Promise<ListeningApp> {
  const t = await startTestApp(env, options);
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = t.app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const client = new Client(url);
  return {
    app: t.app,
    store: t.store,
    clock: t.clock,
    config: t.config,
    url,
    async request(options) {
      const json = options.payload !== undefined && typeof options.payload !== 'string';
      const headers: Record<string, string> = {
        'x-api-key': API_KEY,
        ...(t.config.adminKey !== undefined && { 'x-admin-key': t.config.adminKey }),
        ...(json && { 'content-type': 'application/json' }),
        ...options.headers,
      };
      const res = await client.request({
        method: options.method ?? 'GET',
        path: options.url,
        headers,
        body: json ? JSON.stringify(options.payload) : (options.payload as string | undefined),
      });
      const body = await res.body.text();
      return {
        statusCode: res.statusCode,
        headers: res.headers,
        body,
        json: () => JSON.parse(body),
      };
    },
    async close() {
      await client.close();
      await t.close();
    },
  };
}
