import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configTable, envExample, envFileProblems, loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { tempDir } from './helpers/temp.js';

const noFile = { envFile: false as const };

describe('loadConfig', () => {
  it('uses the documented defaults', () => {
    const c = loadConfig({}, noFile);
    expect(c).toMatchObject({
      host: '0.0.0.0',
      port: 8123,
      apiKey: undefined,
      adminKey: undefined,
      dbPath: 'echonet_registry.db',
      sessionTimeoutS: 25,
      cancelPhrases: ['cancel', 'never mind', 'nevermind', 'stop listening'],
      forwardStripTrigger: true,
      httpTimeoutS: 3,
      activeTimeoutS: 30,
      initialListenMode: 'trigger',
      logLevel: 'info',
      matchNames: 'wyoming',
      defaultTarget: '',
    });
    expect(
      loadConfig({ ECHONET_MATCH_NAMES: ' ALL ', ECHONET_DEFAULT_TARGET: 'Astraea' }, noFile),
    ).toMatchObject({ matchNames: 'all', defaultTarget: 'astraea' });
    expect(loadConfig({ ECHONET_DEFAULT_TARGET: '' }, noFile).defaultTarget).toBe('');
    expect(
      loadConfig(
        { ECHONET_ACTIVE_TIMEOUT_S: '2.5', ECHONET_INITIAL_LISTEN_MODE: 'Inactive' },
        noFile,
      ),
    ).toMatchObject({ activeTimeoutS: 2.5, initialListenMode: 'inactive' });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('parses every kind of value', () => {
    const c = loadConfig(
      {
        ECHONET_PORT: '9000',
        ECHONET_SESSION_TIMEOUT_S: '2.5',
        ECHONET_CANCEL_PHRASES: ' stop , be quiet ,,',
        ECHONET_FORWARD_STRIP_TRIGGER: 'false',
        ECHONET_LOG_LEVEL: 'DEBUG',
        ECHONET_API_KEY: 'k',
        ECHONET_ADMIN_KEY: '',
      },
      noFile,
    );
    expect(c.port).toBe(9000);
    expect(c.sessionTimeoutS).toBe(2.5);
    expect(c.cancelPhrases).toEqual(['stop', 'be quiet']);
    expect(c.forwardStripTrigger).toBe(false);
    expect(c.logLevel).toBe('debug');
    expect(c.apiKey).toBe('k');
    expect(c.adminKey).toBeUndefined();
  });

  it('reads ECHONET_FALLBACK_TARGET as a target name; unset or empty is no fallback', () => {
    expect(loadConfig({}, noFile).fallbackTarget).toBeNull();
    expect(loadConfig({ ECHONET_FALLBACK_TARGET: '' }, noFile).fallbackTarget).toBeNull();
    expect(loadConfig({ ECHONET_FALLBACK_TARGET: ' EchoBell ' }, noFile).fallbackTarget).toBe(
      'echobell',
    );
  });

  it.each([
    ['ECHONET_PORT', 'abc', /ECHONET_PORT="abc" is invalid: expected an integer from 0 to 65535/],
    ['ECHONET_PORT', '70000', /ECHONET_PORT/],
    ['ECHONET_PORT', '80.5', /ECHONET_PORT/],
    [
      'ECHONET_HTTP_TIMEOUT_S',
      '-1',
      /ECHONET_HTTP_TIMEOUT_S="-1" is invalid: expected a number of seconds/,
    ],
    ['ECHONET_HTTP_TIMEOUT_S', '0', /ECHONET_HTTP_TIMEOUT_S/],
    ['ECHONET_SESSION_TIMEOUT_S', 'soon', /ECHONET_SESSION_TIMEOUT_S/],
    [
      'ECHONET_LOG_LEVEL',
      'loud',
      /ECHONET_LOG_LEVEL="loud" is invalid: expected one of fatal, error/,
    ],
    ['ECHONET_FORWARD_STRIP_TRIGGER', 'maybe', /expected true or false/],
    ['ECHONET_DB_PATH', '  ', /ECHONET_DB_PATH/],
    ['ECHONET_DISCOVERY_ENABLED', 'sometimes', /ECHONET_DISCOVERY_ENABLED.*true or false/],
    ['ECHONET_DISCOVERY_NAME', 'echonet.kitchen', /ECHONET_DISCOVERY_NAME.*without dots/],
    ['ECHONET_DISCOVERY_NAME', 'é'.repeat(32), /ECHONET_DISCOVERY_NAME.*1 to 63 bytes/],
    ['ECHONET_DISCOVERY_NAME', 'tab\there', /ECHONET_DISCOVERY_NAME/],
    ['ECHONET_DISCOVERY_HOST', 'my_pi', /ECHONET_DISCOVERY_HOST.*letters, digits and hyphens/],
    ['ECHONET_DISCOVERY_HOST', 'pi.lan', /ECHONET_DISCOVERY_HOST/],
    ['ECHONET_DISCOVERY_HOST', '-pi', /ECHONET_DISCOVERY_HOST/],
    ['ECHONET_DISCOVERY_ZONE', 'z'.repeat(65), /ECHONET_DISCOVERY_ZONE.*1 to 64 bytes/],
    ['ECHONET_DISCOVERY_ZONE', '', /ECHONET_DISCOVERY_ZONE/],
    ['ECHONET_DISCOVERY_SUBZONE', 'a\nb', /ECHONET_DISCOVERY_SUBZONE/],
    ['ECHONET_ACTIVE_TIMEOUT_S', '0', /ECHONET_ACTIVE_TIMEOUT_S="0" is invalid: expected a number/],
    [
      'ECHONET_MATCH_NAMES',
      'yes',
      /ECHONET_MATCH_NAMES="yes" is invalid: expected one of wyoming, all, off/,
    ],
    [
      'ECHONET_DEFAULT_TARGET',
      'astraea prime',
      /ECHONET_DEFAULT_TARGET="astraea prime" is invalid: expected a target name \(1 to 32 of a-z/,
    ],
    [
      'ECHONET_INITIAL_LISTEN_MODE',
      'active',
      /ECHONET_INITIAL_LISTEN_MODE="active" is invalid: expected trigger or inactive \(active needs a target/,
    ],
    ['ECHONET_INITIAL_LISTEN_MODE', 'muted', /ECHONET_INITIAL_LISTEN_MODE/],
    [
      'ECHONET_FALLBACK_TARGET',
      'echo bell',
      /ECHONET_FALLBACK_TARGET="echo bell" is invalid: expected a registered target's name/,
    ],
    ['ECHONET_FALLBACK_TARGET', 'x'.repeat(33), /ECHONET_FALLBACK_TARGET/],
  ])('rejects %s=%s with one line naming it', (name, value, message) => {
    expect(() => loadConfig({ [name]: value }, noFile)).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value }, noFile)).toThrow(message);
  });

  it('reads .env from the working directory, and the real environment wins', () => {
    const dir = tempDir('echonet-env-');
    writeFileSync(join(dir, '.env'), 'ECHONET_PORT=9100\nECHONET_LOG_LEVEL=warn\n# comment\n');
    const fromFile = loadConfig({}, { cwd: dir });
    expect(fromFile.port).toBe(9100);
    expect(fromFile.logLevel).toBe('warn');
    const overridden = loadConfig({ ECHONET_PORT: '9200' }, { cwd: dir });
    expect(overridden.port).toBe(9200);
    expect(overridden.logLevel).toBe('warn');
  });

  it('validates values that come from .env too', () => {
    const dir = tempDir('echonet-env-');
    writeFileSync(join(dir, '.env'), 'ECHONET_PORT=http\n');
    expect(() => loadConfig({}, { cwd: dir })).toThrow(/ECHONET_PORT="http"/);
  });

  it('documents every setting in the README, generated from the settings table', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    // Prettier pads Markdown tables; compare the cells, not the padding.
    const cells = (table: string) =>
      table
        .trim()
        .split('\n')
        .map((row) => row.split('|').map((c) => c.trim().replace(/^-+$/, '-')));
    const block = /<!-- config-table:start -->\n([\s\S]*?)\n<!-- config-table:end -->/.exec(readme);
    expect(block?.[1]).toBeDefined();
    expect(cells(block?.[1] ?? '')).toEqual(cells(configTable()));
  });

  it('ships a .env.example generated from the settings table', () => {
    const shipped = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    expect(shipped).toBe(envExample());
    for (const name of [
      'ECHONET_HOST',
      'ECHONET_PORT',
      'ECHONET_API_KEY',
      'ECHONET_ADMIN_KEY',
      'ECHONET_DB_PATH',
    ]) {
      expect(shipped).toContain(`# ${name}=`);
    }
  });
});

