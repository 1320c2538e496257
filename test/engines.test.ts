/**
 * `npm install` from a clone prints no engine warning on the Node versions Echonet is tested on
 * (issue 11): every package the lock file installs, dev tools included (a clone installs them),
 * accepts the Node running the tests. `.ci/run` runs this on Node 20, 22 and 24. It caught
 * content-disposition 3 (Node >= 22), brought in by @fastify/swagger-ui 6 through
 * @fastify/static 10; swagger-ui 5.2 uses @fastify/static 9 and content-disposition 1.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const semver = createRequire(import.meta.url)('semver') as {
  satisfies(version: string, range: string): boolean;
};

interface LockEntry {
  readonly version?: string;
  readonly optional?: boolean;
  readonly engines?: { readonly node?: string } | readonly string[];
}

const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8')) as {
  packages: Record<string, LockEntry>;
};

describe('package-lock.json', () => {
  it(`installs nothing that refuses Node ${process.version}`, () => {
    const refusing = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.optional !== true)
      .flatMap(([path, p]) => {
        const range = Array.isArray(p.engines) ? undefined : (p.engines as { node?: string })?.node;
        return range && !semver.satisfies(process.version, range)
          ? [`${path.replace(/^.*node_modules\//, '')}@${p.version} (node ${range})`]
          : [];
      });
    expect(refusing).toEqual([]);
  });
});
