/**
 * A snapshot of the registry compiled for routing: the phrase matcher plus each target's listen
 * URL. Rebuilt whenever the registry changes, so no request reads the database.
 */
import { compileMatcher, type MatchOptions, type PhraseMatcher } from './matcher.js';

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
}

/** Where a target listens: `base_url` without trailing slashes, plus `/listen`. */
export function listenUrlFor(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/listen`;
}

export function buildRoutingTable(
  targets: readonly RouteTarget[],
  options: MatchOptions,
): RoutingTable {
  const urls = new Map<string, string>();
  const phrases: { phrase: string; target: string }[] = [];
  for (const t of targets) {
    urls.set(t.name, listenUrlFor(t.baseUrl));
    for (const phrase of t.phrases) phrases.push({ phrase, target: t.name });
  }
  return {
    triggers: compileMatcher(phrases, options),
    listenUrl: (target) => urls.get(target),
    has: (target) => urls.has(target),
  };
}

export function compileCancelMatcher(phrases: readonly string[]): PhraseMatcher {
  return compileMatcher(
    phrases.map((phrase) => ({ phrase, target: 'cancel' })),
    { fuzzy: false, minScore: 1 },
  );
}
