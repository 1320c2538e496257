/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per module,
 * heaviest first. Run directly to summarise files: `tsx bench/lib/cpuprofile.ts a.cpuprofile`.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Cost {
  readonly name: string;
  readonly ms: number;
  readonly share: number;
}

/** Where a script lives, shortened: `fastify/lib/route.js`, `dist/matching/matcher.js`, `node:…`. */
function moduleOf(url: string): string {
  if (url === '') return '(native / V8)';
  if (url.startsWith('node:')) return url;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  return dist >= 0 ? url.slice(dist + 1) : url.replace(/^file:\/\//, '');
}

/** Collapses a module path to its package (`fastify`, `@fastify/x`) or Echonet file. */
function packageOf(module: string): string {
  if (module.startsWith('dist/') || module.startsWith('node:') || module.startsWith('('))
    return module;
  const parts = module.split('/');
  return module.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? module);
}

export interface Summary {
  /** Self time per function. */
  readonly functions: Cost[];
  /** Self time per package or Echonet file. */
  readonly packages: Cost[];
  /** Time with an Echonet (dist/) function anywhere on the synchronous stack, per function. */
  readonly echonet: Cost[];
  /** Sampled time not idle. */
  readonly busyMs: number;
}

export function summarize(path: string, top = 25): Summary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) =>
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
  );

  const label = (id: number) => {
    const frame = byId.get(id)?.callFrame;
    if (!frame) return undefined;
    const mod = moduleOf(frame.url);
    const at = frame.url ? `:${frame.lineNumber + 1}` : '';
    return { fn: `${frame.functionName || '(anonymous)'} ${mod}${at}`, mod };
  };
  const fns = new Map<string, number>();
  const pkgs = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const l = label(id);
    if (!l || l.fn.startsWith('(idle)')) continue;
    fns.set(l.fn, (fns.get(l.fn) ?? 0) + us);
    pkgs.set(packageOf(l.mod), (pkgs.get(packageOf(l.mod)) ?? 0) + us);
    busy += us;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = label(at);
      if (!f || !f.mod.startsWith('dist/') || seen.has(f.fn)) continue;
      seen.add(f.fn);
      inclusive.set(f.fn, (inclusive.get(f.fn) ?? 0) + us);
    }
  }
  const ranked = (m: Map<string, number>, n: number): Cost[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, share: us / busy }));
  return {
    functions: ranked(fns, top),
    packages: ranked(pkgs, 15),
    echonet: ranked(inclusive, 15),
    busyMs: busy / 1000,
  };
}

export function formatSummary(label: string, path: string, top = 25): string {
  const { functions, packages, echonet, busyMs } = summarize(path, top);
  const rows = (costs: Cost[]) =>
    costs.map((c) => `| ${(c.share * 100).toFixed(1)}% | ${c.ms.toFixed(0)} | \`${c.name}\` |`);
  const table = (what: string, costs: Cost[]) =>
    costs.length === 0
      ? []
      : [`| share | ms | ${what} |`, '| ---: | ---: | --- |', ...rows(costs), ''];
  return [
    `### ${label}: ${(busyMs / 1000).toFixed(1)} s of CPU (shares of that, idle excluded)`,
    '',
    ...table('self time by package / file', packages),
    ...table('self time by function', functions),
    ...table('inclusive time of Echonet functions (synchronous stack)', echonet),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const file of process.argv.slice(2)) process.stdout.write(formatSummary(file, file) + '\n');
}
