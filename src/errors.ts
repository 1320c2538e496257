/**
 * Every failure Echonet reports on purpose is an EchonetError with a stable `code` and the HTTP
 * status it maps to. The HTTP error handler (src/http/errors.ts) is the only place that turns
 * them into responses; the CLI prints `message` and exits non-zero.
 */
export class EchonetError extends Error {
  readonly code: string = 'ECHONET_ERROR';
  readonly statusCode: number = 500;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ValidationError extends EchonetError {
  override readonly code = 'VALIDATION';
  override readonly statusCode = 400;
}

export class Unauthorized extends EchonetError {
  override readonly code = 'UNAUTHORIZED';
  override readonly statusCode = 401;
}

export class Forbidden extends EchonetError {
  override readonly code = 'FORBIDDEN';
  override readonly statusCode = 403;
}

export class TargetNotFound extends EchonetError {
  override readonly code = 'TARGET_NOT_FOUND';
  override readonly statusCode = 404;
  /** `hint`: what to do about it, added as a second sentence. */
  constructor(
    readonly target: string,
    hint?: string,
  ) {
    super(`Target '${target}' not found${hint === undefined ? '' : `. ${hint}`}`);
  }
}

export class EventNotFound extends EchonetError {
  override readonly code = 'EVENT_NOT_FOUND';
  override readonly statusCode = 404;
  constructor(readonly id: string) {
    super(`no event with id '${id}' (it may be older than the retention, or logging is off)`);
  }
}

export class ApiKeyNotFound extends EchonetError {
  override readonly code = 'API_KEY_NOT_FOUND';
  override readonly statusCode = 404;
  /** `hint`: where to look, for the front end that reports it (the CLI names its list command). */
  constructor(
    readonly id: number,
    hint?: string,
  ) {
    super(`no API key with id ${id}${hint === undefined ? '' : `; ${hint}`}`);
  }
}

/** A GET or PUT /config/{key} for a key that is no setting (the Python service's words). */
export class ConfigKeyNotFound extends EchonetError {
  override readonly code = 'CONFIG_KEY_NOT_FOUND';
  override readonly statusCode = 404;
  constructor(readonly key: string) {
    super(`Configuration key '${key}' not found`);
  }
}

/**
 * Two targets would own one wake phrase. A target's name counts as one of its phrases (it wakes
 * the target at the start of an utterance): `name` says the requester's side is its name,
 * `ownerName` that the owner's side is.
 */
export class PhraseConflict extends EchonetError {
  override readonly code = 'PHRASE_CONFLICT';
  override readonly statusCode = 409;
  readonly isName: boolean;
  readonly ownerIsName: boolean;
  constructor(
    readonly phrase: string,
    readonly owner: string,
    readonly requestedBy: string,
    readonly ownerPhrase: string = phrase,
    sides: { readonly name?: boolean; readonly ownerName?: boolean } = {},
  ) {
    super(conflictMessage(phrase, owner, requestedBy, ownerPhrase, sides));
    this.isName = sides.name === true;
    this.ownerIsName = sides.ownerName === true;
  }
}

function conflictMessage(
  phrase: string,
  owner: string,
  requestedBy: string,
  ownerPhrase: string,
  sides: { readonly name?: boolean; readonly ownerName?: boolean },
): string {
  if (!sides.name && !sides.ownerName) {
    return ownerPhrase === phrase
      ? `Phrase '${phrase}' of target '${requestedBy}' is already registered by target '${owner}'`
      : `Phrase '${phrase}' of target '${requestedBy}' collides with '${ownerPhrase}' of target '${owner}'`;
  }
  const mine = sides.name
    ? `The name of target '${requestedBy}'`
    : `Phrase '${phrase}' of target '${requestedBy}'`;
  const theirs = sides.ownerName
    ? `the name of target '${owner}'`
    : `phrase '${ownerPhrase}' of target '${owner}'`;
  return `${mine} collides with ${theirs} (a target's name wakes it like a wake phrase)`;
}

/** A bad ECHONET_* variable or CLI option: start-up stops with this one line. */
export class ConfigError extends EchonetError {
  override readonly code = 'CONFIG';
}

/** The database cannot be used as it is (newer schema, not SQLite, unreadable location). */
export class StorageError extends EchonetError {
  override readonly code: string = 'STORAGE';
}

export class SchemaTooNew extends StorageError {
  override readonly code = 'SCHEMA_TOO_NEW';
  constructor(
    readonly found: number,
    readonly known: number,
  ) {
    super(
      `database schema version ${found} is newer than this Echonet understands (${known}); ` +
        `upgrade Echonet or point ECHONET_DB_PATH at another file (the database was not changed)`,
    );
  }
}

/** A backup file that cannot be restored. */
export class BackupFormatError extends EchonetError {
  override readonly code = 'BACKUP_FORMAT';
  override readonly statusCode = 400;
}

/**
 * A registry change was saved but the routing table could not be rebuilt with it (the build failed);
 * routing still uses the previous table until the next change builds one.
 */
export class RoutingTableStale extends EchonetError {
  override readonly code = 'ROUTING_TABLE_STALE';
  override readonly statusCode = 503;
  constructor(reason: string) {
    super(
      `saved, but the routing table could not be rebuilt (${reason}); routing uses the previous ` +
        'registry until the next change',
    );
  }
}
