/** Response shapes shared by more than one route module. */
import { Type } from 'typebox';

export const SessionBody = Type.Object({
  id: Type.String(),
  target: Type.String(),
  source_id: Type.String(),
  room: Type.Union([Type.String(), Type.Null()]),
  last_ts: Type.Number(),
  expires_in_s: Type.Integer(),
});

export const MatchBody = Type.Object({
  phrase: Type.String(),
  target: Type.String(),
  matched_text: Type.String(),
  start: Type.Integer(),
  end: Type.Integer(),
  score: Type.Number(),
  exact: Type.Boolean(),
});

export const Mode = Type.Union([
  Type.Literal('idle'),
  Type.Literal('session_open'),
  Type.Literal('session_switch'),
  Type.Literal('session_continue'),
  Type.Literal('session_end'),
  Type.Literal('dispatch_once'),
]);

/** Every error answer (src/http/errors.ts `errorBody`): `detail` repeats `error` for old clients. */
export const ErrorBody = Type.Object({
  ok: Type.Literal(false),
  error: Type.String({ description: 'One line naming what was wrong and what is accepted' }),
  detail: Type.Optional(Type.String({ description: 'The same text, as the Python service sent' })),
});

/** What each error status means, for the API documentation. */
export const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = Object.freeze({
  400: 'Bad input: the error names the field and what it accepts (or the URL is malformed)',
  401: 'Missing or invalid X-API-Key',
  403: 'Refused: wrong admin key, an address outside ECHONET_ALLOWLIST, or no admin key configured',
  404: 'Not found',
  409: 'Conflict: a wake phrase or name another target already owns',
  413: 'Request body too large (64 KiB at most)',
  414: 'A path segment is longer than 100 characters',
  415: 'Body is not JSON (send Content-Type: application/json)',
  429: 'Rate limit exceeded; Retry-After says when to try again',
  500: 'Internal error (logged on the server; no details are sent)',
  503: 'Saved, but the routing table could not be rebuilt; the previous one routes meanwhile',
});

/** Error responses for a route's schema: `errorResponses(404, 409)`. */
export function errorResponses(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries(
    statuses.map((s) => [s, { ...ErrorBody, description: ERROR_DESCRIPTIONS[s] ?? 'Error' }]),
  );
}
