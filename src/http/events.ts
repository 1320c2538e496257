/**
 * The decision log over HTTP: GET /events (newest first, a cursor for older pages, filters),
 * GET /events/{id}, and GET /events/stream, a Server-Sent Events feed of each decision as soon as
 * its row is written.
 *
 * The stream takes the API key as X-API-Key or as `?key=` (a browser's EventSource cannot send
 * headers). A comment line every `heartbeatMs` keeps proxies from closing a quiet stream and lets
 * a client notice a dead one. A client that reads slower than decisions arrive is dropped once
 * `maxBufferedBytes` are waiting for it: its reconnect (EventSource retries by itself) costs less
 * than buffering without bound, and on reconnecting it sends Last-Event-ID, from which the missed
 * events (up to 500) are sent first.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static, type TSchema } from 'typebox';
import { EventNotFound, ValidationError } from '../errors.js';
import type { DecisionLog } from '../routing/decision-log.js';
import type { DecisionDetail } from '../routing/decision-record.js';
import { eventView } from '../routing/event-view.js';
import { MODES } from '../routing/router.js';
import {
  DEFAULT_EVENT_LIMIT,
  MAX_EVENT_LIMIT,
  parseEventCursor,
  type EventReader,
  type StoredEvent,
} from '../store/events.js';
import { errorResponses } from './schemas.js';

export interface EventStreamOptions {
  /** Between two heartbeat comments (default 15 s). */
  readonly heartbeatMs?: number;
  /** Bytes a client may leave unread before it is dropped (default 1 MiB). */
  readonly maxBufferedBytes?: number;
}

export interface EventRoutesOptions extends EventStreamOptions {
  readonly events: EventReader;
  readonly log: DecisionLog;
}

const Filters = {
  source_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  target: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  mode: Type.Optional(Type.String({ maxLength: 32 })),
};