describe('warnings about settings that would be ignored', () => {
  function load(env: Record<string, string>, dotenv?: string) {
    const warnings: string[] = [];
    const dir = tempDir('echonet-env-');
    if (dotenv !== undefined) writeFileSync(join(dir, '.env'), dotenv);
    const config = loadConfig(env, { cwd: dir, warn: (m) => warnings.push(m) });
    return { config, warnings, file: join(dir, '.env') };
  }

  it('names the file, the line and the closest setting for a typo in .env', () => {
    const { config, warnings, file } = load(
      {},
      '# mine\nECHONET_POTR=9000\nECHONET_LOG_LEVEL=warn\n',
    );
    expect(warnings).toEqual([
      `${file} line 2: ECHONET_POTR is not an Echonet setting and is ignored; did you mean ECHONET_PORT?`,
    ]);
    expect(config.port).toBe(8123);
    expect(config.logLevel).toBe('warn');
  });

  it('names the line that is not NAME=value, without repeating it (it may hold a key)', () => {
    const { config, warnings, file } = load(
      {},
      'ECHONET_PORT=9000\nECHONET_API_KEY secret-value\n\n  # indented comment\nexport ECHONET_HOST=127.0.0.1\n',
    );
    expect(warnings).toEqual([`${file} line 2: not NAME=value; the line is ignored`]);
    expect(config.port).toBe(9000);
    expect(config.host).toBe('127.0.0.1');
  });

  it('warns about unknown ECHONET_* names in the environment, in any case', () => {
    const { warnings } = load({ ECHONET_APIKEY: 'x', echonet_port: '1', PATH: '/bin', HOME: '/' });
    expect(warnings).toEqual([
      'environment: ECHONET_APIKEY is not an Echonet setting and is ignored; did you mean ECHONET_API_KEY?',
      'environment: echonet_port is not an Echonet setting and is ignored; did you mean ECHONET_PORT?',
    ]);
  });

  it("says nothing about a clean configuration, or other programs' names in .env", () => {
    const { warnings } = load(
      { ECHONET_PORT: '9000', ECHONET_DB_PATH: 'x.db' },
      'ECHONET_LOG_LEVEL=warn\nOTHER_TOOL=1\nKEY: value\n',
    );
    expect(warnings).toEqual([]);
  });

  it('follows quoted values over several lines as dotenv reads them', () => {
    expect(envFileProblems('ECHONET_CANCEL_PHRASES="stop,\nnever mind"\nECHONET_PROT=1\n')).toEqual(
      [
        {
          line: 3,
          message:
            'ECHONET_PROT is not an Echonet setting and is ignored; did you mean ECHONET_PORT?',
        },
      ],
    );
    // No closing quote anywhere: dotenv reads the line alone, so the next line is checked.
    expect(envFileProblems("ECHONET_HOST='a\nnot a setting line\n")).toEqual([
      { line: 2, message: 'not NAME=value; the line is ignored' },
    ]);
  });
});
