// The whiteboard's page: the toolbar, pointer drawing, and the board kept in step with the
// channel. The model and the wire format are in board.ts.
import type { AppMessage } from "../../../apps-sdk/src/types";
import { connect, join, stateWriter, type Member } from "../../shared/channel";
import { randomId } from "../../shared/ids";
import { Board, WIDTHS, parseMessage, simplify, type Point } from "./board";
import { CAPABILITIES } from "./capabilities";
import { drawSegment, paint, type Look, type Pen } from "./draw";

const COLORS = [
  { name: "Black", value: "#1b1f24" },
  { name: "Red", value: "#e53935" },
  { name: "Blue", value: "#1e6fe0" },
  { name: "Green", value: "#2e9d48" },
  { name: "Orange", value: "#f08a00" },
];

const sdk = window.huddleApps;

function element<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

const canvas = element<HTMLCanvasElement>("board");
const ctx = canvas.getContext("2d") as CanvasRenderingContext2D;
const toolbar = element<HTMLDivElement>("toolbar");
const undoButton = element<HTMLButtonElement>("undo");
const clearButton = element<HTMLButtonElement>("clear");
const viewOnly = element<HTMLParagraphElement>("view-only");
const status = element<HTMLParagraphElement>("status");

let board = new Board();
let member: Member | null = null;
/** My strokes sent and not yet back from the channel: drawn on top meanwhile. */
const pending = new Map<string, Look>();
/** Strokes of mine whose undo is on its way, so Undo pressed again takes the one before. */
const undoing = new Set<string>();
const pen: Pen = { color: COLORS[0].value, width: WIDTHS.thin };
let drawing: { pointerId: number; points: Point[] } | null = null;

const saveState = stateWriter(sdk, () => board.snapshot());

let statusTimer: ReturnType<typeof setTimeout> | undefined;
/** Shows a line over the board; it fades after a while unless it is `lasting`. */
function tell(text: string, lasting = false): void {
  status.textContent = text;
  clearTimeout(statusTimer);
  if (!lasting) statusTimer = setTimeout(() => (status.textContent = ""), 6000);
}

function redraw(): void {
  const looks: Look[] = [...board.strokes, ...pending.values()];
  if (drawing) looks.push({ ...pen, points: drawing.points });
  paint(ctx, looks);
  document.body.dataset.strokes = String(board.strokes.length);
}

function updateTools(): void {
  const maySend = member?.maySend ?? false;
  toolbar.hidden = !maySend;
  viewOnly.hidden = member === null || maySend;
  clearButton.hidden = !member?.isModerator;
  undoButton.disabled = !member || !board.newestOf(member.me.participantId, undoing);
  canvas.classList.toggle("drawable", maySend);
}

/** After the board changed: paint it and, when `store`, keep the snapshot for late joiners. */
function boardChanged(store: boolean): void {
  for (const id of undoing) if (!board.strokes.some((s) => s.id === id)) undoing.delete(id);
  redraw();
  updateTools();
  if (store && member?.maySend) saveState();
}

function receive(message: AppMessage): boolean {
  if (message.fromMe) {
    const m = parseMessage(message.payload);
    if (m?.t === "stroke") pending.delete(m.id);
  }
  return board.apply(message, (id) => member?.roles.isModerator(id) ?? false);
}

function send(payload: unknown, what: string, failed: () => void = () => {}): void {
  sdk.postMessage(payload).catch((err: unknown) => {
    failed();
    tell(`${what} not sent: ${err instanceof Error ? err.message : String(err)}`);
  });
}

function undo(): void {
  if (!member?.maySend) return;
  const stroke = board.newestOf(member.me.participantId, undoing);
  if (!stroke) return;
  undoing.add(stroke.id);
  updateTools();
  send({ t: "undo", id: stroke.id }, "Undo", () => {
    undoing.delete(stroke.id);
    updateTools();
  });
}

function clear(): void {
  if (member?.isModerator) send({ t: "clear" }, "Clear");
}

// Pointer drawing. Points are kept as fractions of the canvas while drawing, so a resize in
// the middle of a stroke repaints it where it was.

