/**
 * A target's name as its wake phrase: only at the start of an utterance (after greetings and
 * hesitations at most), only when the lookup allows names, with the fuzzy rules of phrases, and
 * the same through the routing table a worker thread posts.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MATCH_OPTIONS } from '../../src/matching/matcher.js';
import { prepareUtterance } from '../../src/matching/normalize.js';
import {
  buildRoutingTable,
  buildRoutingTableData,
  routingTableFrom,
  type RouteTarget,
} from '../../src/routing/routing-table.js';

const targets: RouteTarget[] = [
  { name: 'astraea', baseUrl: 'http://a:1', phrases: ['hey astraea'] },
  { name: 'echo_bell', baseUrl: 'http://e:1', phrases: ['ring ring'] },
  { name: 'peter', baseUrl: 'http://p:1', phrases: ['hello peter'] },
];
const table = buildRoutingTable(targets, DEFAULT_MATCH_OPTIONS);
const names = { names: true };
const find = (text: string, options?: { names?: boolean }) =>
  table.triggers.find(prepareUtterance(text), options);

describe('names as wake phrases', () => {
  it('wake their target at the start of an utterance, when names are on', () => {
    expect(find("Astraea, who's at the door?", names)).toMatchObject({
      target: 'astraea',
      phrase: 'astraea',
      kind: 'name',
      matchedText: 'Astraea',
      start: 0,
      end: 7,
      exact: true,
    });
    expect(find('peter is at the door', names)).toMatchObject({ target: 'peter', kind: 'name' });
  });

  it('never wake anyone when names are off (the default)', () => {
    expect(find("Astraea, who's at the door?")).toBeNull();
    expect(find("Astraea, who's at the door?", { names: false })).toBeNull();
    expect(find('Peter is at the door')).toBeNull();
    // Registered phrases still wake as always.
    expect(find('hey astraea lights')).toMatchObject({ target: 'astraea', kind: 'phrase' });
  });

  it('count only at the start: a name said in passing wakes nobody', () => {
    expect(find('I think Peter is at the door', names)).toBeNull();
    expect(find('tell astraea I called', names)).toBeNull();
    expect(find('is that you peter', names)).toBeNull();
  });

  it('may follow greetings and hesitations, which the match then covers', () => {
    expect(find('Hey Astraea, lights on', names)).toMatchObject({
      target: 'astraea',
      // The registered phrase "hey astraea" starts first and wins.
      kind: 'phrase',
    });
    expect(find('Um, Peter, lights on', names)).toMatchObject({
      target: 'peter',
      kind: 'name',
      matchedText: 'Um, Peter',
      start: 0,
    });
    expect(find('ok hi peter lights on', names)).toMatchObject({ target: 'peter', start: 0 });
    expect(find('so peter lights on', names)).toBeNull();
  });

  it('are said as words: echo_bell is "echo bell"', () => {
    expect(find('Echo bell, ring the door', names)).toMatchObject({
      target: 'echo_bell',
      phrase: 'echo_bell',
      matchedText: 'Echo bell',
    });
  });

  it('are matched fuzzily like phrases, with the one-word strictness', () => {
    expect(find('Astrea, what time is it', names)).toMatchObject({
      target: 'astraea',
      kind: 'name',
      exact: false,
    });
    // A possessive is talk about someone: it never wakes a one-word name.
    expect(find("Peter's coat is in the hall", names)).toBeNull();
    // "pewter" has other consonants: another word.
    expect(find('pewter cups are on the shelf', names)).toBeNull();
    // Fuzzy matching off: only the exact name.
    const exactOnly = buildRoutingTable(targets, { fuzzy: false, minScore: 1 });
    expect(exactOnly.triggers.find(prepareUtterance('Astrea, what time'), names)).toBeNull();
    expect(exactOnly.triggers.find(prepareUtterance('Astraea, what time'), names)).not.toBeNull();
  });

  it('lose to a registered phrase of another target that ties with them', () => {
    // An older file may hold such a clash (registration refuses it now): the phrase wins.
    const clash = buildRoutingTable(
      [
        { name: 'nova', baseUrl: 'http://n:1', phrases: ['hey nova'] },
        { name: 'other', baseUrl: 'http://o:1', phrases: ['nova'] },
      ],
      DEFAULT_MATCH_OPTIONS,
    );
    expect(clash.triggers.find(prepareUtterance('nova, lights'), names)).toMatchObject({
      target: 'other',
      kind: 'phrase',
    });
  });

  it('give the near miss of an idle utterance only where they could have woken', () => {
    const near = (text: string, options?: { names?: boolean }) =>
      table.triggers.nearMiss?.(prepareUtterance(text), options) ?? null;
    expect(near('Echo bell, lights', names)).toMatchObject({ target: 'echo_bell', kind: 'name' });
    expect(near('Echo bell, lights')?.kind).not.toBe('name');
    expect(near('lights for echo bell', names)?.kind).not.toBe('name');
  });

  it('survive the trip from a worker thread (the table as data)', () => {
    const posted = routingTableFrom(buildRoutingTableData(targets, DEFAULT_MATCH_OPTIONS));
    const m = posted.triggers.find(prepareUtterance('Echo bell, ring'), names);
    expect(m).toMatchObject({ target: 'echo_bell', kind: 'name' });
    expect(posted.triggers.find(prepareUtterance('Echo bell, ring'))).toBeNull();
  });
});
