/**
 * Cuts a text into the parts before, inside and after [start, end): the words a wake phrase
 * matched, marked in Try it. Out-of-range or empty spans mark nothing.
 */
export interface Piece {
  readonly text: string;
  readonly marked: boolean;
}

export function highlight(text: string, start?: number, end?: number): Piece[] {
  if (
    start === undefined ||
    end === undefined ||
    !(start >= 0 && end > start && end <= text.length)
  ) {
    return text === '' ? [] : [{ text, marked: false }];
  }
  return [
    { text: text.slice(0, start), marked: false },
    { text: text.slice(start, end), marked: true },
    { text: text.slice(end), marked: false },
  ].filter((p) => p.text !== '');
}
