/**
 * Damerau-Levenshtein distance (optimal string alignment: insert, delete, substitute, swap two
 * adjacent letters), bounded so that candidates far from each other are rejected early. Only the
 * band of cells within `max` of the diagonal can hold a distance ≤ `max`, so only those are
 * computed (5–7 cells a row instead of the whole row); cells outside it count as `max + 1`. Tokens
 * are short, so the three rows live in one reused scratch buffer rather than fresh arrays per call.
 * (The candidate index finds words within reach by deletion neighbourhoods, see match-index.ts;
 * this confirms them.)
 */
let scratch = new Int32Array(3 * 34);

/** The distance between `a` and `b`, or `max + 1` if it is larger than `max`. */
export function boundedDamerau(a: string, b: string, max: number): number {
  if (a === b) return 0;
  const n = a.length;
  const m = b.length;
  const far = max + 1;
  if (Math.abs(n - m) > max) return far;
  if (n === 0 || m === 0) return Math.min(Math.max(n, m), far);
  const width = m + 2;
  if (scratch.length < 3 * width) scratch = new Int32Array(3 * width * 2);
  const rows = scratch;
  // Offsets of the rows two above, one above and the current one; rotated each row.
  let above2 = 0;
  let above = width;
  let row = 2 * width;
  for (let j = 0; j <= m; j++) rows[above + j] = j <= max ? j : far;
  rows[above + m + 1] = far;
  for (let i = 1; i <= n; i++) {
    const lo = i - max > 1 ? i - max : 1;
    const hi = i + max < m ? i + max : m;
    // The cell left of the band: column 0 (i deletions) or outside the band.
    let left = lo === 1 && i <= max ? i : far;
    rows[row + lo - 1] = left;
    let rowMin = left;
    const ai = a.charCodeAt(i - 1);
    const aPrev = i > 1 ? a.charCodeAt(i - 2) : -1;
    let bPrev = lo > 1 ? b.charCodeAt(lo - 2) : -1;
    for (let j = lo; j <= hi; j++) {
      const bj = b.charCodeAt(j - 1);
      let d = rows[above + j - 1]! + (ai === bj ? 0 : 1);
      const up = rows[above + j]! + 1;
      if (up < d) d = up;
      if (left + 1 < d) d = left + 1;
      if (ai === bPrev && aPrev === bj) {
        const swap = rows[above2 + j - 2]! + 1;
        if (swap < d) d = swap;
      }
      if (d > far) d = far;
      rows[row + j] = d;
      left = d;
      if (d < rowMin) rowMin = d;
      bPrev = bj;
    }
    // The cell right of the band, which the next row reads as "above".
    if (hi < m) rows[row + hi + 1] = far;
    if (rowMin > max) return far;
    const t = above2;
    above2 = above;
    above = row;
    row = t;
  }
  const d = rows[above + m]!;
  return d < far ? d : far;
}
