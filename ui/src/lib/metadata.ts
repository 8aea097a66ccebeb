// Room and member metadata in the call view: the form's checks before anything is sent. The
// server checks again (limits of size and key count) and its refusal is shown in its words.
import type { RoleView } from "./generated/call";

/** Longest key the server takes (docs/protocol.md §3.1). */
export const MAX_KEY_CHARS = 64;

export type { MetadataScope } from "./generated/call";

/** What the form holds: a key, and its value as JSON text. */
export interface MetadataDraft {
  key: string;
  value: string;
}

export type DraftCheck = { ok: true; key: string; value: string } | { ok: false; error: string };

/** Whether `role` may change the session's metadata (host and managers; anyone their own). */
export function canEditRoom(role: RoleView): boolean {
  return role === "host" || role === "manager";
}

/**
 * Checks a draft as the server would, so a mistake is said before it is sent: a key of 1–64
 * characters without control characters, and a value that is JSON (text in double quotes, a
 * number, true/false, null, a list or an object). The value goes on as written, trimmed.
 */
export function checkDraft(draft: MetadataDraft): DraftCheck {
  const key = draft.key.trim();
  if (key.length === 0) return { ok: false, error: "Give the entry a key." };
  if ([...key].length > MAX_KEY_CHARS) {
    return { ok: false, error: `A key is at most ${MAX_KEY_CHARS} characters.` };
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f]/.test(key)) {
    return { ok: false, error: "A key cannot contain control characters." };
  }
  const value = draft.value.trim();
  if (value.length === 0) {
    return { ok: false, error: 'Give a value: text in double quotes ("Q3 review"), a number, true, false or null.' };
  }
  try {
    JSON.parse(value);
  } catch {
    const hint = /^[^"[{]/.test(value) && !/^(-?\d|true$|false$|null$)/.test(value)
      ? ` Text goes in double quotes: "${value.replaceAll('"', '\\"')}".`
      : "";
    return { ok: false, error: `The value is not JSON.${hint}` };
  }
  return { ok: true, key, value };
}
