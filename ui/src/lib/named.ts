// Text that mentions people by name. A display name is someone else's text: set inline with
// ours, a right-to-left name would move the words around it ("Ann raised a hand" with a
// Hebrew name), and bidirectional controls, which the server removes (docs/protocol.md
// §2.1), could reverse them. So every name shown is isolated: the view puts it in its own
// <bdi> (Named.svelte), and where only a string can go it sits between isolate marks.

/** A piece of text: ours as a string, or a person's name. */
export type Part = string | { name: string };

/** Marks `name` as a person's name. */
export const who = (name: string): Part => ({ name });

/** The text as one string, names as they are: for labels read out rather than shown. */
export function plain(parts: readonly Part[]): string {
  return parts.map((p) => (typeof p === "string" ? p : p.name)).join("");
}

/**
 * `name` between FIRST STRONG ISOLATE and POP DIRECTIONAL ISOLATE, the plain-text form of
 * <bdi>, for places that take only a string (an <option>). Isolate marks in the name are
 * dropped so that it cannot end its isolation early.
 */
export function isolate(name: string): string {
  return `\u2068${name.replace(/[\u2066-\u2069]/g, "")}\u2069`;
}
