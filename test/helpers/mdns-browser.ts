/**
 * A browser for `_echonet._tcp` (or, as Home Assistant runs one, `_wyoming._tcp`) from
 * bonjour-service, keeping every service it has seen come and go; closed after the test file.
 */
import { Bonjour, type Service } from 'bonjour-service';
import { afterFile } from './cleanup.js';

export interface EchonetBrowser {
  readonly up: Service[];
  readonly down: Service[];
  close(): Promise<void>;
}

export function browseEchonet(type: 'echonet' | 'wyoming' = 'echonet'): EchonetBrowser {
  const bonjour = new Bonjour();
  const up: Service[] = [];
  const down: Service[] = [];
  const browser = bonjour.find({ type });
  browser.on('up', (s) => up.push(s));
  browser.on('down', (s) => down.push(s));
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= new Promise<void>((resolve) => {
      browser.stop();
      bonjour.destroy(() => resolve());
    }));
  afterFile(close);
  return { up, down, close };
}
