#!/usr/bin/env -S GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072 node --max-semi-space-size=8 --max-old-space-size=1024
/**
 * The `echonet` command. Each subcommand validates its arguments, does one thing, and exits
 * non-zero with one clear line on failure.
 *
 * The first line sets Node's memory: the young generation capped at 2 × 8 MiB, the heap at 1 GiB
 * (which also keeps garbage near what is live), and glibc's mmap threshold fixed so the index
 * build's big buffers go back to the system (bench/NOTES.md has what each bought, and what was
 * tried and dropped). `npm start` uses the same settings; a test keeps the two in step.
 */
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { getSetting, listSettings, setSetting, unsetSetting } from './cli/config.js';
import { migrateNow, migrateStatus } from './cli/migrate.js';
import { inspect, showApiKey } from './cli/inspect.js';
import { backup, restore } from './cli/backup.js';
import { DEFAULT_CLI_EVENTS, showEvents } from './cli/events.js';
import { addKey, listKeys, revokeKey } from './cli/keys.js';
import { route } from './cli/route.js';
import { setState, showState } from './cli/state.js';
import { assertWritableDbLocation } from './cli/db-location.js';
import { exitQuietlyWhenStdoutCloses, processOutput as io } from './cli/output.js';
import { startRouting } from './cli/start-routing.js';
import { catchStopSignals } from './cli/stop-signals.js';
import { loadSettings, type Config, type LoadedConfig } from './config.js';
import { EchonetError } from './errors.js';
import { registrationPolicy } from './registration.js';
import { FRONT_ENDS, type FrontEnd } from './routing/text-handler.js';
import { VERSION } from './version.js';

interface DbOption {
  dbPath?: string;
}

/**
 * The validated config, with --db-path (when given) in place of ECHONET_DB_PATH. Settings that
 * are ignored (a typo, a malformed .env line) are warned about on stderr, one line each.
 */
function configFor(options: DbOption): Config {
  return settingsFor(options).config;
}

/** configFor, with which settings a variable gave (for `origin` in GET /config). */
function settingsFor(options: DbOption): LoadedConfig {
  const { config, fromEnv } = loadSettings(process.env, {
    warn: (m) => io.err(`echonet: warning: ${m}`),
  });
  return options.dbPath === undefined
    ? { config, fromEnv }
    : { config: Object.freeze({ ...config, dbPath: options.dbPath }), fromEnv };
}

function nonEmpty(name: string) {
  return (value: string) => {
    if (value.trim() === '') throw new InvalidArgumentError(`${name} must not be empty`);
    return value;
  };
}

function frontEnd(value: string): FrontEnd {
  const found = FRONT_ENDS.find((f) => f === value.trim().toLowerCase());
  if (found === undefined)
    throw new InvalidArgumentError(`must be one of ${FRONT_ENDS.join(', ')}`);
  return found;
}

function count(value: string): number {
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > 500) {
    throw new InvalidArgumentError('must be an integer from 1 to 500');
  }
  return Number(value);
}

