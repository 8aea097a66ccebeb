// Painting strokes on the canvas, in device pixels: points are fractions of the canvas and
// widths thousandths of its width, so every panel size shows the same board.
import type { Point } from "./board";

export interface Look {
  color: string;
  width: number;
  points: Point[];
}

/** What a stroke is drawn with. */
export type Pen = Pick<Look, "color" | "width">;

export const BACKGROUND = "#ffffff";

/**
 * Two pixels at least: then the pixel under each point of a line is wholly covered, so it
 * holds the stroke's own colour rather than a blend with the board.
 */
const MIN_LINE_PX = 2;

function style(ctx: CanvasRenderingContext2D, pen: Pen): number {
  const width = Math.max(MIN_LINE_PX, (pen.width * ctx.canvas.width) / 1000);
  ctx.strokeStyle = pen.color;
  ctx.fillStyle = pen.color;
  ctx.lineWidth = width;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  return width;
}

export function drawStroke(ctx: CanvasRenderingContext2D, look: Look): void {
  const { width: w, height: h } = ctx.canvas;
  const lineWidth = style(ctx, look);
  const [first, ...rest] = look.points;
  ctx.beginPath();
  if (rest.length === 0) {
    // Browsers may stroke nothing for a path of one point, whatever the cap: a dot is a disc.
    ctx.arc(first[0] * w, first[1] * h, lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
    return;
  }
  ctx.moveTo(first[0] * w, first[1] * h);
  for (const [x, y] of rest) ctx.lineTo(x * w, y * h);
  ctx.stroke();
}

/** The newest piece of a stroke being drawn, without painting the rest again. */
export function drawSegment(ctx: CanvasRenderingContext2D, pen: Pen, from: Point, to: Point): void {
  const { width: w, height: h } = ctx.canvas;
  style(ctx, pen);
  ctx.beginPath();
  ctx.moveTo(from[0] * w, from[1] * h);
  ctx.lineTo(to[0] * w, to[1] * h);
  ctx.stroke();
}

export function paint(ctx: CanvasRenderingContext2D, looks: Iterable<Look>): void {
  ctx.fillStyle = BACKGROUND;
  ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  for (const look of looks) drawStroke(ctx, look);
}
