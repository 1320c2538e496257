/**
 * Global setup for `npm run test:reliability`: gives the tests a folder to write their figures in
 * (see figures.ts) and prints them as one table when the run ends.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { Figures } from './figures.js';

declare module 'vitest' {
  export interface ProvidedContext {
    reliabilityFiguresDir: string;
  }
}

const COLUMNS: readonly [keyof Figures, string][] = [
  ['requests', 'requests sent'],
  ['status5xx', '5xx seen'],
  ['locked', '"database is locked"'],
  ['acknowledged', 'acknowledged writes'],
  ['found', 'found after crash'],
  ['integrity', 'integrity check'],
];

export default function setup(project: TestProject): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'echonet-reliability-'));
  project.provide('reliabilityFiguresDir', dir);
  return () => {
    try {
      const rows = readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Figures);
      if (rows.length > 0) process.stdout.write(`\n${table(rows)}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

function table(rows: readonly Figures[]): string {
  const header = ['test', ...COLUMNS.map(([, title]) => title)];
  const body = rows.map((r) => [
    r.test,
    ...COLUMNS.map(([key]) => (r[key] === undefined ? '-' : String(r[key]))),
  ]);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...body.map((row) => row[i]?.length ?? 0)),
  );
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return ['Echonet reliability', line(header), rule, ...body.map(line)].join('\n');
}
