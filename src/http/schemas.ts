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
