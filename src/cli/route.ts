/** `echonet route "TEXT"`: what the router would decide, straight from the database file. */
import type { Config } from '../config.js';
import { prepareUtterance } from '../routing/normalize.js';
import { decide } from '../routing/router.js';
import { buildRoutingTable, compileCancelMatcher } from '../routing/routing-table.js';
import { previewView } from '../routing/text-handler.js';
import { readTargets } from '../store/store.js';
import type { Output } from './output.js';

export function route(
  config: Config,
  text: string,
  io: Output,
  options: { json?: boolean } = {},
): void {
  const targets = readTargets(config.dbPath);
  const table = buildRoutingTable(targets, {
    fuzzy: config.matchFuzzy,
    minScore: config.matchMinScore,
  });
  const d = decide(prepareUtterance(text), null, {
    triggers: table.triggers,
    cancel: compileCancelMatcher(config.cancelPhrases),
    stripTrigger: config.forwardStripTrigger,
  });
  const view = previewView(d);
  if (options.json) {
    io.out(JSON.stringify(view, null, 2));
    return;
  }
  io.out(`mode:       ${view.mode}`);
  io.out(`routed_to:  ${view.routed_to ?? '(nobody)'}`);
  io.out(`reason:     ${view.reason}`);
  if (view.match) {
    const m = view.match;
    io.out(
      `match:      "${m.matched_text}" ~ "${m.phrase}" [${m.start}, ${m.end}) score ${m.score.toFixed(3)}${m.exact ? ' (exact)' : ' (fuzzy)'}`,
    );
  }
  if (view.forward_text !== null) io.out(`forwards:   ${JSON.stringify(view.forward_text)}`);
}
