/**
 * A snapshot of the registry compiled for routing: the phrase matcher plus each target's listen
 * URL. Rebuilt whenever the registry changes (live-table.ts), so no request reads the database.
 * A table crosses threads as `RoutingTableData`: plain data and typed arrays, rebuilt into objects
 * on the receiving side without compiling again.
 */
import {
  compileMatcher,
  CompiledMatcher,
  type MatchOptions,
  type MatcherData,
  type PhraseMatcher,
  type PhraseOwner,
} from '../matching/matcher.js';

export interface RouteTarget {
  readonly name: string;
  readonly baseUrl: string;
  readonly phrases: readonly string[];
}

export interface RoutingTable {
  readonly triggers: PhraseMatcher;
  /** The target's `/listen` URL, or undefined if it is not registered. */
  listenUrl(target: string): string | undefined;
  has(target: string): boolean;
  /** Every registered target's name. */
  names(): Iterable<string>;
  /** Frees the table's memory once it is swapped out (live-table.ts); it must not be used after. */
  release(): void;
}

/** A routing table as it crosses between threads (post it with `transferList(data)`). */
export interface RoutingTableData {
  readonly matcher: MatcherData;
  readonly names: readonly string[];
  readonly listenUrls: readonly string[];
}

/** Where a target listens: `base_url` without trailing slashes, plus `/listen`. */
export function listenUrlFor(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/listen`;
}

export function buildRoutingTable(
  targets: readonly RouteTarget[],
  options: MatchOptions,
): RoutingTable {
  return tableOf(
    compileTriggers(targets, options),
    targets.map((t) => t.name),
    targets.map((t) => listenUrlFor(t.baseUrl)),
  );
}

/** Compiles a table straight into its data form, for a worker to post. */
export function buildRoutingTableData(
  targets: readonly RouteTarget[],
  options: MatchOptions,
): RoutingTableData {
  return {
    matcher: compileTriggers(targets, options).toData(),
    names: targets.map((t) => t.name),
    listenUrls: targets.map((t) => listenUrlFor(t.baseUrl)),
  };
}

/** The table `buildRoutingTableData` described, on this thread. */
export function routingTableFrom(data: RoutingTableData): RoutingTable {
  return tableOf(CompiledMatcher.from(data.matcher), data.names, data.listenUrls);
}

/**
 * Every target's phrases, and its name as an entry of kind `name` ("echo_bell" is said "echo
 * bell"): whether a name may wake its target is decided per utterance (`FindOptions.names`), so
 * turning ECHONET_MATCH_NAMES on or off needs no new table.
 */
function compileTriggers(targets: readonly RouteTarget[], options: MatchOptions): CompiledMatcher {
  const phrases: PhraseOwner[] = [];
  for (const t of targets) {
    for (const phrase of t.phrases) phrases.push({ phrase, target: t.name });
    phrases.push({ phrase: t.name, target: t.name, kind: 'name' });
  }
  return compileMatcher(phrases, options);
}

function tableOf(
  triggers: CompiledMatcher,
  names: readonly string[],
  listenUrls: readonly string[],
): RoutingTable {
  const urls = new Map<string, string>();
  names.forEach((name, i) => urls.set(name, listenUrls[i]!));
  return {
    triggers,
    listenUrl: (target) => urls.get(target),
    has: (target) => urls.has(target),
    names: () => urls.keys(),
    release: () => triggers.release(),
  };
}
