import { describe, expect, it } from 'vitest';
import { closestName, editDistance } from '../src/closest-name.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['PORT', 'PORT', 0],
    ['POTR', 'PORT', 1], // two letters swapped: one edit
    ['APIKEY', 'API_KEY', 1],
    ['HOST', 'HOSTS', 1],
    ['PORT', 'HOST', 2],
    ['', 'ABC', 3],
  ])('%s -> %s is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('closestName', () => {
  const names = ['ECHONET_HOST', 'ECHONET_PORT', 'ECHONET_API_KEY', 'ECHONET_API_KEYS'];
  it('finds the name fewest edits away', () => {
    expect(closestName('ECHONET_POTR', names)).toBe('ECHONET_PORT');
    expect(closestName('ECHONET_APIKEY', names)).toBe('ECHONET_API_KEY');
    expect(closestName('ECHONET_HOTS', names)).toBe('ECHONET_HOST');
  });
  it('has nothing to offer from no candidates', () => {
    expect(closestName('X', [])).toBeUndefined();
  });
});
