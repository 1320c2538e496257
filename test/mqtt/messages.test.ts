/** MQTT payloads ↔ utterances, table-driven: what each topic accepts and the one line it says. */
import { describe, expect, it } from 'vitest';
import {
  MAX_MESSAGE_BYTES,
  parseMessage,
  sessionEnded,
  TERMINATION,
  topicLevel,
  topicsFor,
} from '../../src/mqtt/messages.js';

const topics = topicsFor('echonet');
const parse = (topic: string, body: unknown) =>
  parseMessage(topic, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), topics);

describe('MQTT messages', () => {
  it('reads Hermes textCaptured as an utterance of the site', () => {
    expect(
      parse('hermes/asr/textCaptured', {
        text: 'hey astraea lights',
        likelihood: 0.8,
        seconds: 2,
        siteId: 'hall',
        sessionId: 'abc',
        wakewordId: 'porcupine',
      }),
    ).toEqual({
      source_id: 'hall',
      text: 'hey astraea lights',
      confidence: 0.8,
      frontEnd: 'mqtt',
      conversationId: 'abc',
    });
    // Hermes' defaults: siteId "default", sessionId "" (none).
    expect(parse('hermes/asr/textCaptured', { text: 'hi', likelihood: 1, seconds: 0 })).toEqual({
      source_id: 'default',
      text: 'hi',
      confidence: 1,
      frontEnd: 'mqtt',
      conversationId: null,
    });
    // Silence: nothing to route, nothing wrong.
    expect(parse('hermes/asr/textCaptured', { text: ' ', likelihood: 0, siteId: 'x' })).toBeNull();
  });

  it('reads its own topic as POST /text reads a body', () => {
    expect(
      parse('echonet/text', {
        source_id: 'flow',
        text: 'hi',
        room: 'hall',
        ts: 5,
        confidence: null,
        frontEnd: 'http',
        defaultTarget: 'evil',
      }),
    ).toEqual({
      source_id: 'flow',
      text: 'hi',
      room: 'hall',
      ts: 5,
      confidence: null,
      frontEnd: 'mqtt',
    });
  });

  it.each([
    ['echonet/text', 'not json', 'malformed', 'the payload is not JSON: expected a JSON object'],
    ['echonet/text', '"text"', 'malformed', 'the payload is not a JSON object'],
    [
      'echonet/text',
      { text: 'hi' },
      'wrong_type',
      'field source_id: expected a string of 1 to 64 characters',
    ],
    [
      'echonet/text',
      { source_id: 'x', text: '' },
      'wrong_type',
      'field text: expected a string of 1 to 500 characters',
    ],
    [
      'echonet/text',
      { source_id: 'x', text: 'hi', room: 3 },
      'wrong_type',
      'field room: expected a string of at most 64 characters or null',
    ],
    [
      'echonet/text',
      { source_id: 'x', text: 'hi', ts: -1 },
      'wrong_type',
      'field ts: expected unix seconds (a number from 0) or null',
    ],
    [
      'echonet/text',
      { source_id: 'x', text: 'hi', confidence: '1' },
      'wrong_type',
      'field confidence: expected a number from 0 to 1 or null',
    ],
    ['hermes/asr/textCaptured', { text: 5 }, 'wrong_type', 'field text: expected a string'],
    [
      'hermes/asr/textCaptured',
      { text: 'x'.repeat(501) },
      'wrong_type',
      'field text: expected at most 500 characters',
    ],
    [
      'hermes/asr/textCaptured',
      { text: 'hi', siteId: '' },
      'wrong_type',
      'field siteId: expected a string of 1 to 64 characters',
    ],
    [
      'hermes/asr/textCaptured',
      { text: 'hi', likelihood: 1.5 },
      'wrong_type',
      'field likelihood: expected a number from 0 to 1',
    ],
    [
      'hermes/asr/textCaptured',
      { text: 'hi', sessionId: 1 },
      'wrong_type',
      'field sessionId: expected a string of at most 255 characters',
    ],
    [
      'hermes/asr/textCaptured',
      { text: 'hi', seconds: 'two' },
      'wrong_type',
      'field seconds: expected a number',
    ],
    [
      'hermes/hotword/x/detected',
      { siteId: 9 },
      'wrong_type',
      'field siteId: expected a string of 1 to 64 characters',
    ],
  ])('%s %j is dropped as %s', (topic, body, kind, message) => {
    expect(parse(topic, body)).toEqual({ kind, message });
  });

  it('refuses an oversized payload before reading it', () => {
    const big = Buffer.alloc(MAX_MESSAGE_BYTES + 1, ' ');
    expect(parseMessage('echonet/text', big, topics)).toMatchObject({ kind: 'oversized' });
  });

  it('reads a wake word of any id', () => {
    expect(parse('hermes/hotword/porcupine/detected', { siteId: 'hall' })).toEqual({
      wake: true,
      siteId: 'hall',
    });
  });

  it('publishes decisions under one safe topic level per source', () => {
    expect(topicsFor('house/echonet').decision('kitchen')).toBe('house/echonet/decision/kitchen');
    expect(topicLevel('a/b+c#d')).toBe('a_b_c_d');
  });

  it('maps every end reason to a Hermes termination reason', () => {
    const hermes = ['nominal', 'abortedByUser', 'intentNotRecognized', 'timeout', 'error'];
    for (const reason of Object.values(TERMINATION)) expect(hermes).toContain(reason);
    expect(JSON.parse(sessionEnded('s1', 'hall', 'astraea', 'cancel'))).toEqual({
      sessionId: 's1',
      siteId: 'hall',
      customData: 'astraea',
      termination: { reason: 'abortedByUser' },
    });
  });
});
