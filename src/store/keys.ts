/**
 * API keys added and revoked at run time (v6 table). Only a SHA-256 digest of each key is stored:
 * the keys are 256 random bits, so a plain hash cannot be reversed or guessed, and checking one
 * costs a single hash per request (a slow password hash would cost milliseconds on every call).
 * The plaintext exists once, in what `add` returns.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ValidationError } from '../errors.js';
import type { Db } from './db.js';
import { hasTable } from './migrations.js';

export const MAX_KEY_LABEL_LENGTH = 64;

export interface StoredKey {
  readonly id: number;
  readonly label: string;
  /** ISO 8601, UTC, to the second (`2026-11-30T09:12:45Z`). */
  readonly createdAt: string;
}

export interface NewKey extends StoredKey {
  /** The key itself: shown to whoever created it, never stored. */
  readonly key: string;
}

interface KeyRow {
  id: number;
  label: string;
  created_at: string;
}

/** SHA-256 of a key, the form in which keys are stored and compared. */
export function keyDigest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/** The label, trimmed; throws a ValidationError naming `field` when it is empty or too long. */
export function checkKeyLabel(label: unknown, field: string): string {
  if (typeof label !== 'string') throw new ValidationError(`${field} must be a string`);
  const trimmed = label.trim();
  // Control characters would let a label forge lines in `echonet keys list` or a log.
  if (trimmed === '' || trimmed.length > MAX_KEY_LABEL_LENGTH || /\p{Cc}/u.test(trimmed)) {
    throw new ValidationError(
      `${field} must be 1 to ${MAX_KEY_LABEL_LENGTH} characters without control characters`,
    );
  }
  return trimmed;
}

/** A key id as it appears in a URL or on the command line: a positive integer. */
export function parseKeyId(raw: string, field: string): number {
  if (!/^[1-9]\d{0,14}$/.test(raw)) {
    throw new ValidationError(`${field} must be a key id (a positive integer)`);
  }
  return Number(raw);
}

export class KeyStore {
  readonly #insert;
  readonly #list;
  readonly #digests;
  readonly #delete;

  constructor(db: Db) {
    this.#insert = db.prepare<[string, string], KeyRow>(
      'INSERT INTO echonet_api_keys (label, key_sha256) VALUES (?, ?) RETURNING id, label, created_at',
    );
    this.#list = db.prepare<[], KeyRow>(
      'SELECT id, label, created_at FROM echonet_api_keys ORDER BY id',
    );
    this.#digests = db.prepare<[], string>('SELECT key_sha256 FROM echonet_api_keys').pluck();
    this.#delete = db.prepare<[number], KeyRow>(
      'DELETE FROM echonet_api_keys WHERE id = ? RETURNING id, label, created_at',
    );
  }

  /** Creates a key labelled `label` (see checkKeyLabel) and returns it with its plaintext. */
  add(label: string): NewKey {
    const key = randomBytes(32).toString('base64url');
    const row = this.#insert.get(
      checkKeyLabel(label, 'label'),
      keyDigest(key).toString('hex'),
    ) as KeyRow;
    return { ...toStoredKey(row), key };
  }

  list(): StoredKey[] {
    return this.#list.all().map(toStoredKey);
  }

  /** Deletes the key; returns what it was, or undefined when there is no key with that id. */
  revoke(id: number): StoredKey | undefined {
    const row = this.#delete.get(id);
    return row && toStoredKey(row);
  }

  /** The digests of every stored key, for the key check. */
  digests(): Buffer[] {
    return this.#digests.all().map((hex) => Buffer.from(hex, 'hex'));
  }
}

/** The key store of a database that may predate v6 (read-only commands never migrate). */
export function keyStoreIfPresent(db: Db): KeyStore | undefined {
  return hasTable(db, 'echonet_api_keys') ? new KeyStore(db) : undefined;
}

function toStoredKey(row: KeyRow): StoredKey {
  // Stored as datetime('now') writes it (`YYYY-MM-DD HH:MM:SS`, UTC), like the other tables.
  return { id: row.id, label: row.label, createdAt: `${row.created_at.replace(' ', 'T')}Z` };
}
