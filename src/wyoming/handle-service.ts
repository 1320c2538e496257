/**
 * Wyoming's handle service, as Home Assistant uses one for a conversation agent: `describe` →
 * `info`, `ping` → `pong`, and `transcript` → one TextHandler.handle call (front end `wyoming`) →
 * `handled` (the assistant's reply, or nothing to say), `not-handled` (a sentence a speaker can
 * say: Home Assistant speaks it as the failure) or `error` (the event itself was wrong). No
 * sockets here: the server hands in events and writes back what this returns.
 */
import { ROOM_DROPS, type TextInput, type TextResult } from '../routing/text-handler.js';
import type { EventData, WyomingEvent } from './framing.js';

/** What goes back to the client: one event. */
export interface Answer {
  readonly type: 'info' | 'pong' | 'handled' | 'not-handled' | 'error';
  readonly data: EventData;
}

/** The part of the TextHandler this needs. */
export interface Handler {
  handle(input: TextInput): Promise<TextResult>;
  /** Registered target names, for the example in "say an assistant's name first". */
  readonly table: { names(): Iterable<string> };
}

/** Where a connection came in and what it stands for. */
export interface ConnectionContext {
  /** The peer's address (the source_id when the transcript names no satellite or device). */
  readonly address: string;
  /** The binding's default target (ECHONET_WYOMING_BINDINGS); undefined on the main port. */
  readonly defaultTarget?: string | undefined;
  /** The service name `info` gives (Home Assistant titles the entry with it). */
  readonly name: string;
}

export interface HandleServiceOptions {
  readonly handler: Handler;
  readonly version: string;
  /**
   * How long an utterance may take in all, in ms (the forward timeout, read per utterance since
   * PUT /config may change it); past it the client gets its answer and the forward ends alone.
   */
  readonly deadlineMs: () => number;
  /** Hears of a transcript the handler failed on (never of a user's mistake). */
  readonly onError?: (err: unknown) => void;
}

/** HTTP's POST /text bounds, so both front ends accept the same utterances. */
const MAX_TEXT_LENGTH = 500;
/** Home Assistant's ids (entity ids, device ids, ULIDs) fit with room to spare. */
const MAX_ID_LENGTH = 255;

export class HandleService {
  readonly #options: HandleServiceOptions;

  constructor(options: HandleServiceOptions) {
    this.#options = options;
  }

  /** The answer to one event. */
  async answer(event: WyomingEvent, context: ConnectionContext): Promise<Answer> {
    switch (event.type) {
      case 'describe':
        return { type: 'info', data: this.info(context) };
      case 'ping':
        // The Wyoming library's pong echoes the ping's text.
        return {
          type: 'pong',
          data: typeof event.data.text === 'string' ? { text: event.data.text } : {},
        };
      case 'transcript':
        return this.#transcript(event, context);
      default:
        return error(
          'unknown_event',
          `unknown event type ${JSON.stringify(event.type)}: Echonet answers describe, transcript and ping`,
        );
    }
  }

  /** The `info` event's data: one handle program, every language (an empty list means all). */
  info(context: ConnectionContext): EventData {
    const attribution = { name: 'Echonet', url: '' };
    const description = context.defaultTarget
      ? `Routes each utterance to the assistant it names (otherwise to ${context.defaultTarget})`
      : 'Routes each utterance to the assistant it names';
    return {
      asr: [],
      tts: [],
      handle: [
        {
          name: context.name,
          attribution,
          installed: true,
          description,
          version: this.#options.version,
          models: [
            {
              name: 'echonet',
              attribution,
              installed: true,
              description,
              version: this.#options.version,
              languages: [],
            },
          ],
          supports_handled_streaming: false,
        },
      ],
      intent: [],
      wake: [],
      mic: [],
      snd: [],
    };
  }

