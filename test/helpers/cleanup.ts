/**
 * Cleanup that runs when a test file is done, whether the thing to clean up was made while the file
 * was collected (top level, describe) or inside a running test or beforeEach. Vitest attaches an
 * `afterAll` called inside a running test to a suite that has already run, so it never runs: before
 * this helper, each `npm test` left about 440 temp folders and 20 Mosquitto brokers behind.
 */
import { afterAll } from 'vitest';

const pending: (() => unknown)[] = [];

// Registered when a test file first imports this module, that is while the file is collected, so
// it belongs to the file. Vitest runs after-hooks as a stack: this one, registered first, runs after
// the file's own afterAll hooks.
afterAll(async () => {
  const errors: unknown[] = [];
  // Last made, first undone: a server closes before the folder holding its database goes.
  for (let fn = pending.pop(); fn; fn = pending.pop()) {
    try {
      await fn();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} cleanups failed`);
});

/** Runs `fn` when the current test file's tests are done (in reverse order of registration). */
export function afterFile(fn: () => unknown): void {
  pending.push(fn);
}
