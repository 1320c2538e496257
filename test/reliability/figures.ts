/** Figures a reliability test reports; report.ts prints them all as one table at the end. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

export interface Figures {
  /** Row name, e.g. "crash (5 rounds)". */
  readonly test: string;
  readonly requests?: number;
  readonly status5xx?: number;
  /** Responses or log lines mentioning "database is locked" / SQLITE_BUSY. */
  readonly locked?: number;
  readonly acknowledged?: number;
  readonly found?: number;
  /** `PRAGMA integrity_check` result. */
  readonly integrity?: string;
}

let order = 0;

/** Records `figures` for the final table; the row order follows the test files' names. */
export function report(file: string, figures: Figures): void {
  const dir = inject('reliabilityFiguresDir');
  writeFileSync(join(dir, `${file}-${++order}.json`), JSON.stringify(figures));
}
