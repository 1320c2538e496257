/**
 * `echonet route "TEXT"`: what the router would decide, straight from the database file, with the
 * settings a server on it would use (those stored with PUT /config or `echonet config set` win),
 * for an utterance from `--front-end` (default http) with no conversation open.
 */
import type { Config } from '../config.js';
import { RuntimeSettings } from '../runtime-settings.js';
import { configTableIfPresent } from '../store/config.js';
import { compileCancelPhrases } from '../matching/cancel-phrases.js';
import { prepareUtterance } from '../matching/normalize.js';
import { namesWake } from '../routing/name-rules.js';
import { decide, decideDefault } from '../routing/router.js';
import { buildRoutingTable } from '../routing/routing-table.js';
import { previewView, type FrontEnd } from '../routing/text-handler.js';
import { openReadOnly } from '../store/store.js';
import type { Output } from './output.js';

export function route(
  config: Config,
  text: string,
  io: Output,
  options: { json?: boolean; frontEnd?: FrontEnd } = {},
): void {
  const store = openReadOnly(config.dbPath);
  let targets;
  let runtime;
  try {
    targets = store.targets?.all() ?? [];
    const stored = configTableIfPresent(store.db);
    runtime = stored ? new RuntimeSettings(config, stored) : undefined;
  } finally {
    store.close();
  }
  const live = runtime?.values ?? config;
  const table = buildRoutingTable(targets, {
    fuzzy: live.matchFuzzy,
    minScore: live.matchMinScore,
  });
  const utterance = prepareUtterance(text);
  let d = decide(utterance, null, {
    triggers: table.triggers,
    cancel: compileCancelPhrases(live.cancelPhrases),
    stripTrigger: live.forwardStripTrigger,
    names: namesWake(live.matchNames, options.frontEnd ?? 'http'),
  });
  // A default target that is not registered routes nowhere, as the server does.
  if (live.defaultTarget !== '' && table.has(live.defaultTarget)) {
    d = decideDefault(d, utterance, live.defaultTarget);
  }
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
