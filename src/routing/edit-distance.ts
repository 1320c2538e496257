/**
 * Damerau-Levenshtein distance (optimal string alignment: insert, delete, substitute, swap two
 * adjacent letters), bounded so that candidates far from each other are rejected early. Tokens are
 * short, so the rows are reused scratch buffers rather than fresh arrays per call. (The candidate
 * index finds words within reach by deletion neighbourhoods, see match-hash.ts; this confirms them.)
 */
let prev2 = new Int32Array(32);
let prev = new Int32Array(32);
let cur = new Int32Array(32);

/** The distance between `a` and `b`, or `max + 1` if it is larger than `max`. */
export function boundedDamerau(a: string, b: string, max: number): number {
  if (a === b) return 0;
  const n = a.length;
  const m = b.length;
  if (Math.abs(n - m) > max) return max + 1;
  if (n === 0 || m === 0) return Math.min(Math.max(n, m), max + 1);
  if (cur.length <= m) {
    prev2 = new Int32Array(m + 1);
    prev = new Int32Array(m + 1);
    cur = new Int32Array(m + 1);
  }
  for (let j = 0; j <= m; j++) prev[j] = j;
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    let rowMin = i;
    const ai = a.charCodeAt(i - 1);
    for (let j = 1; j <= m; j++) {
      const bj = b.charCodeAt(j - 1);
      const cost = ai === bj ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && ai === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === bj) {
        d = Math.min(d, prev2[j - 2]! + 1);
      }
      cur[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > max) return max + 1;
    const t = prev2;
    prev2 = prev;
    prev = cur;
    cur = t;
  }
  return Math.min(prev[m]!, max + 1);
}
