/**
 * A random id for a stroke or a poll. From getRandomValues, not randomUUID: the latter needs a
 * secure context, which a sandboxed frame with an opaque origin may not be.
 */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(9));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
