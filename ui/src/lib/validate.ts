// Instant feedback on the pre-join form. The session server applies the same rules
// (SPEC §2) and stays the authority; these only save a round trip.

export const SESSION_NAME_MAX = 150;
export const DISPLAY_NAME_MAX = 200;
export const PASSCODE_MAX = 10;

/** Error for a session name, or null when it is acceptable. */
export function sessionNameError(name: string): string | null {
  const chars = [...name.trim()];
  if (chars.length === 0) return "Enter the name of the session to join.";
  if (chars.length > SESSION_NAME_MAX)
    return `Session names are at most ${SESSION_NAME_MAX} characters (this one has ${chars.length}).`;
  return null;
}

/** Sessions are matched case-insensitively; this is the key both sides compare. */
export function sessionKey(name: string): string {
  return name.trim().toLowerCase();
}

/** The display name that will be used: trimmed, cut to the limit, never empty. */
export function effectiveDisplayName(name: string, fallback = "Guest"): string {
  const chars = [...name.trim()];
  if (chars.length === 0) return fallback;
  return chars.slice(0, DISPLAY_NAME_MAX).join("");
}

/** Error for an optional passcode (empty means none), or null when it is acceptable. */
export function passcodeError(passcode: string): string | null {
  if (passcode.length === 0) return null;
  if (passcode.length > PASSCODE_MAX) return `Passcodes are at most ${PASSCODE_MAX} characters.`;
  for (const ch of passcode) {
    const code = ch.codePointAt(0) ?? 0;
    if (code < 32 || code > 126)
      return "Passcodes use printable ASCII only (letters, digits, spaces and symbols).";
  }
  return null;
}

/** Longest join token the form takes (a join message before `welcome` is capped at 16 KiB). */
export const TOKEN_MAX = 8192;

/** Error for a join token, or null. Empty means none; a token is a JWT (base64url parts). */
export function tokenError(token: string): string | null {
  const t = token.trim();
  if (t.length === 0) return null;
  if (t.length > TOKEN_MAX) return `Join tokens are at most ${TOKEN_MAX} characters.`;
  if (!/^[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*$/.test(t))
    return "That isn't a join token: paste the whole token you were given (three parts separated by dots).";
  return null;
}

/** Error for a server address, or null. Empty means the server on this computer. */
export function serverUrlError(url: string): string | null {
  const trimmed = url.trim();
  if (trimmed === "") return null;
  let parsed: URL;
  try {
    parsed = new URL(trimmed.includes("://") ? trimmed : `https://${trimmed}`);
  } catch {
    return "That does not look like a server address (for example meet.example.org:7880).";
  }
  if (!["http:", "https:", "ws:", "wss:"].includes(parsed.protocol))
    return "Server addresses start with https:// or http://.";
  return null;
}