  async #transcript(event: WyomingEvent, context: ConnectionContext): Promise<Answer> {
    const parsed = transcriptInput(event, context);
    if ('code' in parsed) return error(parsed.code, parsed.message);
    // The target the forward went to, so the deadline's answer can name it (the forward's own
    // deadline answers first, except while a fallback target is still being tried).
    let target: string | null = null;
    const input: TextInput = {
      ...parsed,
      onForward: (name) => {
        target = name;
      },
    };
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.#options.deadlineMs());
    });
    try {
      const result = await Promise.race([this.#options.handler.handle(input), late]);
      if (result === 'late') {
        const name: string | null = target;
        return notHandled(
          name === null
            ? 'The assistant did not answer in time.'
            : `${spoken(name)} did not answer in time.`,
        );
      }
      return this.#outcome(result);
    } catch (err) {
      this.#options.onError?.(err);
      return error('internal', 'Echonet could not route this utterance (internal error)');
    } finally {
      clearTimeout(timer);
    }
  }

  #outcome(result: TextResult): Answer {
    if (result.forwarded) return { type: 'handled', data: { text: result.reply ?? '' } };
    // Another microphone's copy was forwarded, or this was the assistant's own voice: silence.
    if (ROOM_DROPS.has(result.reason)) return { type: 'handled', data: { text: '' } };
    const target = result.routed_to;
    if (target !== null) {
      const failed = failureSentence(spoken(target), result.reason);
      // The fallback target failed too: the speaker asked for the intended one, so name it first.
      const intended = result.intended_target;
      if (intended !== undefined && intended !== target) {
        return notHandled(`${spoken(intended)} did not answer, and ${failed}`);
      }
      return notHandled(failed);
    }
    // Cancel: the conversation ended and nothing was forwarded, as asked.
    if (result.mode === 'session_end') return { type: 'handled', data: { text: '' } };
    if (result.handled) return { type: 'handled', data: { text: '' } };
    switch (result.reason) {
      case 'listen_mode_inactive':
        return notHandled('Echonet is muted, so nothing was passed on.');
      case 'empty_text':
        return notHandled('I did not hear anything to pass on.');
      default:
        return notHandled(this.#sayANameFirst());
    }
  }

  #sayANameFirst(): string {
    const [first] = this.#options.handler.table.names();
    if (first === undefined) return 'No assistant is registered with Echonet yet.';
    return `Say an assistant's name first, for example "${spoken(first)}, what time is it?"`;
  }
}

/** Why a target did not get the utterance, as a sentence for a speaker. */
function failureSentence(name: string, reason: string): string {
  if (reason === 'target_busy') return `${name} is busy; try again in a moment.`;
  if (reason === 'target_unavailable') return `${name} is not answering right now.`;
  if (reason === 'forward_failed:timeout') return `${name} did not answer in time.`;
  if (reason === 'forward_failed:target_unregistered') return `${name} is no longer registered.`;
  return `${name} did not answer.`;
}

/** A target name as a speaker would say it: `astraea` → `Astraea`, `echo_bell` → `Echo bell`. */
function spoken(name: string): string {
  const words = name.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function notHandled(text: string): Answer {
  return { type: 'not-handled', data: { text } };
}

function error(code: string, text: string): Answer {
  return { type: 'error', data: { text, code } };
}

interface BadTranscript {
  readonly code: string;
  readonly message: string;
}

/**
 * The text handler's input for a transcript: source_id is the satellite, else the device, else
 * the connection's address; Home Assistant's conversation_id goes into the decision log.
 */
function transcriptInput(
  event: WyomingEvent,
  context: ConnectionContext,
): TextInput | BadTranscript {
  const bad = (message: string): BadTranscript => ({ code: 'bad_transcript', message });
  if (event.payload !== null)
    return bad('a transcript carries no payload (payload_length must be 0)');
  const { text, language } = event.data;
  if (typeof text !== 'string') return bad('transcript.text must be a string');
  if (text.length > MAX_TEXT_LENGTH) {
    return bad(
      `transcript.text must be at most ${MAX_TEXT_LENGTH} characters (got ${text.length})`,
    );
  }
  if (language !== undefined && language !== null && typeof language !== 'string') {
    return bad('transcript.language must be a string');
  }
  const ctx = event.data.context ?? {};
  if (typeof ctx !== 'object' || ctx === null || Array.isArray(ctx)) {
    return bad('transcript.context must be an object');
  }
  const ids: Record<string, string | null> = {};
  for (const field of ['conversation_id', 'satellite_id', 'device_id'] as const) {
    const value = (ctx as Record<string, unknown>)[field];
    if (value === undefined || value === null || value === '') {
      ids[field] = null;
    } else if (typeof value !== 'string' || value.length > MAX_ID_LENGTH) {
      return bad(
        `transcript.context.${field} must be a string of at most ${MAX_ID_LENGTH} characters`,
      );
    } else {
      ids[field] = value;
    }
  }
  return {
    source_id: ids.satellite_id ?? ids.device_id ?? context.address,
    text,
    frontEnd: 'wyoming',
    conversationId: ids.conversation_id ?? null,
    defaultTarget: context.defaultTarget,
  };
}
