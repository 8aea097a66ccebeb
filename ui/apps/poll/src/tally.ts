/*
 * The poll's model: one poll at a time, its votes and whether it is closed.
 *
 * Wire format (payloads of postMessage / onMessage):
 *
 *   {"t":"poll","id":"<random id>","question":"...","options":["a","b",...]}
 *       Starts a poll, replacing the one before. Accepted only from a host or manager.
 *       `id` is 1-64 characters of A-Z a-z 0-9 _ -; the question is 1-200 characters, and
 *       there are 2-6 options of 1-80 characters each (all trimmed, none blank).
 *   {"t":"vote","poll":"<poll id>","option":<index>}
 *       A vote, from anyone who may send. Only the first vote of each `from` in a poll
 *       counts; a vote for another poll than the current one, for an option out of range,
 *       or after the poll closed is ignored.
 *   {"t":"close","poll":"<poll id>"}
 *       Closes the current poll: results stay, voting ends. Only from a host or manager.
 *
 * Shared state (setSharedState), written by every member who may send after each change:
 *
 *   {"poll":{"id","question","options"}|null,"votes":{"<participant id>":<index>,...},"closed":bool}
 *
 * A late joiner applies the state, then replays the channel's recent messages: the current
 * poll's own message changes nothing, a vote already counted is not counted again.
 */
import type { AppMessage, ParticipantId } from "../../../apps-sdk/src/types";

export interface Poll {
  id: string;
  question: string;
  options: string[];
}

export interface PollState {
  poll: Poll | null;
  votes: Record<string, number>;
  closed: boolean;
}

export type PollMessage =
  | ({ t: "poll" } & Poll)
  | { t: "vote"; poll: string; option: number }
  | { t: "close"; poll: string };

export const MIN_OPTIONS = 2;
export const MAX_OPTIONS = 6;
export const MAX_QUESTION_CHARS = 200;
export const MAX_OPTION_CHARS = 80;

const ID = /^[A-Za-z0-9_-]{1,64}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is string {
  return typeof value === "string" && ID.test(value);
}

/** A text within bounds once trimmed; null when blank or too long. */
function text(value: unknown, maxChars: number): string | null {
  if (typeof value !== "string") return null;
  const trimmed = value.trim();
  return trimmed.length > 0 && [...trimmed].length <= maxChars ? trimmed : null;
}

/** A poll's question and options as the form has them: blank options are left out. */
export function pollFromForm(question: string, options: readonly string[]): Omit<Poll, "id"> | null {
  return pollContent(question, options.filter((o) => o.trim() !== ""));
}

function pollContent(question: unknown, options: unknown): Omit<Poll, "id"> | null {
  const q = text(question, MAX_QUESTION_CHARS);
  if (q === null || !Array.isArray(options) || options.length < MIN_OPTIONS || options.length > MAX_OPTIONS) {
    return null;
  }
  const texts = options.map((o) => text(o, MAX_OPTION_CHARS));
  return texts.every((o) => o !== null) ? { question: q, options: texts as string[] } : null;
}

function parsePoll(fields: Record<string, unknown>): Poll | null {
  const content = pollContent(fields.question, fields.options);
  return isId(fields.id) && content ? { id: fields.id, ...content } : null;
}

/** A channel payload as a poll message; null for anything else. */
export function parseMessage(payload: unknown): PollMessage | null {
  if (!isRecord(payload)) return null;
  switch (payload.t) {
    case "poll": {
      const poll = parsePoll(payload);
      return poll && { t: "poll", ...poll };
    }
    case "vote":
      return isId(payload.poll) && typeof payload.option === "number" && Number.isInteger(payload.option)
        ? { t: "vote", poll: payload.poll, option: payload.option }
        : null;
    case "close":
      return isId(payload.poll) ? { t: "close", poll: payload.poll } : null;
    default:
      return null;
  }
}

export class Tally {
  poll: Poll | null = null;
  /** Each voter's option: their first vote in this poll. */
  votes = new Map<ParticipantId, number>();
  closed = false;

  /** A tally from a shared state; a malformed state is no poll, a malformed vote is left out. */
  static fromState(state: unknown): Tally {
    const tally = new Tally();
    if (!isRecord(state) || !isRecord(state.poll)) return tally;
    const poll = parsePoll(state.poll);
    if (!poll) return tally;
    tally.poll = poll;
    tally.closed = state.closed === true;
    for (const [key, option] of Object.entries(isRecord(state.votes) ? state.votes : {})) {
      const voter = Number(key);
      if (String(voter) === key && Number.isSafeInteger(voter) && tally.inRange(option)) tally.votes.set(voter, option);
    }
    return tally;
  }

  /**
   * Applies a message from the channel; true when the tally changed. Applying a message twice
   * changes nothing the second time, so a replay over a snapshot is harmless.
   */
  apply(message: AppMessage, isModerator: (id: ParticipantId) => boolean): boolean {
    const m = parseMessage(message.payload);
    if (!m) return false;
    switch (m.t) {
      case "poll": {
        if (!isModerator(message.from) || this.poll?.id === m.id) return false;
        this.poll = { id: m.id, question: m.question, options: m.options };
        this.votes = new Map();
        this.closed = false;
        return true;
      }
      case "vote": {
        if (!this.isOpen(m.poll) || !this.inRange(m.option) || this.votes.has(message.from)) return false;
        this.votes.set(message.from, m.option);
        return true;
      }
      case "close": {
        if (!isModerator(message.from) || !this.isOpen(m.poll)) return false;
        this.closed = true;
        return true;
      }
    }
  }

  /** Whether `pollId` is the current poll and still takes votes. */
  isOpen(pollId: string): boolean {
    return this.poll?.id === pollId && !this.closed;
  }

  /** The votes for each option, in the options' order. */
  counts(): number[] {
    const counts = (this.poll?.options ?? []).map(() => 0);
    for (const option of this.votes.values()) counts[option]++;
    return counts;
  }

  snapshot(): PollState {
    const votes: Record<string, number> = {};
    for (const [voter, option] of this.votes) votes[String(voter)] = option;
    return { poll: this.poll, votes, closed: this.closed };
  }

  private inRange(option: unknown): option is number {
    return typeof option === "number" && Number.isInteger(option) && option >= 0 && option < (this.poll?.options.length ?? 0);
  }
}
