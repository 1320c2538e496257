/** An Echonet app with its Wyoming handle service listening on 127.0.0.1, for the Wyoming tests. */
import { startTestApp, type TestApp, type TestAppOptions } from '../helpers/app.js';
import type { Listening } from '../../src/wyoming/server.js';

export interface WyomingApp extends TestApp {
  /** The main Wyoming port. */
  readonly port: number;
  readonly listening: readonly Listening[];
}

export async function startWyomingApp(
  env: Record<string, string> = {},
  options: TestAppOptions & { bindings?: { port: number; target: string }[] } = {},
): Promise<WyomingApp> {
  const t = await startTestApp(env, options);
  const listening = await t.app.wyoming.listen({
    host: '127.0.0.1',
    port: 0,
    bindings: options.bindings ?? [],
  });
  return { ...t, port: listening[0]?.port ?? 0, listening };
}
