/**
 * The frame decoder on its own: events as Wyoming writers send them, however the bytes are split,
 * and every size and shape a network can get wrong, each reported once with what it accepts.
 */
import { describe, expect, it } from 'vitest';
import {
  encodeEvent,
  FrameDecoder,
  MAX_DATA_BYTES,
  MAX_HEADER_BYTES,
  type Decoded,
} from '../../src/wyoming/framing.js';
import { frame, transcript } from '../helpers/wyoming-client.js';

const events = (decoded: Decoded[]) =>
  decoded.map((d) => (d.kind === 'event' ? { type: d.event.type, data: d.event.data } : d));

function decodeAll(chunks: Buffer[]): Decoded[] {
  const decoder = new FrameDecoder();
  return chunks.flatMap((c) => decoder.push(c));
}

const STREAM = Buffer.concat([
  frame('describe'),
  transcript('Astraea, who is at the door?', { satellite_id: 'assist_satellite.hall' }),
  frame('ping', { text: 'é ✓ 🙂' }),
  frame('audio-chunk', { rate: 16000 }, { payload: Buffer.from([0, 1, 2, 10, 10, 3]) }),
  frame('custom', { b: 2 }, { inHeader: { a: 1, b: 1 } }),
]);

const EXPECTED = [
  { type: 'describe', data: {} },
  {
    type: 'transcript',
    data: {
      text: 'Astraea, who is at the door?',
      language: 'en',
      context: { conversation_id: 'conv-01', satellite_id: 'assist_satellite.hall' },
    },
  },
  { type: 'ping', data: { text: 'é ✓ 🙂' } },
  { type: 'audio-chunk', data: { rate: 16000 } },
  // The data part is merged over the header's data.
  { type: 'custom', data: { a: 1, b: 2 } },
];

