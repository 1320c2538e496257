// Bundles dist/cli.js (tsc output) into dist/echonet.mjs, the file the `echonet` command runs.
// One file starts ~250 ms faster than hundreds of ESM modules (bench/NOTES.md). Whitespace and
// comments are dropped but names are kept, so stack traces still name functions.
import { chmodSync, cpSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const outfile = 'dist/echonet.mjs';
// The routing-table worker (src/routing/table-worker.ts) is its own small bundle, so a worker
// starts by loading the matcher and the store, not the whole server.
const workerOutfile = 'dist/table-worker.mjs';
// The decision log's writer thread (src/store/event-worker.ts), likewise: the store alone.
const eventWorkerOutfile = 'dist/event-worker.mjs';
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // A native addon: loaded from node_modules at run time.
  external: ['better-sqlite3'],
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  banner: {
    js: "import { createRequire as __echonetRequire } from 'node:module'; const require = __echonetRequire(import.meta.url);",
  },
};
// MQTT.js (0.6 MB) is its own bundle too, loaded by `await import('mqtt')` only when
// ECHONET_MQTT_URL is set: an Echonet without MQTT neither parses nor keeps its source. Likewise
// the API documentation's @fastify/swagger (with its YAML writer) and @fastify/swagger-ui, loaded
// on the first GET /openapi.json or /docs.
const mqttOutfile = 'dist/mqtt.mjs';
const swaggerOutfile = 'dist/swagger.mjs';
const swaggerUiOutfile = 'dist/swagger-ui.mjs';
const apart = {
  name: 'apart',
  setup(b) {
    b.onResolve({ filter: /^mqtt$/ }, () => ({ path: './mqtt.mjs', external: true }));
    b.onResolve({ filter: /^@fastify\/swagger$/ }, () => ({
      path: './swagger.mjs',
      external: true,
    }));
    b.onResolve({ filter: /^@fastify\/swagger-ui$/ }, () => ({
      path: './swagger-ui.mjs',
      external: true,
    }));
  },
};
// The version is written into the bundle: dist/version.js reads ../package.json at run time, which
// a bundle copied away from the package (an install by hand, a container layer) would not find.
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const versionInline = {
  name: 'version-inline',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/]version\.js$/ }, () => ({
      contents: `export const VERSION = ${JSON.stringify(version)};`,
      loader: 'js',
    }));
  },
};
await build({
  ...common,
  entryPoints: ['dist/cli.js'],
  outfile,
  plugins: [apart, versionInline],
});
await build({
  ...common,
  stdin: { contents: "export { connect } from 'mqtt';", resolveDir: '.' },
  outfile: mqttOutfile,
});
await build({
  ...common,
  stdin: { contents: "export { default } from '@fastify/swagger';", resolveDir: '.' },
  outfile: swaggerOutfile,
});
await build({
  ...common,
  stdin: { contents: "export { default } from '@fastify/swagger-ui';", resolveDir: '.' },
  outfile: swaggerUiOutfile,
});
await build({
  ...common,
  entryPoints: ['dist/routing/table-worker.js'],
  outfile: workerOutfile,
  plugins: [versionInline],
});
await build({
  ...common,
  entryPoints: ['dist/store/event-worker.js'],
  outfile: eventWorkerOutfile,
  plugins: [versionInline],
});

// V8 keeps a script's source in memory for as long as it runs, as one byte a character only while
// every character is Latin-1; a single one above U+00FF doubles it (2 → 4+ MB resident).
for (const file of [
  outfile,
  workerOutfile,
  eventWorkerOutfile,
  mqttOutfile,
  swaggerOutfile,
  swaggerUiOutfile,
]) {
  const text = readFileSync(file, 'utf8');
  const wide = /[\u0100-\u{10ffff}]/u.exec(text);
  if (wide) {
    const line = text.slice(0, wide.index).split('\n').length;
    console.error(
      `${file}: character U+${wide[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0')} ` +
        `on line ${line}; write it as an escape in the source so the bundle stays Latin-1`,
    );
    process.exit(1);
  }
  console.log(`${file}: ${(statSync(file).size / 1e6).toFixed(2)} MB`);
}
chmodSync(outfile, 0o755);

// Swagger UI's page loads its scripts and styles from files @fastify/swagger-ui serves from disk:
// copied beside the bundle, where src/http/openapi.ts looks first, so /docs works from dist/ alone.
const swaggerUiStatic = join(
  dirname(createRequire(import.meta.url).resolve('@fastify/swagger-ui/package.json')),
  'static',
);
rmSync('dist/swagger-ui', { recursive: true, force: true });
cpSync(swaggerUiStatic, 'dist/swagger-ui', {
  recursive: true,
  // The un-bundled copy of swagger-ui-bundle.js; the page never loads it.
  filter: (source) => !source.endsWith('/swagger-ui.js'),
});