const dbPathOption = [
  '--db-path <file>',
  'SQLite registry file (default: ECHONET_DB_PATH or echonet_registry.db)',
  nonEmpty('--db-path'),
] as const;

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new EchonetError(
      `${question} Refusing to ask without a terminal: pass --yes to confirm, or --merge`,
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/**
 * A worker module bundled beside this file (dist/table-worker.mjs, dist/event-worker.mjs next to
 * dist/echonet.mjs or dist/cli.js); run from sources (tsx) there is none, and the work is done
 * inline.
 */
function workerUrl(file: string): URL | undefined {
  const url = new URL(`./${file}`, import.meta.url);
  return existsSync(fileURLToPath(url)) ? url : undefined;
}

export function buildCli(): Command {
  const program = new Command('echonet')
    .description('Route speech-to-text transcripts to AI assistants by wake phrase')
    .version(VERSION)
    .showHelpAfterError();

  program
    .command('serve')
    .description('run the HTTP service (settings from ECHONET_* variables and .env)')
    .option(...dbPathOption)
    .action(async (opts: DbOption) => {
      // First of all, so that a stop at any moment of start-up is a clean one.
      const signals = catchStopSignals();
      const { config, fromEnv } = settingsFor(opts);
      assertWritableDbLocation(config.dbPath);
      // The first routing table starts building in a worker before the server's modules load.
      const routing = startRouting(
        config,
        { table: workerUrl('table-worker.mjs'), events: workerUrl('event-worker.mjs') },
        fromEnv,
      );
      // Loaded on demand: Fastify and undici are only worth their start-up time for the server.
      const { serve } = await import('./cli/serve.js');
      await serve(config, signals, { routing });
    });

  program
    .command('migrate')
    .description('show or apply database schema migrations')
    .option('--status', 'show the schema version, its history and row counts (default)')
    .option('--migrate', 'apply pending migrations now')
    .option(...dbPathOption)
    .action((opts: DbOption & { status?: boolean; migrate?: boolean }) => {
      if (opts.status && opts.migrate)
        throw new EchonetError('choose one of --status and --migrate');
      const { dbPath } = configFor(opts);
      if (opts.migrate) migrateNow(dbPath, io);
      else migrateStatus(dbPath, io);
    });

  program
    .command('inspect')
    .description('list targets, listen URLs and phrases, with the file size')
    .option('--json', 'print JSON')
    .option(...dbPathOption)
    .action((opts: DbOption & { json?: boolean }) => inspect(configFor(opts).dbPath, io, opts));

  program
    .command('backup')
    .description('export the registry as JSON')
    .option('-o, --output <file>', 'write to this file instead of stdout', nonEmpty('--output'))
    .option(...dbPathOption)
    .action((opts: DbOption & { output?: string }) =>
      backup(configFor(opts).dbPath, io, opts.output),
    );

  program
    .command('restore')
    .description('load targets from a backup: replaces the registry, or adds to it with --merge')
    .argument('<file>', 'backup JSON made by `echonet backup`')
    .option('--merge', 'keep targets not in the backup')
    .option('-y, --yes', 'do not ask before replacing the registry')
    .option(...dbPathOption)
    .action(async (file: string, opts: DbOption & { merge?: boolean; yes?: boolean }) => {
      const config = configFor(opts);
      assertWritableDbLocation(config.dbPath);
      return restore(config.dbPath, file, io, {
        merge: opts.merge ?? false,
        yes: opts.yes ?? false,
        confirm,
        policy: registrationPolicy(config.targetHosts, config.cancelPhrases),
      });
    });

  program
    .command('route')
    .description('show how a transcript would be routed, and the match score')
    .argument('<text>', 'the transcript', nonEmpty('text'))
    .option('--json', 'print JSON')
    .option(
      '--front-end <name>',
      `as heard by this front end (${FRONT_ENDS.join(', ')}): whether names wake targets`,
      frontEnd,
      'http',
    )
    .option(...dbPathOption)
    // A usage mistake is one line, like every other refusal of these commands.
    .showHelpAfterError(false)
    .action((text: string, opts: DbOption & { json?: boolean; frontEnd: FrontEnd }) =>
      route(configFor(opts), text, io, opts),
    );

  program
    .command('api-key')
    .description('print the API key Echonet generated (when ECHONET_API_KEY is not set)')
    .option(...dbPathOption)
    .action((opts: DbOption) => {
      if (!showApiKey(configFor(opts).dbPath, io)) {
        throw new EchonetError(
          'no generated API key in this database (ECHONET_API_KEY was set, or the server never ran)',
        );
      }
    });

  program
    .command('events')
    .description('show the decision log: what was heard, where it went and why')
    .option('-f, --follow', 'keep printing decisions as they are made')
    .option('--source <source_id>', 'only this front end', nonEmpty('--source'))
    .option('-n, --limit <count>', `how many past decisions (default ${DEFAULT_CLI_EVENTS})`, count)
    .option('--json', 'print one JSON object per line')
    .option(...dbPathOption)
    .action(
      (opts: DbOption & { follow?: boolean; source?: string; limit?: number; json?: boolean }) =>
        showEvents(configFor(opts).dbPath, io, opts),
    );

  const keys = program
    .command('keys')
    .description('add, list and revoke API keys kept in the database (no restart needed)')
    // A usage mistake is one line, like every other refusal of these commands.
    .showHelpAfterError(false);
  keys
    .command('add')
    .description('create a key and print it once')
    .argument('<label>', 'what the key is for, e.g. "kitchen tablet" (1 to 64 characters)')
    .option('--json', 'print JSON')
    .option(...dbPathOption)
    .action((label: string, opts: DbOption & { json?: boolean }) =>
      addKey(configFor(opts).dbPath, label, io, opts),
    );
  keys
    .command('list')
    .description('show the stored keys: id, creation time, label (never the keys)')
    .option('--json', 'print JSON')
    .option(...dbPathOption)
    .action((opts: DbOption & { json?: boolean }) => listKeys(configFor(opts).dbPath, io, opts));
  keys
    .command('revoke')
    .description('withdraw a key; running servers refuse it within a second')
    .argument('<id>', 'the key id `echonet keys list` shows')
    .option(...dbPathOption)
    .action((id: string, opts: DbOption) => revokeKey(configFor(opts).dbPath, id, io));

  const settings = program
    .command('config')
    .description(
      'show or change the runtime settings kept in the database (a running server applies a change at its next utterance)',
    )
    .showHelpAfterError(false);
  settings
    .command('list', { isDefault: true })
    .description('show every setting: key, value, origin (api, env or default) and type')
    .option('--json', 'print JSON')
    .option(...dbPathOption)
    .action((opts: DbOption & { json?: boolean }) => listSettings(settingsFor(opts), io, opts));
  settings
    .command('get')
    .description('print one setting’s value')
    .argument('<key>', 'a key `echonet config` lists, e.g. session_timeout_s')
    .option('--json', 'print the whole setting as JSON')
    .option(...dbPathOption)
    .action((key: string, opts: DbOption & { json?: boolean }) =>
      getSetting(settingsFor(opts), key, io, opts),
    );
  settings
    .command('set')
    .description('store a value; it wins over the ECHONET_* variable until unset')
    .argument('<key>', 'a key `echonet config` lists')
    .argument('<value>', 'the value, checked against the key’s type')
    .option('--reason <text>', 'why, for the change log (GET /state/history)')
    .option(...dbPathOption)
    .action((key: string, value: string, opts: DbOption & { reason?: string }) =>
      setSetting(settingsFor(opts), key, value, io, opts),
    );
  settings
    .command('unset')
    .description('drop the stored value: the ECHONET_* variable or the default applies again')
    .argument('<key>', 'a key `echonet config` lists')
    .option(...dbPathOption)
    .action((key: string, opts: DbOption) => unsetSetting(settingsFor(opts), key, io));
  const state = program
    .command('state')
    .description('show or change the listen mode (inactive, trigger, active)')
    .showHelpAfterError(false);
  state
    .command('show', { isDefault: true })
    .description('show the listen mode and the modes scoped to one source (default)')
    .option('--history', 'show the log of changes instead, newest first')
    .option('--name <name>', 'with --history: only this setting (listen_mode, listen_mode:SOURCE)')
    .option('--limit <n>', 'with --history: how many changes (default 50, at most 500)')
    .option('--json', 'print JSON')
    .option(...dbPathOption)
    .action(
      (opts: DbOption & { history?: boolean; name?: string; limit?: string; json?: boolean }) =>
        showState(configFor(opts), io, opts),
    );
  state
    .command('set')
    .description('change the listen mode; a running server follows within a moment')
    .argument('<mode>', 'inactive, trigger or active')
    .requiredOption(
      '--target <name>',
      'the registered target asking for it (active: receives every utterance)',
    )
    .option('--source-id <id>', 'only for this front end (its source_id)')
    .option('--reason <text>', 'why, for the log')
    .option(...dbPathOption)
    .action(
      (mode: string, opts: DbOption & { target: string; sourceId?: string; reason?: string }) =>
        setState(configFor(opts), mode, io, opts),
    );

  return program;
}

async function main(): Promise<void> {
  exitQuietlyWhenStdoutCloses();
  try {
    await buildCli().parseAsync(process.argv);
  } catch (err) {
    const message =
      err instanceof EchonetError
        ? err.message
        : `unexpected error: ${(err as Error)?.stack ?? String(err)}`;
    process.stderr.write(`echonet: ${message}\n`);
    process.exit(1);
  }
}

await main();
