/** Echonet's own secrets (v4 table), such as the API key it generated on first start. */
import { randomBytes } from 'node:crypto';
import type { Db } from './db.js';

export const GENERATED_API_KEY = 'api_key';

export class SecretStore {
  readonly #get;
  readonly #insert;

  constructor(db: Db) {
    this.#get = db.prepare<[string], { value: string }>(
      'SELECT value FROM echonet_secrets WHERE name = ?',
    );
    this.#insert = db.prepare<[string, string]>(
      'INSERT OR IGNORE INTO echonet_secrets (name, value) VALUES (?, ?)',
    );
  }

  get(name: string): string | undefined {
    return this.#get.get(name)?.value;
  }

  /**
   * Returns the stored value, generating and storing a random one first if there is none.
   * INSERT OR IGNORE: two processes starting together end up with the same key.
   */
  getOrCreate(name: string): { value: string; created: boolean } {
    const existing = this.get(name);
    if (existing !== undefined) return { value: existing, created: false };
    const { changes } = this.#insert.run(name, randomBytes(32).toString('base64url'));
    return { value: this.get(name) as string, created: changes > 0 };
  }
}