describe('FrameDecoder', () => {
  it('reads the events of a stream in one piece, payload included', () => {
    const decoded = decodeAll([STREAM]);
    expect(events(decoded)).toEqual(EXPECTED);
    const chunk = decoded[3];
    expect(chunk?.kind === 'event' && chunk.event.payload).toEqual(
      Buffer.from([0, 1, 2, 10, 10, 3]),
    );
    expect(decoded[0]?.kind === 'event' && decoded[0].event.payload).toBeNull();
  });

  it('reads the same events whatever byte offset the stream is split at', () => {
    for (let i = 0; i <= STREAM.length; i++) {
      const decoded = decodeAll([STREAM.subarray(0, i), STREAM.subarray(i)]);
      expect(events(decoded), `split at byte ${i}`).toEqual(EXPECTED);
    }
  });

  it('reads them one byte at a time, and holds a half-written frame as pending', () => {
    const decoder = new FrameDecoder();
    const decoded: Decoded[] = [];
    for (let i = 0; i < STREAM.length - 3; i++)
      decoded.push(...decoder.push(STREAM.subarray(i, i + 1)));
    expect(events(decoded)).toEqual(EXPECTED.slice(0, 4));
    expect(decoder.pending).toBeGreaterThan(0);
    decoded.push(...decoder.push(STREAM.subarray(STREAM.length - 3)));
    expect(events(decoded)).toEqual(EXPECTED);
    expect(decoder.pending).toBe(0);
  });

  it('encodes as the Wyoming library writes: version in the header, data after it', () => {
    const bytes = encodeEvent('handled', { text: 'Two people. ✓' });
    const nl = bytes.indexOf(0x0a);
    const header = JSON.parse(bytes.subarray(0, nl).toString()) as Record<string, unknown>;
    expect(header).toEqual({
      type: 'handled',
      version: expect.any(String),
      data_length: bytes.length - nl - 1,
    });
    expect(JSON.parse(bytes.subarray(nl + 1).toString())).toEqual({ text: 'Two people. ✓' });
    // No data: no data part at all.
    expect(encodeEvent('pong').toString()).toMatch(/^\{"type":"pong","version":"[\d.]+"\}\n$/);
    expect(events(decodeAll([bytes]))).toEqual([
      { type: 'handled', data: { text: 'Two people. ✓' } },
    ]);
  });

  it.each([
    ['broken JSON', '{"type": "describe"\n', 'bad_header', /not a UTF-8 JSON object/],
    ['a JSON array', '["describe"]\n', 'bad_header', /not a UTF-8 JSON object/],
    ['an empty line', '\n', 'bad_header', /not a UTF-8 JSON object/],
    ['no type', '{"data": {}}\n', 'bad_header', /without a "type"/],
    ['a number type', '{"type": 7}\n', 'bad_header', /without a "type"/],
    ['data not an object', '{"type":"x","data":[1]}\n', 'bad_header', /"data" of a "x" event/],
    [
      'a text data_length',
      '{"type":"x","data_length":"4"}\n',
      'bad_header',
      /"data_length" is not a byte count/,
    ],
    ['a negative data_length', '{"type":"x","data_length":-1}\n', 'bad_header', /"data_length"/],
    [
      'a fractional payload_length',
      '{"type":"x","payload_length":1.5}\n',
      'bad_header',
      /"payload_length"/,
    ],
    [
      'data over 64 KiB',
      `{"type":"x","data_length":${MAX_DATA_BYTES + 1}}\n`,
      'data_too_large',
      /over 64 KiB/,
    ],
    [
      'a payload over 64 KiB',
      '{"type":"x","payload_length":1000000000}\n',
      'payload_too_large',
      /over 64 KiB/,
    ],
  ])('stops at a header with %s, saying so once', (_what, line, code, message) => {
    const decoder = new FrameDecoder();
    const decoded = decoder.push(Buffer.concat([Buffer.from(line), frame('describe')]));
    expect(decoded).toHaveLength(1);
    const [only] = decoded;
    expect(only?.kind).toBe('error');
    if (only?.kind !== 'error') return;
    expect(only.error).toMatchObject({ code, fatal: true });
    expect(only.error.message).toMatch(message);
    expect(decoder.failed).toBe(true);
    expect(decoder.push(frame('describe'))).toEqual([]);
  });

  it('stops at a header line over 64 KiB, even before its newline arrives', () => {
    const decoder = new FrameDecoder();
    const long = Buffer.alloc(MAX_HEADER_BYTES + 1, 0x20);
    const decoded: Decoded[] = [];
    for (let i = 0; i < long.length; i += 1000)
      decoded.push(...decoder.push(long.subarray(i, i + 1000)));
    expect(decoded).toEqual([
      {
        kind: 'error',
        error: { code: 'header_too_large', message: 'a header line over 64 KiB', fatal: true },
      },
    ]);
    expect(decoder.pending).toBe(0);
  });

  it('accepts a header line of just under 64 KiB', () => {
    const pad = 'x'.repeat(MAX_HEADER_BYTES - 40);
    const decoded = decodeAll([Buffer.from(`{"type":"ping","data":{"text":"${pad}"}}\n`)]);
    expect(decoded[0]?.kind).toBe('event');
  });

  it('reports data that is not JSON as an error and reads on', () => {
    const bad = Buffer.concat([
      Buffer.from('{"type":"transcript","data_length":5}\n'),
      Buffer.from('{oops'),
    ]);
    const invalidUtf8 = Buffer.concat([
      Buffer.from('{"type":"ping","data_length":4}\n'),
      Buffer.from([0x22, 0xff, 0xfe, 0x22]),
    ]);
    const decoded = decodeAll([bad, invalidUtf8, frame('describe')]);
    expect(decoded).toEqual([
      {
        kind: 'error',
        error: {
          code: 'bad_data',
          message: 'the data of a "transcript" event is not a UTF-8 JSON object',
          fatal: false,
        },
      },
      {
        kind: 'error',
        error: {
          code: 'bad_data',
          message: 'the data of a "ping" event is not a UTF-8 JSON object',
          fatal: false,
        },
      },
      { kind: 'event', event: { type: 'describe', data: {}, payload: null } },
    ]);
  });
});
