// The volume this listener set for each member of the call, for the sliders to show; the app
// plays the members so. Forgotten when another call is joined.
import { callApi } from "./callApi";
import { setVolume, volumeOf, type MemberVolumes } from "./levels";

class Volumes {
  byMember: MemberVolumes = $state({});

  /** The member's volume in percent (100 until set). */
  of(participant: number): number {
    return volumeOf(this.byMember, participant);
  }

  async set(participant: number, percent: number): Promise<void> {
    this.byMember = await setVolume(this.byMember, participant, percent, callApi.setMemberVolume);
  }

  clear(): void {
    this.byMember = {};
  }
}

export const memberVolumes = new Volumes();
