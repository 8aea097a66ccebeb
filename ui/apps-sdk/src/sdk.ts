// The SDK over any transport: request/answer matching, the call timeout and event handlers.
// index.ts puts it on `window` with the postMessage transport; tests give it a fake one.
import { HuddleAppsError, fromBridgeError } from "./errors";
import { SDK_EVENTS, type ApiName, type BridgeRequest, type EventName, type EventPayloads, type Handler, type HuddleApps, type Unsubscribe } from "./types";

/** How the SDK reaches the call view. */
export interface Transport {
  send(request: BridgeRequest): void;
  /** Calls `receive` with every message that comes from the call view. */
  listen(receive: (data: unknown) => void): void;
}

export interface SdkOptions {
  /** How long a call waits for its answer. */
  timeoutMs?: number;
}

export const CALL_TIMEOUT_MS = 10_000;


interface Pending {
  resolve(result: unknown): void;
  reject(error: HuddleAppsError): void;
  timer: ReturnType<typeof setTimeout>;
}

type AnyHandler = (payload: unknown) => void;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

/** A handler that throws must not keep the others from running; its error is still reported. */
function runHandler(handler: AnyHandler, payload: unknown): void {
  try {
    handler(payload);
  } catch (err) {
    setTimeout(() => {
      throw err;
    });
  }
}

export function createSdk(transport: Transport, options: SdkOptions = {}): HuddleApps {
  const timeoutMs = options.timeoutMs ?? CALL_TIMEOUT_MS;
  const pending = new Map<number, Pending>();
  const handlers = new Map<EventName, Set<AnyHandler>>(SDK_EVENTS.map((e) => [e, new Set()]));
  let nextId = 1;

  function call<R>(method: ApiName, params: object = {}): Promise<R> {
    const id = nextId++;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new HuddleAppsError("timeout", `${method}: no answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      pending.set(id, { resolve: resolve as (result: unknown) => void, reject, timer });
      try {
        transport.send({ huddleApps: 1, id, method, params });
      } catch (err) {
        // postMessage throws for what it cannot clone (a function, a DOM node): the call view
        // would never see the request, so it is refused here instead of timing out.
        clearTimeout(timer);
        pending.delete(id);
        reject(new HuddleAppsError("invalid_params", `${method}: ${err instanceof Error ? err.message : String(err)}`));
      }
    });
  }

  function on<E extends EventName>(event: E, handler: Handler<E>): Unsubscribe {
    const set = handlers.get(event);
    if (!set) throw new HuddleAppsError("unknown_api", `${String(event)} is not an SDK event`);
    // Wrapped so the same function added twice is two handlers, each removed by its own call.
    const entry: AnyHandler = (payload) => handler(payload as EventPayloads[E]);
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  function receive(data: unknown): void {
    if (!isRecord(data) || data.huddleApps !== 1) return;
    if (typeof data.event === "string") {
      const set = handlers.get(data.event as EventName);
      // A copy: a handler may remove itself or add others while the event is dispatched.
      for (const handler of [...(set ?? [])]) runHandler(handler, data.payload);
      return;
    }
    // A request has an id too (a page opened outside a frame is its own parent): only a
    // message carrying a result or an error answers a call.
    if (typeof data.id !== "number" || !("result" in data || "error" in data)) return;
    const waiting = pending.get(data.id);
    if (!waiting) return;
    pending.delete(data.id);
    clearTimeout(waiting.timer);
    if (data.error !== undefined && data.error !== null) waiting.reject(fromBridgeError(data.error));
    else waiting.resolve(data.result);
  }

  transport.listen(receive);

  return {
    config: (options) => call("config", options),
    getSupportedJsApis: () => call("getSupportedJsApis"),
    getMeetingContext: () => call("getMeetingContext"),
    getUserContext: () => call("getUserContext"),
    getMeetingParticipants: () => call("getMeetingParticipants"),
    connect: () => call("connect"),
    postMessage: (payload) => call("postMessage", { payload }),
    setSharedState: (state) => call("setSharedState", { state }),
    sendAppInvitation: (options) => call("sendAppInvitation", options),
    sendAppInvitationToAllParticipants: () => call("sendAppInvitationToAllParticipants"),
    showNotification: (options) => call("showNotification", options),
    expandApp: (options) => call("expandApp", options),
    closeApp: () => call("closeApp"),
    on,
    onParticipantChange: (handler) => on("onParticipantChange", handler),
    onActiveSpeakerChange: (handler) => on("onActiveSpeakerChange", handler),
    onMyMediaChange: (handler) => on("onMyMediaChange", handler),
    onMessage: (handler) => on("onMessage", handler),
    onConnect: (handler) => on("onConnect", handler),
    onExpandApp: (handler) => on("onExpandApp", handler),
  };
}
