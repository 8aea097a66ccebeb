// Types of the network test's report (as the Rust side serializes them) and the pure
// helpers the pre-join panel uses to show it.

export type Stage = "config" | "udp" | "web_socket" | "turn" | "download" | "upload";
export type Grade = "good" | "fair" | "poor";

export type Progress =
  | { event: "started"; stage: Stage }
  | { event: "finished"; stage: Stage; ok: boolean };

interface Outcome<T> {
  value: T | null;
  error: string | null;
}

export interface UdpStats {
  sent: number;
  received: number;
  rtt_ms: number;
  rtt_min_ms: number;
  rtt_p95_ms: number;
  jitter_ms: number;
  loss_pct: number;
  loss_up_pct: number;
  loss_down_pct: number;
}

export interface Throughput {
  kbps: number;
  bytes: number;
  duration_ms: number;
  capped: boolean;
}

export interface TurnCheck {
  url: string;
  transport: "udp" | "tcp" | "tls" | null;
  ok: boolean;
  relayed: string | null;
  error: string | null;
  ms: number | null;
}

export interface Report {
  server: string;
  duration_ms: number;
  udp: Outcome<UdpStats>;
  websocket: Outcome<{ samples: number; rtt_ms: number; rtt_min_ms: number }>;
  download: Outcome<Throughput>;
  upload: Outcome<Throughput>;
  turn: TurnCheck[];
  reachability: {
    udp: boolean;
    tcp: boolean;
    turn_udp: boolean | null;
    turn_tcp: boolean | null;
    turn_tls: boolean | null;
  };
  grade: Grade;
  advice: string[];
}

export const stageLabels: Record<Stage, string> = {
  config: "Reaching the server",
  udp: "Round trip, jitter and loss (UDP)",
  web_socket: "Round trip (TCP)",
  turn: "Relay (TURN)",
  download: "Download speed",
  upload: "Upload speed",
};

export type StageState = "waiting" | "running" | "ok" | "failed";

/** Folds one progress event into the per-stage states shown while the test runs. */
export function applyProgress(states: Record<Stage, StageState>, p: Progress): Record<Stage, StageState> {
  const next = { ...states };
  next[p.stage] = p.event === "started" ? "running" : p.ok ? "ok" : "failed";
  return next;
}

export function initialStages(): Record<Stage, StageState> {
  return { config: "waiting", udp: "waiting", web_socket: "waiting", turn: "waiting", download: "waiting", upload: "waiting" };
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  return ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

export function formatPct(pct: number | null | undefined): string {
  if (pct === null || pct === undefined || !Number.isFinite(pct)) return "—";
  return `${pct < 1 && pct > 0 ? pct.toFixed(2) : pct.toFixed(1)} %`;
}

export function formatKbps(t: Throughput | null): string {
  if (!t) return "—";
  const text = t.kbps >= 1000 ? `${(t.kbps / 1000).toFixed(1)} Mbit/s` : `${Math.round(t.kbps)} kbit/s`;
  return t.capped ? `at least ${text}` : text;
}

/** "works" / "blocked" / "not offered" for a path, as the panel lists them. */
export function pathState(ok: boolean | null): string {
  if (ok === null) return "not offered";
  return ok ? "works" : "blocked";
}

/**
 * One line for the test while it runs (it takes the place of the result, so the screen
 * does not grow): the stages under way and how many have finished.
 */
export function progressLine(states: Record<Stage, StageState>): string {
  const all = Object.keys(stageLabels) as Stage[];
  const running = all.filter((s) => states[s] === "running").map((s) => stageLabels[s]);
  const done = all.filter((s) => states[s] === "ok" || states[s] === "failed").length;
  const now = running.length > 0 ? running.join(", ") : "Starting";
  return `${now}… (${done} of ${all.length} done)`;
}

export const gradeLabels: Record<Grade, string> = { good: "Good", fair: "Fair", poor: "Poor" };
