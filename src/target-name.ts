/**
 * What a target name is, shared by registration (src/registration.ts) and the settings that name a
 * target (src/config.ts): both sit above this module, so neither imports the other for it.
 */

/** Names are stored lower-case: 1 to 32 of a-z, 0-9, '_' and '-'. */
export const NAME_PATTERN = /^[a-z0-9_-]{1,32}$/;

/** A name as written by a person (any case, spaces around), as stored; undefined if it is none. */
export function targetName(raw: string): string | undefined {
  const name = raw.trim().toLowerCase();
  return NAME_PATTERN.test(name) ? name : undefined;
}
