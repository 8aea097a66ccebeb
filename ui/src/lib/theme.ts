// The app's colours: light, dark, or the system's (followed live when it changes). The
// choice is a setting; the colours themselves are CSS variables under :root[data-theme].

export type Theme = "system" | "light" | "dark";

/** The colours to show for a setting, given whether the system is dark. */
export function resolveTheme(setting: Theme, systemDark: boolean): "light" | "dark" {
  if (setting === "light" || setting === "dark") return setting;
  return systemDark ? "dark" : "light";
}

const systemQuery = (): MediaQueryList | null =>
  typeof window !== "undefined" && typeof window.matchMedia === "function"
    ? window.matchMedia("(prefers-color-scheme: dark)")
    : null;

let current: Theme = "system";
let listening = false;

function paint(): void {
  const dark = systemQuery()?.matches ?? false;
  document.documentElement.dataset.theme = resolveTheme(current, dark);
}

/** Shows `setting` now, and keeps following the system while it is "system". */
export function applyTheme(setting: Theme): void {
  current = setting;
  const query = systemQuery();
  if (query && !listening) {
    listening = true;
    query.addEventListener("change", paint);
  }
  paint();
}
