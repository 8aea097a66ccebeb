import type { ErrorCode } from "./types";

const CODES: ReadonlySet<string> = new Set<ErrorCode>([
  "invalid_request",
  "unknown_api",
  "not_configured",
  "not_declared",
  "not_permitted",
  "invalid_params",
  "not_connected",
  "too_large",
  "rate_limited",
  "failed",
  "timeout",
]);

/** A refused or unanswered SDK call. */
export class HuddleAppsError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "HuddleAppsError";
    this.code = code;
  }
}

/**
 * The error for an answer's `error` object. A code this SDK does not know (a newer call view)
 * becomes `failed`, keeping the original code in the message so nothing is lost.
 */
export function fromBridgeError(error: unknown): HuddleAppsError {
  const fields = typeof error === "object" && error !== null ? (error as Record<string, unknown>) : {};
  const code = typeof fields.code === "string" ? fields.code : "failed";
  const message = typeof fields.message === "string" ? fields.message : "the call was refused";
  if (CODES.has(code)) return new HuddleAppsError(code as ErrorCode, message);
  return new HuddleAppsError("failed", `${code}: ${message}`);
}
