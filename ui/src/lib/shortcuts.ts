// Keyboard shortcuts of the call view. Alt+letter, so that typing in chat never triggers
// them; the letters follow common meeting apps.
export type Shortcut = "toggle_audio" | "toggle_video" | "leave" | "toggle_hand" | "toggle_chat" | "toggle_people";

export const shortcutKeys: Record<Shortcut, string> = {
  toggle_audio: "Alt+A",
  toggle_video: "Alt+V",
  toggle_hand: "Alt+Y",
  toggle_chat: "Alt+H",
  toggle_people: "Alt+U",
  leave: "Alt+Q",
};

interface KeyLike {
  key: string;
  code?: string;
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
}

/** The shortcut a key press means, or null. Uses the physical key where known, since Alt
 * changes `key` on some layouts (Alt+A types "å" on a Mac). */
export function shortcutFor(e: KeyLike): Shortcut | null {
  if (!e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return null;
  const letter = e.code?.startsWith("Key") ? e.code.slice(3).toLowerCase() : e.key.toLowerCase();
  for (const [name, keys] of Object.entries(shortcutKeys) as [Shortcut, string][]) {
    if (keys.slice(4).toLowerCase() === letter) return name;
  }
  return null;
}
