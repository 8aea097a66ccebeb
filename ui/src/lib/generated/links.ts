// Generated from src-tauri/src/links.rs by its tests; do not edit.
// Regenerate: HUDDLE_UPDATE_GENERATED=1 cargo test -p huddle generated_types

import type { ErrorView } from "./error";

export type JoinLink = { session: string, 
/**
 * `None`: the server hosted on this computer.
 */
server: string | null, };

export type LinkView = { "kind": "join", link: JoinLink, } | { "kind": "refused", error: ErrorView, };
