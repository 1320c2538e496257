/** What the API's refusals mean to the console (no DOM here: unit-tested in Node). */

/** An answer other than 2xx: Echonet's `{ok:false, error}` message and the status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The form field an error is about: Echonet names it (`body.base_url must…`, `body.phrases[2]…`,
 * `body.value for match_min_score…`); a 409 is about a wake phrase, or the name when the message
 * says so. Undefined when it names none of `fields`.
 */
export function fieldOf(err: ApiError, fields: readonly string[]): string | undefined {
  const named = /\bbody\.([a-z_]+)/.exec(err.message)?.[1];
  if (named && fields.includes(named)) return named;
  if (err.status === 409) {
    if (/^The name of target/.test(err.message) && fields.includes('name')) return 'name';
    if (fields.includes('phrases')) return 'phrases';
  }
  return undefined;
}
