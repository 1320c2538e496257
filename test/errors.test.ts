import { describe, expect, it } from 'vitest';
import {
  ApiKeyNotFound,
  BackupFormatError,
  ConfigError,
  ConfigKeyNotFound,
  EchonetError,
  EventNotFound,
  Forbidden,
  PhraseConflict,
  RoutingTableStale,
  SchemaTooNew,
  StorageError,
  TargetNotFound,
  Unauthorized,
  ValidationError,
} from '../src/errors.js';

describe('error classes', () => {
  it.each([
    [new ValidationError('body.name is required'), 'VALIDATION', 400],
    [new Unauthorized('missing X-API-Key header'), 'UNAUTHORIZED', 401],
    [new Forbidden('invalid admin key'), 'FORBIDDEN', 403],
    [new TargetNotFound('astraea'), 'TARGET_NOT_FOUND', 404],
    [new ApiKeyNotFound(3), 'API_KEY_NOT_FOUND', 404],
    [new ConfigKeyNotFound('volume'), 'CONFIG_KEY_NOT_FOUND', 404],
    [new EventNotFound('0b6c'), 'EVENT_NOT_FOUND', 404],
    [new PhraseConflict('hey echo', 'echobell', 'astraea'), 'PHRASE_CONFLICT', 409],
    [new BackupFormatError('bad'), 'BACKUP_FORMAT', 400],
    [new ConfigError('bad'), 'CONFIG', 500],
    [new StorageError('bad'), 'STORAGE', 500],
    [new SchemaTooNew(9, 4), 'SCHEMA_TOO_NEW', 500],
    [new RoutingTableStale('worker exited'), 'ROUTING_TABLE_STALE', 503],
  ])('%s has a stable code and status', (err, code, status) => {
    expect(err).toBeInstanceOf(EchonetError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe(code);
    expect(err.statusCode).toBe(status);
    expect(err.name).toBe(err.constructor.name);
    expect(err.message.length).toBeGreaterThan(0);
  });

  it('names what conflicts with what', () => {
    expect(new TargetNotFound('x').message).toBe("Target 'x' not found");
    expect(new PhraseConflict('hey echo', 'echobell', 'astraea').message).toBe(
      "Phrase 'hey echo' of target 'astraea' is already registered by target 'echobell'",
    );
    const collision = new PhraseConflict('Hey, Echo!', 'echobell', 'astraea', 'hey echo');
    expect(collision.message).toContain('astraea');
    expect(collision.message).toContain('echobell');
    expect(new SchemaTooNew(9, 4).message).toMatch(/version 9 is newer .* \(4\)/);
  });
});