const ListQuery = Type.Object({
  ...Filters,
  limit: Type.Optional(Type.String({ maxLength: 8 })),
  before: Type.Optional(Type.String({ maxLength: 20 })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
});

/**
 * `T | null` as a list of types rather than an anyOf: the serializer writes a list directly, where
 * each anyOf costs it a compiled validator (the event's fifteen took ~3 MiB at start-up).
 */
const Nullable = <T extends TSchema & { type: string }>(t: T) =>
  Type.Unsafe<Static<T> | null>({ ...t, type: [t.type, 'null'] });

/**
 * One decision as eventView (src/routing/event-view.ts) shows it. GET /events and GET
 * /events/{id} are serialized from it: a field added to the view must be added here too, or those
 * routes leave it out (the stream sends the view as it is).
 */
/** One source's utterance in a duplicate-wake round (texts are null at the metadata level). */
const Contender = Type.Object({
  source_id: Type.String(),
  front_end: Type.String(),
  text: Nullable(Type.String()),
  confidence: Nullable(Type.Number()),
  chars_after_wake: Type.Integer(),
  after_ms: Type.Number({ description: "Milliseconds after the round's first wake" }),
});

/** Why rooms decided (src/routing/decision-record.ts DecisionDetail). */
const Detail = Type.Object(
  {
    arbitration: Type.Optional(
      Type.Object({
        kind: Type.Union([Type.Literal('wake'), Type.Literal('follow_up')]),
        room: Type.String(),
        target: Type.String(),
        window_ms: Type.Integer(),
        winner: Type.String(),
        contenders: Type.Array(Contender),
      }),
    ),
    echo: Type.Optional(
      Type.Object({
        room: Type.String(),
        reply: Nullable(Type.String()),
        reply_event_id: Type.String(),
        after_ms: Type.Number(),
        similarity: Type.Number(),
        contained: Type.Boolean(),
      }),
    ),
  },
  {
    description:
      'Why a duplicate wake lost or won (`arbitration`), or which reply was echoed (`echo`)',
  },
);

const EventBody = Type.Object({
  id: Type.String(),
  seq: Type.Integer({ description: 'The list cursor: pass it as `before` for older events' }),
  received_at: Type.String({ description: 'ISO 8601, UTC' }),
  source_id: Type.String(),
  room: Nullable(Type.String()),
  text: Nullable(Type.String({ description: 'null when logged at the metadata level' })),
  confidence: Nullable(Type.Number()),
  listen_mode: Type.String(),
  mode: Type.String(),
  reason: Type.String(),
  target: Nullable(Type.String()),
  match: Nullable(
    Type.Object({
      phrase: Nullable(Type.String()),
      matched_text: Nullable(Type.String()),
      score: Type.Number(),
      exact: Type.Boolean(),
    }),
  ),
  session_id: Nullable(Type.String()),
  session_change: Nullable(Type.String()),
  forwarded: Type.Boolean(),
  status: Nullable(Type.Integer({ description: "The target's HTTP status" })),
  latency_ms: Nullable(Type.Number()),
  failure: Nullable(Type.String()),
  intended_target: Nullable(
    Type.String({ description: 'When the fallback target took it: the target it was meant for' }),
  ),
  reply: Nullable(
    Type.String({ description: 'What the target answered (2 000 characters at most)' }),
  ),
  reply_truncated: Type.Boolean(),
  front_end: Type.String({ description: '`http`, `wyoming` or `mqtt`' }),
  conversation_id: Nullable(Type.String()),
  // Typed as the record's own (read-only) shape; the schema is what the serializer writes.
  detail: Type.Unsafe<DecisionDetail | null>({ ...Detail, type: ['object', 'null'] }),
  near_miss: Nullable(
    Type.Object({
      phrase: Nullable(Type.String()),
      target: Type.String(),
      matched_text: Nullable(Type.String()),
      score: Type.Number(),
    }),
  ),
  privacy: Type.Union([Type.Literal('full'), Type.Literal('metadata')]),
});

const StreamQuery = Type.Object({
  ...Filters,
  key: Type.Optional(Type.String({ maxLength: 512 })),
});

/** Clients that stream are few (consoles, `echonet events --follow`); each costs a subscriber. */
export const eventRoutes: FastifyPluginAsyncTypebox<EventRoutesOptions> = async (app, opts) => {
  const { events, log } = opts;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;
  const maxBuffered = opts.maxBufferedBytes ?? 1024 * 1024;
  const streams = new Set<ServerResponse>();

  const tags = ['Decision log'];
  app.get(
    '/events',
    {
      schema: {
        summary: 'Logged decisions, newest first, filtered; `next_before` pages back',
        tags,
        querystring: ListQuery,
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            count: Type.Integer(),
            events: Type.Array(EventBody),
            next_before: Nullable(Type.Integer()),
          }),
        },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit === undefined ? DEFAULT_EVENT_LIMIT : parseLimit(q.limit);
      const list = events.list({
        limit,
        before: q.before === undefined ? undefined : parseEventCursor(q.before, 'before'),
        sourceId: q.source_id,
        target: q.target,
        mode: q.mode === undefined ? undefined : checkMode(q.mode),
        q: q.q,
      });
      const last = list[list.length - 1];
      return {
        ok: true,
        count: list.length,
        events: list.map(eventView),
        // Another page may follow only when this one is full.
        next_before: list.length === limit && last ? last.seq : null,
      };
    },
  );

  app.get(
    '/events/stream',
    {
      config: { queryKey: true },
      schema: {
        summary: 'Each decision as it is logged, as Server-Sent Events',
        description:
          'Events named `decision`, each `data` one event as GET /events shows it and `id` its ' +
          '`seq`; a comment line every 15 s. Reconnect with Last-Event-ID to get what was missed ' +
          '(500 at most). The key may come as `?key=`: EventSource cannot send headers.',
        tags,
        querystring: StreamQuery,
        response: {
          200: {
            description: 'A text/event-stream that stays open',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
        },
      },
    },
    (request, reply) => {
      const q = request.query;
      const mode = q.mode === undefined ? undefined : checkMode(q.mode);
      const lastId = request.headers['last-event-id'];
      const after =
        typeof lastId === 'string' && lastId !== ''
          ? parseEventCursor(lastId, 'Last-Event-ID')
          : undefined;
      const wanted = (e: StoredEvent) =>
        (q.source_id === undefined || e.sourceId === q.source_id) &&
        (q.target === undefined || e.target === q.target) &&
        (mode === undefined || e.mode === mode);

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // Tells nginx-style proxies not to hold the stream back.
        'x-accel-buffering': 'no',
      });
      // `retry`: how long EventSource waits before reconnecting after a drop.
      res.write(`retry: 2000\n: connected, event log ${log.level}\n\n`);
      streams.add(res);
      const format = (e: StoredEvent) =>
        `id: ${e.seq}\nevent: decision\ndata: ${JSON.stringify(eventView(e))}\n\n`;
      // A reconnecting EventSource sends the last id it saw: what it missed is sent first, from
      // the log. Read and subscribe happen in one synchronous step, so no batch falls between.
      if (after !== undefined) {
        const missed = events.list({
          limit: MAX_EVENT_LIMIT,
          after,
          sourceId: q.source_id,
          target: q.target,
          mode,
        });
        res.write(missed.map(format).join(''));
      }

      const close = () => {
        unsubscribe();
        clearInterval(heartbeat);
        streams.delete(res);
      };
      const send = (chunk: string) => {
        if (res.writableLength + chunk.length > maxBuffered) {
          request.log.warn(
            { buffered: res.writableLength },
            'event stream client dropped: it reads too slowly',
          );
          close();
          res.destroy();
          return;
        }
        res.write(chunk);
      };
      const unsubscribe = log.subscribe((e) => {
        if (wanted(e)) send(format(e));
      });
      const heartbeat = setInterval(() => send(': heartbeat\n\n'), heartbeatMs);
      heartbeat.unref();
      res.on('close', close);
    },
  );

  app.get(
    '/events/:id',
    {
      schema: {
        summary: 'One logged decision',
        tags,
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: {
          200: Type.Object({ ok: Type.Boolean(), event: EventBody }),
          ...errorResponses(404),
        },
      },
    },
    async (request) => {
      const event = events.get(request.params.id);
      if (!event) throw new EventNotFound(request.params.id);
      return { ok: true, event: eventView(event) };
    },
  );

  // Open streams would keep the server from closing: end them first.
  app.addHook('preClose', (done) => {
    for (const res of streams) res.end();
    streams.clear();
    done();
  });
};

function parseLimit(raw: string): number {
  const n = /^\d{1,4}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_EVENT_LIMIT)) {
    throw new ValidationError(`limit must be an integer from 1 to ${MAX_EVENT_LIMIT}`);
  }
  return n;
}

function checkMode(mode: string): string {
  if (!(MODES as readonly string[]).includes(mode)) {
    throw new ValidationError(`mode must be one of ${MODES.join(', ')}`);
  }
  return mode;
}
