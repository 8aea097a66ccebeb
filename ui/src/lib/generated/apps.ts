// Generated from src-tauri/src/apps.rs by its tests; do not edit.
// Regenerate: HUDDLE_UPDATE_GENERATED=1 cargo test -p huddle generated_types

export type AppEntry = { id: string, name: string, description: string, 
/**
 * The URL of the entry page, on the apps' scheme.
 */
entry: string, 
/**
 * The URL of the icon, if the app has one.
 */
icon: string | null, 
/**
 * What the manifest lets the app use; the bridge grants nothing else.
 */
capabilities: Array<string>, builtIn: boolean, 
/**
 * Why an installed app cannot be opened (its manifest is missing or wrong).
 */
problem: string | null, };
