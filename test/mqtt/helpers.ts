/** An Echonet test app with its MQTT front end started against a test broker, and connected. */
import { startTestApp, type TestApp, type TestAppOptions } from '../helpers/app.js';
import type { Broker } from '../helpers/mqtt-broker.js';
import { waitFor } from '../helpers/wait.js';

export async function startMqttApp(
  broker: Broker,
  env: Record<string, string> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const t = await startTestApp({ ECHONET_MQTT_URL: broker.url, ...env }, options);
  await t.app.mqtt.start();
  await waitFor(() => t.app.mqtt.status === 'connected', { what: 'Echonet to join the broker' });
  return t;
}

/** A pino logger writing every line (trace and up) into `lines`. */
export function capturingLogger(lines: string[]): Record<string, unknown> {
  return { level: 'trace', stream: { write: (l: string) => lines.push(l) } };
}
