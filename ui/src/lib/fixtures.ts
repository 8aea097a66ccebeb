// Members and sessions for the UI's unit tests.
import type { AudienceView, MemberView, SessionView } from "./generated/call";

export const session: SessionView = {
  name: "Weekly",
  locked: false,
  shareLocked: false,
  spotlight: null,
  passcodeProtected: false,
  audienceChat: false,
  maxActive: 1000,
  capacity: 5000,
  waitingRoom: false,
  handsFirst: false,
};

export const noAudience: AudienceView = { count: 0, raisedHands: [] };

export function member(id: number, role: MemberView["role"], over: Partial<MemberView> = {}): MemberView {
  return {
    id,
    name: `m${id}`,
    role,
    isMe: false,
    audioMuted: false,
    videoOn: false,
    sharing: false,
    talking: false,
    handRaised: false,
    deafened: false,
    reconnecting: false,
    joinOrder: id,
    ...over,
  };
}
