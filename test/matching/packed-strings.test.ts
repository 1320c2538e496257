import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PackedStrings } from '../../src/matching/packed-strings.js';

describe('PackedStrings', () => {
  it('gives back each string, Latin-1 at one byte a character', () => {
    const strings = ['hey astraea', '', 'café', 'ok', 'x'];
    const packed = new PackedStrings(strings);
    expect(packed.size).toBe(5);
    strings.forEach((s, i) => {
      expect(packed.get(i)).toBe(s);
      expect(packed.length(i)).toBe(s.length);
      expect(packed.equals(i, s)).toBe(true);
    });
    expect(packed.byteLength).toBe(strings.join('').length + 4 * (strings.length + 1));
    expect(packed.equals(0, 'hey astrae')).toBe(false);
    expect(packed.equals(0, 'hey astraeā')).toBe(false);
    expect(packed.equals(2, 'cafe')).toBe(false);
  });

  it('holds any characters (two bytes each once one is above U+00FF)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary' }), { maxLength: 20 }),
        fc.string(),
        (strings, other) => {
          const packed = new PackedStrings(strings);
          expect(packed.size).toBe(strings.length);
          strings.forEach((s, i) => {
            expect(packed.get(i)).toBe(s);
            expect(packed.equals(i, s)).toBe(true);
            expect(packed.equals(i, other)).toBe(other === s);
          });
        },
      ),
    );
  });

  it('is empty for no strings', () => {
    const packed = new PackedStrings([]);
    expect(packed.size).toBe(0);
    expect(packed.byteLength).toBe(4);
  });
});
