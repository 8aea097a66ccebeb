// The in-meeting apps as the app's commands and the call's channel describe them
// (docs/apps.md); the shapes are generated from the Rust side.
import type { CallEvent } from "../generated/call";

export type { AppEntry } from "../generated/apps";
export type { AppMessageView } from "../generated/call";

/** The call channel's events about apps. */
export type AppCallEvent = Extract<CallEvent, { type: "app_opened" | "app_message" | "app_invitation" }>;

/** Everything the call's channel carries. */
export type AnyCallEvent = CallEvent;

const appEventTypes: ReadonlySet<string> = new Set<AppCallEvent["type"]>(["app_opened", "app_message", "app_invitation"]);

/** Whether an event of the call's channel is for the apps rather than the call model. */
export function isAppEvent(e: AnyCallEvent): e is AppCallEvent {
  return appEventTypes.has(e.type);
}
