/** What Echonet's API answers, as far as the console reads it (README "HTTP API"). */
export interface TargetHealth {
  readonly last_ok_at: number | null;
  readonly last_error: string | null;
  readonly last_error_at: number | null;
  readonly consecutive_failures: number;
  readonly breaker: 'closed' | 'open' | 'half_open';
  readonly in_flight: number;
}

export interface Target {
  readonly name: string;
  readonly base_url: string;
  readonly listen_url: string;
  readonly phrases: string[];
  readonly health: TargetHealth;
}

export interface Session {
  readonly id: string;
  readonly target: string;
  readonly source_id: string;
  readonly room: string | null;
  readonly last_ts: number;
  readonly expires_in_s: number;
}

export interface Match {
  readonly phrase: string;
  readonly target?: string;
  readonly matched_text: string;
  readonly start?: number;
  readonly end?: number;
  readonly score: number;
  readonly exact: boolean;
}

export interface DecisionEvent {
  readonly id: string;
  readonly seq: number;
  readonly received_at: string;
  readonly source_id: string;
  readonly room: string | null;
  readonly text: string | null;
  readonly confidence: number | null;
  readonly listen_mode: string | null;
  readonly mode: string;
  readonly reason: string;
  readonly target: string | null;
  readonly match: Match | null;
  readonly forwarded: boolean;
  readonly latency_ms: number | null;
  readonly reply: string | null;
  readonly front_end: string | null;
  readonly near_miss: (Match & { target: string }) | null;
  readonly [field: string]: unknown;
}

export interface ConfigEntry {
  readonly key: string;
  readonly value: string;
  readonly type: 'bool' | 'int' | 'float' | 'str';
  readonly description: string | null;
  readonly updated_at: string | null;
  readonly origin: 'api' | 'env' | 'default';
}

export interface ModeView {
  readonly listen_mode: string;
  readonly target: string | null;
  readonly expires_in_s: number | null;
}

export interface StateView {
  readonly listen_mode: string;
  readonly active_target: string | null;
  readonly active_expires_in_s: number | null;
  readonly sources: (ModeView & { source_id: string })[];
}

export interface ModeChange {
  readonly id: number;
  readonly name: string;
  readonly old_value: string | null;
  readonly new_value: string;
  readonly changed_at: string;
  readonly source: string | null;
  readonly reason: string | null;
}

export interface Preview {
  readonly handled: boolean;
  readonly routed_to: string | null;
  readonly mode: string;
  readonly reason: string;
  readonly match: Match | null;
  readonly forward_text: string | null;
}
