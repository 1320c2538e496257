/**
 * Spelling variants that speech recognisers emit for the same spoken word. Both phrases and
 * transcripts pass every token through `canonicalForm`, so "Okay Echo" registered and "OK echo"
 * heard are the same tokens, and two phrases that differ only here collide at registration.
 *
 * Kept deliberately small: every entry is a word people say identically, never a near-miss (those
 * are the fuzzy matcher's job, which can be switched off; this table cannot).
 */
const FORMS: Readonly<Record<string, string>> = {
  okay: 'ok',
  okey: 'ok',
  hallo: 'hello',
  hullo: 'hello',
  '&': 'and',
  mister: 'mr',
  missus: 'mrs',
  doctor: 'dr',
  // Recognisers write small numbers either way ("agent 7" / "agent seven"); digits are the
  // canonical side because they are short and therefore never matched fuzzily.
  zero: '0',
  one: '1',
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
  ten: '10',
  eleven: '11',
  twelve: '12',
  thirteen: '13',
  fourteen: '14',
  fifteen: '15',
  sixteen: '16',
  seventeen: '17',
  eighteen: '18',
  nineteen: '19',
  twenty: '20',
};

const TABLE: ReadonlyMap<string, string> = new Map(Object.entries(FORMS));

/** The canonical spelling of one folded token (itself when it has no variant). */
export function canonicalForm(token: string): string {
  return TABLE.get(token) ?? token;
}
