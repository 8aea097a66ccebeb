import type { Transport } from "./sdk";

/** The parts of a window the bridge uses: its parent to post to, and its message events. */
export interface BridgeWindow {
  readonly parent: { postMessage(message: unknown, targetOrigin: string): void };
  addEventListener(type: "message", listener: (event: { source: unknown; data: unknown }) => void): void;
}

/**
 * The bridge of docs/apps.md §3: requests go to the parent window (the call view) and only
 * messages the parent sent are read. The target origin is "*" because the frame's opaque
 * origin cannot name the view's; the view checks who posted instead.
 */
export function windowTransport(win: BridgeWindow): Transport {
  return {
    send(request) {
      win.parent.postMessage(request, "*");
    },
    listen(receive) {
      win.addEventListener("message", (event) => {
        if (event.source === win.parent) receive(event.data);
      });
    },
  };
}
