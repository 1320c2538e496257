/**
 * "Did you mean …?" for names a user typed (settings, today). A leaf module, so configuration can
 * use it without depending on the routing code's tuned, buffer-reusing matcher distance.
 */

/** Edits between `a` and `b`: insert, delete, substitute, or swap two adjacent characters. */
export function editDistance(a: string, b: string): number {
  // Three rows of the optimal-string-alignment table; names are short, so plain arrays do.
  let above2: number[] = [];
  let above = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(
        above[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
        above[j]! + 1,
        row[j - 1]! + 1,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, above2[j - 2]! + 1);
      }
      row.push(d);
    }
    above2 = above;
    above = row;
  }
  return above[b.length]!;
}

/** The candidate fewest edits away from `name` (the first such, in the candidates' order). */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}
