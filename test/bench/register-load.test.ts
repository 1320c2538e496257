/**
 * The registrations of the register-load scenario (bench/lib/register-load.ts) and the event-loop
 * preload it measures with (bench/lib/loop-delay.mjs).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { validateRegistration, type RegistrationInput } from '../../src/registration.js';
import { registration, REGISTRATIONS } from '../../bench/lib/register-load.js';
import { syntheticRegistry } from '../../bench/lib/registry.js';
import { phraseClashes } from '../helpers/phrase-clashes.js';
import { tempDir } from '../helpers/temp.js';

const STUB = 'http://127.0.0.1:9';
const PRELOAD = fileURLToPath(new URL('../../bench/lib/loop-delay.mjs', import.meta.url));

describe('register-load registrations', () => {
  const seeded = syntheticRegistry(100_000, STUB);
  const bodies = Array.from(
    { length: REGISTRATIONS },
    (_, k) => JSON.parse(registration(k, seeded, STUB)) as RegistrationInput,
  );

  it('are valid registrations, half new targets and half existing ones with changed phrases', () => {
    const names = new Set(seeded.map((t) => t.name));
    const targets = bodies.map((b) => validateRegistration(b, 'body'));
    const existing = targets.filter((t) => names.has(t.name));
    expect(existing.length).toBe(REGISTRATIONS / 2);
    expect(new Set(targets.map((t) => t.name)).size).toBe(REGISTRATIONS);
    for (const t of existing) {
      const before = seeded.find((s) => s.name === t.name)!;
      expect(t.phrases).not.toEqual(before.phrases);
    }
    expect(existing.some((t) => t.name === seeded[0]!.name)).toBe(false);
  });

  it('never conflict with the seeded registry or with each other', () => {
    const byName = new Map(seeded.map((t) => [t.name, t]));
    for (const b of bodies) {
      const t = validateRegistration(b, 'body');
      byName.set(t.name, t);
    }
    expect(phraseClashes([...byName.values()])).toEqual([]);
  });
});

describe('bench/lib/loop-delay.mjs', () => {
  it('reports, on SIGUSR2, the longest time the event loop was kept from running', async () => {
    const file = join(tempDir(), 'delay.json');
    // Once its loop runs, blocks it for 200 ms, then idles until signalled twice. The block is
    // timed with performance.now(): Date.now()'s whole milliseconds could end it up to 1 ms early,
    // and the 1 ms histogram tick may see up to 1 ms less than the block; hence 190, not 200.
    const script =
      'setTimeout(() => { const t = performance.now(); while (performance.now() - t < 200); ' +
      'setTimeout(() => console.log("blocked"), 20); }, 50); setInterval(() => {}, 1000);';
    const child = spawn(process.execPath, ['--import', PRELOAD, '-e', script], {
      env: { ...process.env, BENCH_LOOP_DELAY_FILE: file },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve) =>
        child.stdout.on('data', (d: Buffer) => d.toString().includes('blocked') && resolve()),
      );
      const report = async (seq: number) => {
        child.kill('SIGUSR2');
        for (;;) {
          if (existsSync(file)) {
            const r = JSON.parse(readFileSync(file, 'utf8')) as { seq: number; maxMs: number };
            if (r.seq === seq) return r;
          }
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      expect((await report(1)).maxMs).toBeGreaterThanOrEqual(190);
      // Each report starts afresh: the 200 ms block is not reported twice.
      expect((await report(2)).maxMs).toBeLessThan(190);
    } finally {
      child.kill();
    }
  });
});
