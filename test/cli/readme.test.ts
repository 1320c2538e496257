/** The README's ways to run the `echonet` command from a clone are the ones that work. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { runShell } from '../helpers/shell.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const cliSection = /\n## CLI\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';

describe("the README's CLI section", () => {
  // `./dist/echonet.mjs <command>` and `node dist/echonet.mjs <command>`, as written there.
  const cloneCommands = [
    ...cliSection.matchAll(/`((?:node )?\.?\/?dist\/echonet\.mjs) <command>`/g),
  ].map((m) => m[1]!);

  it('documents running the command from a clone, not paths a clone lacks', () => {
    expect(cloneCommands).toEqual(['./dist/echonet.mjs', 'node dist/echonet.mjs']);
    expect(readme).not.toContain('node_modules/.bin/echonet');
  });

  it.each(['./dist/echonet.mjs', 'node dist/echonet.mjs'])(
    '`%s inspect` works from the root of the clone',
    async (command) => {
      const db = tempDbPath(tempDir());
      const store = openStore(db);
      store.targets.upsert({ name: 'astraea', baseUrl: 'http://a:1', phrases: ['hey astraea'] });
      store.close();
      const { code, stdout, stderr } = await runShell(`${command} inspect --db-path "$0"`, [db], {
        cwd: root,
      });
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout).toContain('targets:         1');
    },
  );
});
