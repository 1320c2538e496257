/** The ECHONET_WYOMING_* settings: what they accept, and one line naming the variable otherwise. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { bindingName } from '../../src/wyoming/front-end.js';

const noFile = { envFile: false as const };

describe('ECHONET_WYOMING_*', () => {
  it('is off by default, with a 30 s idle timeout', () => {
    expect(loadConfig({}, noFile)).toMatchObject({
      wyomingPort: undefined,
      wyomingBindings: undefined,
      wyomingIdleTimeoutS: 30,
    });
  });

  it('reads a port and bindings of port=target', () => {
    const c = loadConfig(
      {
        ECHONET_WYOMING_PORT: '10800',
        ECHONET_WYOMING_BINDINGS: '10801=astraea, 10802 = Echo_Bell',
        ECHONET_WYOMING_IDLE_TIMEOUT_S: '2.5',
      },
      noFile,
    );
    expect(c.wyomingPort).toBe(10800);
    expect(c.wyomingBindings).toEqual([
      { port: 10801, target: 'astraea' },
      { port: 10802, target: 'echo_bell' },
    ]);
    expect(c.wyomingIdleTimeoutS).toBe(2.5);
  });

  it.each([
    [
      'ECHONET_WYOMING_PORT',
      'ten',
      /ECHONET_WYOMING_PORT="ten" is invalid: expected an integer from 0 to 65535/,
    ],
    ['ECHONET_WYOMING_PORT', '65536', /ECHONET_WYOMING_PORT/],
    [
      'ECHONET_WYOMING_BINDINGS',
      '10801',
      /ECHONET_WYOMING_BINDINGS="10801" is invalid: expected a comma-separated list of port=target/,
    ],
    ['ECHONET_WYOMING_BINDINGS', '10801=astraea,10801=echobell', /each port once/],
    ['ECHONET_WYOMING_BINDINGS', '0=astraea', /ECHONET_WYOMING_BINDINGS/],
    ['ECHONET_WYOMING_BINDINGS', '10801=hey astraea', /ECHONET_WYOMING_BINDINGS/],
    ['ECHONET_WYOMING_BINDINGS', '=astraea', /ECHONET_WYOMING_BINDINGS/],
    ['ECHONET_WYOMING_BINDINGS', ',', /ECHONET_WYOMING_BINDINGS/],
    ['ECHONET_WYOMING_IDLE_TIMEOUT_S', '0', /ECHONET_WYOMING_IDLE_TIMEOUT_S="0" is invalid/],
  ])('rejects %s=%s with one line naming it', (name, value, message) => {
    expect(() => loadConfig({ [name]: value }, noFile)).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value }, noFile)).toThrow(message);
  });
});

describe('bindingName', () => {
  it('names a binding after its target, within one DNS label', () => {
    expect(bindingName('Echonet', 'astraea')).toBe('Echonet (astraea)');
    const long = bindingName('x'.repeat(63), 'a'.repeat(32));
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(63);
    expect(long.endsWith(` (${'a'.repeat(32)})`)).toBe(true);
  });
});
