/** Saying something to a test app over POST /text, and reading the decision log's row for it. */
import { expect } from 'vitest';
import type { TestApp } from './app.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON bodies, checked field by field
export type Json = any;

/** POST /text from `source_id` (with `extra` fields: room, confidence…); fails unless 200. */
export async function say(
  t: TestApp,
  source_id: string,
  text: string,
  extra: Record<string, unknown> = {},
): Promise<Json> {
  const res = await t.request({
    method: 'POST',
    url: '/text',
    payload: { source_id, text, ...extra },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

/** The logged event for an answer's event_id, once the log (which writes in batches) has it. */
export { loggedEvent as logged } from './logged.js';
