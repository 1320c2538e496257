/** `echonet backup` and `echonet restore`: the registry as a portable JSON document. */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { BackupFormatError, EchonetError, ValidationError } from '../errors.js';
import { targetView, validateRegistration, type RegistrationPolicy } from '../registration.js';
import type { Target } from '../store/targets.js';
import { openReadOnly, openStore } from '../store/store.js';
import type { Output } from './output.js';

export interface BackupDocument {
  exported_at: string;
  source_db: string;
  target_count: number;
  targets: ReturnType<typeof targetView>[];
}

export function backup(dbPath: string, io: Output, outFile?: string): void {
  const store = openReadOnly(dbPath);
  let doc: BackupDocument;
  try {
    const targets = (store.targets?.all() ?? []).map(targetView);
    doc = {
      exported_at: new Date().toISOString(),
      source_db: resolve(dbPath),
      target_count: targets.length,
      targets,
    };
  } finally {
    store.close();
  }
  const json = JSON.stringify(doc, null, 2) + '\n';
  if (outFile === undefined || outFile === '-') {
    process.stdout.write(json);
    return;
  }
  // Write then rename, so an interrupted backup never leaves a half-written file in place.
  const tmp = `${outFile}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, json, { mode: 0o600 });
    renameSync(tmp, outFile);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw backupWriteError(outFile, err as NodeJS.ErrnoException);
  }
  io.err(`backed up ${doc.target_count} target(s) to ${resolve(outFile)}`);
}

/** Why `backup -o FILE` could not write, in one line saying what to do. */
function backupWriteError(outFile: string, err: NodeJS.ErrnoException): EchonetError {
  const file = resolve(outFile);
  const reason =
    err.code === 'ENOENT' || err.code === 'ENOTDIR'
      ? `folder ${dirname(file)} does not exist; create it first or choose another -o file`
      : err.code === 'EACCES' || err.code === 'EPERM'
        ? `permission denied; choose a -o file in a folder you can write`
        : err.code === 'EISDIR'
          ? `it is a folder; give a file name`
          : err.message;
  return new EchonetError(`cannot write backup to ${file}: ${reason}`);
}

/**
 * Reads and validates a backup file completely before anything touches the database, under the
 * same policy (ECHONET_TARGET_HOSTS, ECHONET_CANCEL_PHRASES) as POST /register.
 */
export function readBackup(file: string, policy: RegistrationPolicy = {}): Target[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new BackupFormatError(`cannot read backup ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new BackupFormatError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const list = isRecord(doc) ? doc.targets : undefined;
  if (!Array.isArray(list)) {
    throw new BackupFormatError(`${file} is not an Echonet backup: it has no "targets" array`);
  }
  const seen = new Set<string>();
  return list.map((entry: unknown, i) => {
    const field = `targets[${i}]`;
    if (
      !isRecord(entry) ||
      typeof entry.name !== 'string' ||
      typeof entry.base_url !== 'string' ||
      !Array.isArray(entry.phrases) ||
      !entry.phrases.every((p) => typeof p === 'string')
    ) {
      throw new BackupFormatError(
        `${file}: ${field} must be an object with string name, string base_url and a phrases array of strings`,
      );
    }
    let target: Target;
    try {
      target = validateRegistration(
        { name: entry.name, base_url: entry.base_url, phrases: entry.phrases as string[] },
        field,
        policy,
      );
    } catch (err) {
      if (err instanceof ValidationError) throw new BackupFormatError(`${file}: ${err.message}`);
      throw err;
    }
    if (seen.has(target.name))
      throw new BackupFormatError(`${file}: ${field} repeats target '${target.name}'`);
    seen.add(target.name);
    return target;
  });
}

export interface RestoreOptions {
  readonly merge: boolean;
  /** Confirmation for replacing the registry: true to skip asking. */
  readonly yes: boolean;
  readonly confirm: (question: string) => Promise<boolean>;
  /** What a target may be; the same rules POST /register applies. */
  readonly policy?: RegistrationPolicy;
}

export async function restore(
  dbPath: string,
  file: string,
  io: Output,
  options: RestoreOptions,
): Promise<void> {
  const incoming = readBackup(file, options.policy);
  const store = openStore(dbPath);
  try {
    const existing = store.targets.count();
    if (!options.merge && existing > 0 && !options.yes) {
      const ok = await options.confirm(
        `Replace all ${existing} registered target(s) in ${resolve(dbPath)} with the ${incoming.length} in ${file}?`,
      );
      if (!ok)
        throw new EchonetError(
          'restore cancelled; nothing was changed (use --yes to skip this question, or --merge)',
        );
    }
    // Refuses the whole restore, changing nothing, if two targets of the result share a phrase.
    store.targets.replaceAll(incoming, { merge: options.merge });
    io.err(
      options.merge
        ? `merged ${incoming.length} target(s) into ${resolve(dbPath)}; ${store.targets.count()} registered now`
        : `restored ${incoming.length} target(s) into ${resolve(dbPath)}`,
    );
  } finally {
    store.close();
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
