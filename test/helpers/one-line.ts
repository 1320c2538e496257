/** How every failure of the `echonet` command must look on stderr. */
import { expect } from 'vitest';

/** The whole of stderr is one `echonet: ...` line matching `message`, with no stack trace. */
export function expectOneLine(stderr: string, message: RegExp): void {
  expect(stderr).not.toMatch(/\n\s+at /);
  const lines = stderr.trimEnd().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^echonet: /);
  expect(lines[0]).toMatch(message);
}
