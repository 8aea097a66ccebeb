// Generated from src-tauri/src/error.rs by its tests; do not edit.
// Regenerate: HUDDLE_UPDATE_GENERATED=1 cargo test -p huddle generated_types

export type ErrorKind = "device_not_found" | "device_busy" | "device_permission_denied" | "sound_system_down" | "device_unplugged" | "device_unsupported_format" | "device_timeout" | "device_failed" | "screen_unavailable" | "invalid_server_address" | "server_unreachable" | "tls_failed" | "not_a_huddle_server" | "server_timeout" | "network_error" | "not_hosting" | "wrong_passcode" | "passcode_required" | "invalid_passcode" | "invalid_session_name" | "session_locked" | "session_full" | "session_ended" | "token_required" | "token_expired" | "token_invalid" | "token_wrong_session" | "unsupported_version" | "join_refused" | "refused" | "rate_limited" | "reconnecting" | "connection_lost" | "not_in_call" | "cancelled" | "hosting_refused" | "hosting_failed" | "invalid_link" | "invalid_metadata" | "invalid_app" | "settings" | "storage" | "internal";

export type ErrorView = { kind: ErrorKind, 
/**
 * For a person: what happened and what to do about it.
 */
message: string, 
/**
 * The technical account, for the "Details" disclosure and bug reports; absent when the
 * message says it all.
 */
detail: string | null, };
