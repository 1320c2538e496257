/**
 * The one body parser: JSON only (anything else gets 415 with a hint rather than a confusing
 * schema error), with the protection Fastify's own parser has by default (onProtoPoisoning and
 * onConstructorPoisoning: 'error'): a `__proto__` key, or a `constructor` object with a
 * `prototype` key, anywhere in the body is a 400, never an object that could poison a prototype.
 */
import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';
import { ValidationError } from '../errors.js';

const POISONING = { protoAction: 'error', constructorAction: 'error' } as const;

/** Parses `text`; throws a 400 saying what is wrong (not JSON, or a prototype-poisoning key). */
export function parseJsonBody(text: string): unknown {
  try {
    // secure-json-parse only walks the result when the text holds a suspect key, as in Fastify.
    return secureJson.parse(text, null, POISONING);
  } catch (err) {
    // Both failures are SyntaxErrors; only text that is valid JSON can have been refused for a key.
    try {
      JSON.parse(text);
    } catch {
      throw new ValidationError(`body is not valid JSON: ${(err as Error).message}`);
    }
    throw new ValidationError(
      'body must not contain a "__proto__" key or a "constructor" object with a "prototype" key',
    );
  }
}

export function registerJsonBody(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    // Reached with Content-Type: application/json and Content-Length: 0; Fastify's own parser
    // answers that with a bare "empty body" error, the schema says what the body must hold.
    if (body === '') return done(null, undefined);
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
