/**
 * A browser for `_echonet._tcp` from bonjour-service, as an assistant would run one, keeping every
 * service it has seen come and go; closed after the test file.
 */
import { Bonjour, type Service } from 'bonjour-service';
import { afterAll } from 'vitest';

export interface EchonetBrowser {
  readonly up: Service[];
  readonly down: Service[];
  close(): Promise<void>;
}

export function browseEchonet(): EchonetBrowser {
  const bonjour = new Bonjour();
  const up: Service[] = [];
  const down: Service[] = [];
  const browser = bonjour.find({ type: 'echonet' });
  browser.on('up', (s) => up.push(s));
  browser.on('down', (s) => down.push(s));
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= new Promise<void>((resolve) => {
      browser.stop();
      bonjour.destroy(() => resolve());
    }));
  afterAll(close);
  return { up, down, close };
}
