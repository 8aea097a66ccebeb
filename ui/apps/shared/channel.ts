// The start every built-in app shares: config, who I am and the roles, then the channel.
import type { AppMessage, Capability, HuddleApps, Role, UserContext } from "../../apps-sdk/src/types";
import { Roles, isModerator, maySend } from "./roles";

/** Me in the meeting, with everyone's roles kept up to date. */
export class Member {
  constructor(
    readonly me: UserContext,
    readonly roles: Roles,
  ) {}

  get role(): Role | undefined {
    return this.roles.of(this.me.participantId);
  }

  get isModerator(): boolean {
    return isModerator(this.role);
  }

  get maySend(): boolean {
    return maySend(this.role);
  }
}

/** Configures the app and learns the roles; `rolesChanged` runs when someone's role changes. */
export async function join(sdk: HuddleApps, capabilities: Capability[], rolesChanged: () => void): Promise<Member> {
  await sdk.config({ capabilities });
  const roles = new Roles();
  sdk.onParticipantChange((event) => {
    if (roles.apply(event)) rolesChanged();
  });
  const me = await sdk.getUserContext();
  roles.set(me.participantId, me.role);
  roles.load((await sdk.getMeetingParticipants()).participants);
  return new Member(me, roles);
}

export interface ChannelHandlers {
  /**
   * At connect: apply the snapshot, then replay `recent` (oldest first). Called again for
   * each `onConnect` (the first repeats the answer to `connect`, which is harmless since
   * replays are): should the call view reopen the channel, the app catches up.
   */
  connected(state: unknown, recent: AppMessage[]): void;
  /** A live message, always after `connected`. */
  message(message: AppMessage): void;
}

/** Connects to the app's channel. */
export async function connect(sdk: HuddleApps, handlers: ChannelHandlers): Promise<void> {
  // Messages that arrive before the connect answer has been applied wait for it, so the
  // snapshot is never laid over a newer change.
  let early: AppMessage[] | null = [];
  sdk.onMessage((message) => {
    if (early) early.push(message);
    else handlers.message(message);
  });
  sdk.onConnect((event) => {
    if (!early) handlers.connected(event.state, event.recent);
  });
  const { state, recent } = await sdk.connect();
  handlers.connected(state, recent);
  const queued = early;
  early = null;
  for (const message of queued) handlers.message(message);
}

/**
 * Coalesces snapshot writes: the first change schedules a write `delayMs` later that stores
 * the state as it is then, so a stream of changes writes at most once per delay.
 */
export function stateWriter(sdk: HuddleApps, snapshot: () => unknown, delayMs = 300): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      // Every member who may send writes the same snapshot, and the next change writes it
      // again: a refused write (rate limit) loses nothing worth telling the user about.
      sdk.setSharedState(snapshot()).catch((err: unknown) => console.warn("shared state not stored:", err));
    }, delayMs);
  };
}
