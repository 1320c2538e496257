/**
 * GET /events/stream on a real socket, read by a real HTTP client the way EventSource reads it:
 * delivery of a decision (with the time it took, as a figure), heartbeats, the key as a header or
 * `?key=`, and a client too slow to read being dropped while the others carry on.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { requestForLog } from '../../src/app.js';
import { API_KEY, register } from '../helpers/app.js';
import { startListeningApp, type ListeningApp } from '../helpers/listening-app.js';
import { startRecordingTarget } from '../helpers/recording-target.js';
import { waitFor, within } from '../helpers/wait.js';

interface SseEvent {
  readonly id: string | undefined;
  readonly event: string | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the event's JSON
  readonly data: any;
  /** performance.now() when its last line arrived. */
  readonly at: number;
}

interface Stream {
  readonly status: number;
  readonly events: SseEvent[];
  readonly comments: string[];
  readonly response: IncomingMessage;
  close(): void;
}

/** Opens the stream and parses it as EventSource would (fields, blank line ends an event). */
function openStream(app: ListeningApp, path: string, headers: Record<string, string> = {}) {
  return new Promise<Stream>((resolve, reject) => {
    const req = httpRequest(`${app.url}${path}`, { headers }, (response) => {
      const events: SseEvent[] = [];
      const comments: string[] = [];
      let buffer = '';
      let fields: Record<string, string> = {};
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let nl;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line === '') {
            if (fields.data !== undefined) {
              events.push({
                id: fields.id,
                event: fields.event,
                data: JSON.parse(fields.data),
                at: performance.now(),
              });
            }
            fields = {};
          } else if (line.startsWith(':')) comments.push(line.slice(1).trim());
          else {
            const colon = line.indexOf(':');
            fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '');
          }
        }
      });
      response.on('error', () => {});
      resolve({
        status: response.statusCode ?? 0,
        events,
        comments,
        response,
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /events/stream', () => {
  it('delivers a decision to a listening client (and reports how fast)', async () => {
    const target = await startRecordingTarget();
    const app = await startListeningApp();
    try {
      await register(app, 'astraea', target.url, ['hey astraea']);
      const stream = await openStream(app, '/events/stream', { 'x-api-key': API_KEY });
      expect(stream.status).toBe(200);
      expect(stream.response.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      await waitFor(() => stream.comments.some((c) => c.startsWith('connected')));

      const samples: number[] = [];
      for (let i = 0; i < 20; i++) {
        const sent = performance.now();
        const res = await app.request({
          method: 'POST',
          url: '/text',
          payload: { source_id: 'kitchen', text: `hey astraea number ${i}` },
        });
        const id = res.json().event_id as string;
        const event = await waitFor(() => stream.events.find((e) => e.data.id === id), {
          what: `event ${id} on the stream`,
        });
        samples.push(event.at - sent);
        expect(event.event).toBe('decision');
        expect(event.id).toBe(String(event.data.seq));
        expect(event.data).toMatchObject({
          source_id: 'kitchen',
          text: `hey astraea number ${i}`,
          mode: 'session_open',
          target: 'astraea',
          forwarded: true,
        });
      }
      samples.sort((a, b) => a - b);
      const median = samples[Math.floor(samples.length / 2)]!;
      const worst = samples[samples.length - 1]!;
      // The figure the issue asks for: within 100 ms, from sending POST /text to the event
      // arriving, through a 10 ms batch window. Held for the median; the worst of 20 is reported,
      // not held, since a busy shared machine can stall any single run.
      console.log(
        `SSE delivery, POST /text sent → event received (20 runs): median ${median.toFixed(1)} ms, worst ${worst.toFixed(1)} ms`,
      );
      expect(median).toBeLessThan(100);
      expect(worst).toBeLessThan(10_000);
      stream.close();
    } finally {
      await app.close();
      await target.close();
    }
  });

  it('accepts the key as ?key= (EventSource), refuses a missing or wrong one, and filters', async () => {
    const app = await startListeningApp();
    try {
      const none = await openStream(app, '/events/stream');
      expect(none.status).toBe(401);
      const wrong = await openStream(app, '/events/stream?key=not-the-key');
      expect(wrong.status).toBe(401);
      const porch = await openStream(
        app,
        `/events/stream?key=${encodeURIComponent(API_KEY)}&source_id=porch`,
      );
      expect(porch.status).toBe(200);
      const all = await openStream(app, `/events/stream?key=${encodeURIComponent(API_KEY)}`);
      for (const source_id of ['kitchen', 'porch']) {
        await app.request({
          method: 'POST',
          url: '/text',
          payload: { source_id, text: 'hello' },
        });
      }
      await waitFor(() => all.events.length === 2, { what: 'both events on the full stream' });
      await waitFor(() => porch.events.length === 1, { what: 'the porch event' });
      expect(porch.events[0]!.data.source_id).toBe('porch');
      porch.close();
      all.close();
    } finally {
      await app.close();
    }
  });

  it('sends a reconnecting client what it missed since Last-Event-ID, then live events', async () => {
    const app = await startListeningApp();
    try {
      const say = (source_id: string, text: string) =>
        app.request({ method: 'POST', url: '/text', payload: { source_id, text } });
      const first = await openStream(app, '/events/stream', { 'x-api-key': API_KEY });
      await say('kitchen', 'one');
      const seen = await waitFor(() => first.events[0], { what: 'the first event' });
      first.close();
      for (const text of ['two', 'three']) await say('kitchen', text);
      await say('porch', 'elsewhere');
      await waitFor(
        async () => (await app.request({ method: 'GET', url: '/events' })).json().count === 4,
      );
      const again = await openStream(app, '/events/stream?source_id=kitchen', {
        'x-api-key': API_KEY,
        'last-event-id': seen.id!,
      });
      await waitFor(() => again.events.length === 2, { what: 'the two missed events' });
      await say('kitchen', 'four');
      await waitFor(() => again.events.length === 3, { what: 'the live event' });
      expect(again.events.map((e) => e.data.text)).toEqual(['two', 'three', 'four']);
      again.close();
      const bad = await openStream(app, '/events/stream', {
        'x-api-key': API_KEY,
        'last-event-id': 'yesterday',
      });
      expect(bad.status).toBe(400);
    } finally {
      await app.close();
    }
  });

  it('sends heartbeat comments while nothing happens', async () => {
    const app = await startListeningApp({}, { eventStream: { heartbeatMs: 20 } });
    try {
      const stream = await openStream(app, '/events/stream', { 'x-api-key': API_KEY });
      await waitFor(() => stream.comments.filter((c) => c === 'heartbeat').length >= 2, {
        what: 'two heartbeats',
      });
      stream.close();
    } finally {
      await app.close();
    }
  });

  it('drops a client that stops reading, never buffering without bound; others carry on', async () => {
    const lines: string[] = [];
    const app = await startListeningApp(
      {},
      {
        eventStream: { maxBufferedBytes: 64 * 1024 },
        logger: { level: 'warn', stream: { write: (l: string) => lines.push(l) } },
      },
    );
    try {
      const reader = await openStream(app, '/events/stream', { 'x-api-key': API_KEY });
      // A raw socket that sends the request and then never reads a byte.
      const slow = connect(Number(new URL(app.url).port), '127.0.0.1');
      slow.write(`GET /events/stream HTTP/1.1\r\nHost: x\r\nX-API-Key: ${API_KEY}\r\n\r\n`);
      slow.pause();
      const slowClosed = new Promise<void>((resolve) => slow.on('close', () => resolve()));
      await waitFor(() => reader.comments.length > 0);

      const dropped = () => lines.some((l) => l.includes('event stream client dropped'));
      const text = `hello ${'x'.repeat(480)}`;
      let sent = 0;
      // Until the server gives up on the slow client: its kernel buffers fill first, then the
      // server's own bound. Bounded so a broken drop fails instead of running forever.
      while (!dropped() && sent < 40_000) {
        await Promise.all(
          Array.from({ length: 50 }, () =>
            app.app.inject({
              method: 'POST',
              url: '/text',
              headers: { 'x-api-key': API_KEY },
              payload: { source_id: 'kitchen', text },
            }),
          ),
        );
        sent += 50;
        // Let the log write this round (and the stream send it) before the next.
        await waitFor(() => reader.events.length === sent || dropped(), {
          what: `${sent} events at the reading client`,
        });
      }
      expect(dropped()).toBe(true);
      // The slow connection is closed by the server (seen once it reads what was buffered).
      slow.resume();
      slow.on('data', () => {});
      await within(slowClosed, 15_000, 'the slow client’s connection to close');
      // The client that reads got every event, before and after the drop.
      await app.app.inject({
        method: 'POST',
        url: '/text',
        headers: { 'x-api-key': API_KEY },
        payload: { source_id: 'kitchen', text: 'after the drop' },
      });
      await waitFor(() => reader.events.some((e) => e.data.text === 'after the drop'));
      expect(reader.events.length).toBe(sent + 1);
      console.log(`slow SSE client dropped after ${sent} events of ~1 KB`);
      reader.close();
    } finally {
      await app.close();
    }
  });

  it('closes open streams when the server closes', async () => {
    const app = await startListeningApp();
    const stream = await openStream(app, '/events/stream', { 'x-api-key': API_KEY });
    const ended = new Promise<void>((resolve) => stream.response.on('close', () => resolve()));
    await within(app.close(), 15_000, 'the app to close with a stream open');
    await within(ended, 15_000, 'the stream to end');
  });
});

describe('logs', () => {
  it('never show the ?key= parameter', () => {
    const logged = requestForLog({
      method: 'GET',
      url: `/events/stream?source_id=porch&key=${API_KEY}&mode=idle`,
      ip: '127.0.0.1',
    });
    expect(logged.url).toBe('/events/stream?source_id=porch&key=[Redacted]&mode=idle');
    expect(JSON.stringify(logged)).not.toContain(API_KEY);
  });

  it('mask ?key= wherever the app logs a request, a stream opened with it included', async () => {
    const lines: string[] = [];
    const app = await startListeningApp(
      {},
      { logger: { level: 'trace', stream: { write: (l: string) => lines.push(l) } } },
    );
    try {
      const stream = await openStream(app, `/events/stream?key=${encodeURIComponent(API_KEY)}`);
      expect(stream.status).toBe(200);
      stream.close();
      const wrong = await openStream(app, '/events/stream?key=a-wrong-key-0123456789');
      expect(wrong.status).toBe(401);
      app.app.log.info({ req: { url: `/events/stream?key=${API_KEY}` } }, 'probe');
      await waitFor(() => lines.some((l) => l.includes('probe')));
      expect(lines.join('\n')).toContain('key=[Redacted]');
      expect(lines.join('\n')).not.toContain(API_KEY);
      expect(lines.join('\n')).not.toContain('a-wrong-key-0123456789');
    } finally {
      await app.close();
    }
  });
});