function pointAt(event: PointerEvent): Point {
  const rect = canvas.getBoundingClientRect();
  const x = (event.clientX - rect.left) / rect.width;
  const y = (event.clientY - rect.top) / rect.height;
  return [Math.min(1, Math.max(0, x)), Math.min(1, Math.max(0, y))];
}

canvas.addEventListener("pointerdown", (event) => {
  if (!member?.maySend || drawing || event.button !== 0) return;
  event.preventDefault();
  try {
    canvas.setPointerCapture(event.pointerId);
  } catch {
    // Refused for a pointer the browser does not track (a synthetic event): the stroke is
    // drawn all the same, and the window still sees where it ends.
  }
  const start = pointAt(event);
  drawing = { pointerId: event.pointerId, points: [start] };
  drawSegment(ctx, pen, start, start);
});

canvas.addEventListener("pointermove", (event) => {
  if (!drawing || event.pointerId !== drawing.pointerId) return;
  // Coalesced events carry the positions between two frames: a fast stroke stays smooth.
  // The list is empty for synthetic events, and missing in older WebKit.
  const coalesced = event.getCoalescedEvents?.() ?? [];
  for (const e of coalesced.length > 0 ? coalesced : [event]) {
    const point = pointAt(e);
    drawSegment(ctx, pen, drawing.points[drawing.points.length - 1], point);
    drawing.points.push(point);
  }
});

window.addEventListener("pointerup", (event) => {
  if (!drawing || event.pointerId !== drawing.pointerId) return;
  const stroke = { t: "stroke", id: randomId(), color: pen.color, width: pen.width, points: simplify(drawing.points) };
  drawing = null;
  pending.set(stroke.id, stroke);
  redraw();
  send(stroke, "Stroke", () => {
    pending.delete(stroke.id);
    redraw();
  });
});

window.addEventListener("pointercancel", (event) => {
  if (!drawing || event.pointerId !== drawing.pointerId) return;
  drawing = null;
  redraw();
});

new ResizeObserver(() => {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  canvas.height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  redraw();
}).observe(canvas);

// The toolbar.

function choice(group: HTMLElement, label: string, chosen: boolean, pick: () => void): HTMLButtonElement {
  const button = document.createElement("button");
  button.type = "button";
  button.title = label;
  button.setAttribute("aria-label", label);
  button.setAttribute("aria-pressed", String(chosen));
  button.addEventListener("click", () => {
    for (const other of group.querySelectorAll("button")) other.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-pressed", "true");
    pick();
  });
  group.append(button);
  return button;
}

const colors = element<HTMLDivElement>("colors");
for (const { name, value } of COLORS) {
  const swatch = choice(colors, name, value === pen.color, () => (pen.color = value));
  swatch.className = "swatch";
  swatch.style.backgroundColor = value;
}
const widths = element<HTMLDivElement>("widths");
for (const [name, width] of Object.entries(WIDTHS)) {
  const button = choice(widths, `${name[0].toUpperCase()}${name.slice(1)} line`, width === pen.width, () => (pen.width = width));
  button.className = `width ${name}`;
  button.append(document.createElement("span"));
}

undoButton.addEventListener("click", undo);
clearButton.addEventListener("click", clear);
document.addEventListener("keydown", (event) => {
  if ((event.ctrlKey || event.metaKey) && !event.shiftKey && event.key.toLowerCase() === "z") {
    event.preventDefault();
    undo();
  }
});

async function start(): Promise<void> {
  member = await join(sdk, CAPABILITIES, updateTools);
  updateTools();
  await connect(sdk, {
    connected(state, recent) {
      board = Board.fromState(state);
      let replayed = false;
      for (const message of recent) replayed = receive(message) || replayed;
      // The snapshot missed what was replayed: store the board as it is now.
      boardChanged(replayed);
    },
    message(message) {
      if (receive(message)) boardChanged(true);
      else if (message.fromMe) redraw();
    },
  });
  document.body.dataset.ready = "1";
}

start().catch((err: unknown) => {
  tell(`The whiteboard could not start: ${err instanceof Error ? err.message : String(err)}`, true);
});
