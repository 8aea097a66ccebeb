// Who may do what in the built-in apps. A message's `from` is stamped by the server, so its
// sender's role is looked up here rather than read from the payload.
import type { ParticipantChangeEvent, ParticipantId, Role } from "../../apps-sdk/src/types";

/** Host and managers: they may clear the board, undo anyone's stroke, run polls. */
export function isModerator(role: Role | undefined): boolean {
  return role === "host" || role === "manager";
}

/** Everyone but the audience may send on the channel (the `app_send` grant). */
export function maySend(role: Role | undefined): boolean {
  return role !== undefined && role !== "audience";
}

/** The members' roles, as last heard from `getMeetingParticipants` and `onParticipantChange`. */
export class Roles {
  private readonly byId = new Map<ParticipantId, Role>();

  set(id: ParticipantId, role: Role): void {
    this.byId.set(id, role);
  }

  load(members: Iterable<{ participantId: ParticipantId; role: Role }>): void {
    for (const m of members) this.byId.set(m.participantId, m.role);
  }

  /**
   * Applies a change; true when a role changed. A member who left keeps the role they had:
   * the messages they sent just before leaving may be read after the news that they left.
   */
  apply(event: ParticipantChangeEvent): boolean {
    let changed = false;
    for (const change of event.participants) {
      if (change.status === "left" || this.byId.get(change.participantId) === change.role) continue;
      this.byId.set(change.participantId, change.role);
      changed = true;
    }
    return changed;
  }

  of(id: ParticipantId): Role | undefined {
    return this.byId.get(id);
  }

  isModerator = (id: ParticipantId): boolean => isModerator(this.byId.get(id));
}
