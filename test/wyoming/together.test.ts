/**
 * The Wyoming front end with what the other parts of the issue bring, end to end over real
 * sockets: the target's reply spoken back, a name waking its target where HTTP would not, a
 * binding's port sending what names no one to its own target, `end_session`, and the decision
 * log recording the front end and Home Assistant's conversation id.
 */
import { describe, expect, it } from 'vitest';
import { register } from '../helpers/app.js';
import { logged } from '../helpers/text.js';
import { ask, transcript } from '../helpers/wyoming-client.js';
import { waitFor } from '../helpers/wait.js';
import { startWyomingApp } from './helpers.js';
import { recordingTarget } from '../helpers/recording-target.js';

describe('Wyoming with replies, names, bindings and the log', () => {
  it('speaks the reply, wakes by name, and logs the conversation id', async () => {
    const astraea = await recordingTarget();
    astraea.behave({
      kind: 'answer',
      body: JSON.stringify({ reply: 'Nobody is at the door.', end_session: true }),
    });
    const t = await startWyomingApp();
    await register(t, 'astraea', astraea.url, ['hey astraea']);

    const answer = await ask(
      t.port,
      transcript("Astraea, who's at the door?", { conversation_id: 'ha-42', satellite_id: 'hall' }),
    );
    expect(answer).toMatchObject({ type: 'handled', data: { text: 'Nobody is at the door.' } });
    const [got] = await astraea.waitFor(1);
    expect(got!.body).toMatchObject({
      source_id: 'hall',
      mode: 'triggered',
      text: "who's at the door?",
    });

    // end_session: the next utterance needs a name again.
    const after = await ask(t.port, transcript('and the back door?', { satellite_id: 'hall' }));
    expect(after.type).toBe('not-handled');

    // Both decisions, once the log has written them (newest first).
    const events = await waitFor(async () => {
      const listed = (await t.request({ method: 'GET', url: '/events?source_id=hall' })).json<{
        events: { id: string }[];
      }>().events;
      return listed.length === 2 ? listed : undefined;
    });
    const first = await logged(t, events[1]!.id);
    expect(first).toMatchObject({
      front_end: 'wyoming',
      conversation_id: 'ha-42',
      reason: 'trigger_name:astraea',
      reply: 'Nobody is at the door.',
      // Opened by the name, ended by the target's end_session.
      session_change: 'ended',
    });

    // Over HTTP, where ECHONET_MATCH_NAMES (wyoming) does not apply, the name wakes no one.
    const http = await t.request({
      method: 'POST',
      url: '/text',
      payload: { source_id: 'tablet', text: "Astraea, who's at the door?" },
    });
    expect(http.json()).toMatchObject({ mode: 'idle', handled: false });
  });

  it('sends what names no one on a binding port to that binding’s target', async () => {
    const echobell = await recordingTarget();
    echobell.behave({ kind: 'answer', body: JSON.stringify({ reply: 'Ding dong.' }) });
    const t = await startWyomingApp({}, { bindings: [{ port: 0, target: 'echobell' }] });
    const port = t.listening[1]!.port;
    await register(t, 'echobell', echobell.url, ['hey echobell']);

    const answer = await ask(port, transcript('ring the chime', { satellite_id: 'porch' }));
    expect(answer).toMatchObject({ type: 'handled', data: { text: 'Ding dong.' } });
    const [got] = await echobell.waitFor(1);
    expect(got!.body).toMatchObject({ source_id: 'porch', text: 'ring the chime' });

    // The main port has no default target: the same words are not handled there.
    const main = await ask(t.port, transcript('ring the chime', { satellite_id: 'kitchen' }));
    expect(main.type).toBe('not-handled');
  });
});
