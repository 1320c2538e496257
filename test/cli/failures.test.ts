/**
 * The `echonet` commands meeting a new user's mistakes, as a real child process: one line saying
 * what to do (never a stack trace), warnings for settings that would be ignored, and a quiet end
 * when whoever reads the output stops reading.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store.js';
import { CLI, runCli } from '../helpers/cli.js';
import { expectOneLine } from '../helpers/one-line.js';
import { runShell } from '../helpers/shell.js';
import { tempDbPath, tempDir } from '../helpers/temp.js';

const dir = tempDir();

function seeded(targets = 1): string {
  const db = tempDbPath(dir);
  const store = openStore(db);
  store.targets.replaceAll(
    Array.from({ length: targets }, (_, i) => ({
      name: `target-${i}`,
      baseUrl: `http://assistant-${i}.local:9000`,
      phrases: [`hey assistant number ${i}`, `hello assistant number ${i}`],
    })),
    { merge: false },
  );
  store.close();
  return db;
}

describe('one line saying what to do', () => {
  it('backup -o into a missing folder names the folder, and leaves nothing behind', async () => {
    const out = join(dir, 'no-such-folder', 'backup.json');
    const res = await runCli(['backup', '-o', out, '--db-path', seeded()]);
    expect(res.code).toBe(1);
    expectOneLine(
      res.stderr,
      /^echonet: cannot write backup to \S+backup\.json: folder \S+no-such-folder does not exist; create it/,
    );
    expect(existsSync(join(dir, 'no-such-folder'))).toBe(false);
  });

  it('migrate --status on a missing file exits non-zero without creating it', async () => {
    const db = join(dir, 'typo.db');
    const res = await runCli(['migrate', '--status', '--db-path', db]);
    expect(res.code).toBe(1);
    expectOneLine(
      res.stderr,
      /^echonet: database \S+typo\.db does not exist; check ECHONET_DB_PATH/,
    );
    expect(res.stdout).toBe('');
    expect(existsSync(db)).toBe(false);
  });
});

describe('a closed pipe', () => {
  it('`echonet inspect | head -1` ends quietly with exit 0', async () => {
    // Far more than a pipe holds, so the command is still writing when head has gone.
    const db = seeded(2000);
    const { code, stdout, stderr } = await runShell(
      'set -o pipefail; "$0" "$1" inspect --db-path "$2" | head -1',
      [process.execPath, CLI, db],
      { shell: 'bash' },
    );
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^database: +\S+\n$/);
  });
});

describe('settings that would be ignored', () => {
  it('warn once each, naming the file, the line and the closest setting', async () => {
    const cwd = tempDir('echonet-dotenv-');
    writeFileSync(join(cwd, '.env'), 'ECHONET_LOG_LEVEL=warn\nECHONET_POTR=9000\nhello there\n');
    const res = await runCli(['inspect', '--db-path', seeded()], {
      cwd,
      env: { ECHONET_DB_PAHT: 'elsewhere.db' },
    });
    expect(res.code, res.stderr).toBe(0);
    const env = join(cwd, '.env');
    expect(res.stderr.trimEnd().split('\n')).toEqual([
      'echonet: warning: environment: ECHONET_DB_PAHT is not an Echonet setting and is ignored; did you mean ECHONET_DB_PATH?',
      `echonet: warning: ${env} line 2: ECHONET_POTR is not an Echonet setting and is ignored; did you mean ECHONET_PORT?`,
      `echonet: warning: ${env} line 3: not NAME=value; the line is ignored`,
    ]);
    expect(res.stdout).toContain('targets:         1');
    expect(readdirSync(cwd)).toEqual(['.env']);
  });
});
