/**
 * The MQTT load generator, run as its own process like bench/load.ts: `connections` clients, each
 * an MQTT connection as a Rhasspy satellite has, publish the wake workload's utterances as Hermes
 * `hermes/asr/textCaptured` for their own site and wait for Echonet's answer on
 * `echonet/decision/<site>` before the next. A success is a decision with `forwarded: true`.
 *
 * Usage: mqtt-load.ts '<MqttLoadSpec JSON>'; prints one LoadResult JSON line.
 */
import type { Socket } from 'node:net';
import { connectAsync } from 'mqtt';
import type { LoadResult } from './load.js';
import { closedLoop, type ClosedLoopSpec } from './lib/closed-loop.js';
import { WAKE_TEXTS } from './lib/workload.js';

export interface MqttLoadSpec extends ClosedLoopSpec {
  readonly brokerUrl: string;
}

/** The i-th textCaptured of a site: the wake workload's text. */
export function textCaptured(i: number, siteId: string): string {
  return JSON.stringify({
    text: WAKE_TEXTS[i % WAKE_TEXTS.length],
    likelihood: 0.9,
    seconds: 1,
    siteId,
  });
}

function run(spec: MqttLoadSpec): Promise<LoadResult> {
  let next = 0;
  let clients = 0;
  return closedLoop(spec, async (w) => {
    const siteId = `mqtt-${clients++}`;
    const client = await connectAsync(spec.brokerUrl, { reconnectPeriod: 0, clean: true });
    (client.stream as Partial<Socket>).setNoDelay?.(true);
    let answered: ((forwarded: boolean) => void) | undefined;
    client.on('message', (_topic, payload) => {
      const settle = answered;
      answered = undefined;
      settle?.((JSON.parse(payload.toString('utf8')) as { forwarded: boolean }).forwarded);
    });
    client.on('close', () => answered?.(false));
    await client.subscribeAsync(`echonet/decision/${siteId}`, { qos: 1 });
    while (!w.stopped()) {
      const t0 = performance.now();
      const forwarded = new Promise<boolean>((resolve) => (answered = resolve));
      client.publish('hermes/asr/textCaptured', textCaptured(next++, siteId), { qos: 0 });
      const ok = await forwarded;
      w.record(ok, performance.now() - t0);
    }
    await client.endAsync(true);
  });
}

const arg = process.argv[2];
if (arg !== undefined) {
  const result = await run(JSON.parse(arg) as MqttLoadSpec);
  process.stdout.write(JSON.stringify(result) + '\n');
}
