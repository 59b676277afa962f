// The box editor's state machine (issue #19, "Box annotation"): the boxes of one image, the
// selected box, the active class, a pointer drag in progress (draw, move or resize), undo/redo,
// and the zoom/pan maths. Pure: no DOM, no Svelte. Every operation returns a new state and never
// mutates its input; src/components/BoxEditor.svelte is the UI over it.
//
// Coordinates are normalised image coordinates (x right, y down, each in [0, 1]) as in
// src/contracts/detection.ts; pixel sizes (the smallest box, a nudge) use the image's natural size.
import type { BoxAnnotation, NormBox } from '../../contracts/detection';

/** A box in the editor: a stored annotation, and for a model's proposal its confidence. */
export interface EditorBox extends BoxAnnotation {
  /** A pre-label's confidence in [0, 1]; with source 'prediction' the box awaits accept/reject. */
  confidence?: number;
}

export interface Point {
  x: number;
  y: number;
}

export type Handle = 'nw' | 'n' | 'ne' | 'e' | 'se' | 's' | 'sw' | 'w';
export const HANDLES: readonly Handle[] = ['nw', 'n', 'ne', 'e', 'se', 's', 'sw', 'w'];

export type Drag =
  | { kind: 'draw'; start: Point; current: Point }
  | { kind: 'move'; index: number; start: Point; origin: NormBox }
  | { kind: 'resize'; index: number; handle: Handle; origin: NormBox };

interface Snapshot {
  boxes: readonly EditorBox[];
  selected: number | null;
}

export interface EditorState {
  readonly boxes: readonly EditorBox[];
  /** Index into boxes, or null. */
  readonly selected: number | null;
  /** Index into classes: the class a new box gets. */
  readonly activeClass: number;
  readonly classes: readonly string[];
  /** The image's natural size in pixels. */
  readonly imageWidth: number;
  readonly imageHeight: number;
  readonly drag: Drag | null;
  /** The state before the drag started (restored by cancel, pushed to history by finish). */
  readonly dragBefore: Snapshot | null;
  readonly past: readonly Snapshot[];
  readonly future: readonly Snapshot[];
  readonly historyLimit: number;
}

export interface EditorOptions {
  classes: readonly string[];
  imageWidth: number;
  imageHeight: number;
  boxes?: readonly EditorBox[];
  activeClass?: number;
  historyLimit?: number;
}

/** Boxes under this many pixels wide or high are not kept when drawn. */
export const MIN_BOX_PIXELS = 4;
export const NUDGE_PIXELS = 1;
export const NUDGE_PIXELS_LARGE = 10;

export function createEditor(o: EditorOptions): EditorState {
  if (!(o.imageWidth > 0 && o.imageHeight > 0 && Number.isFinite(o.imageWidth) && Number.isFinite(o.imageHeight))) {
    throw new Error(`The image size ${o.imageWidth} x ${o.imageHeight} is not a positive size in pixels.`);
  }
  if (o.classes.length === 0) throw new Error('The box editor needs at least one class.');
  if (new Set(o.classes).size !== o.classes.length) throw new Error('The class names must be distinct.');
  const limit = o.historyLimit ?? 100;
  if (!(Number.isInteger(limit) && limit >= 1)) throw new Error(`The history limit ${limit} is not a positive whole number.`);
  const active = o.activeClass ?? 0;
  return {
    boxes: (o.boxes ?? []).map((b) => ({ ...b })),
    selected: null,
    activeClass: Math.min(Math.max(0, Math.trunc(active)), o.classes.length - 1),
    classes: [...o.classes],
    imageWidth: o.imageWidth,
    imageHeight: o.imageHeight,
    drag: null,
    dragBefore: null,
    past: [],
    future: [],
    historyLimit: limit,
  };
}

const clamp01 = (v: number) => Math.min(1, Math.max(0, v));
const snapshot = (s: EditorState): Snapshot => ({ boxes: s.boxes, selected: s.selected });

/** A new state with boxes changed as one undo step (the redo list cleared). */
function commit(s: EditorState, boxes: readonly EditorBox[], selected: number | null, before: Snapshot = snapshot(s)): EditorState {
  const past = [...s.past, before];
  if (past.length > s.historyLimit) past.splice(0, past.length - s.historyLimit);
  return { ...s, boxes, selected, past, future: [] };
}

/** True for a model's proposal not yet accepted or rejected. */
export function isPending(b: EditorBox): boolean {
  return b.source === 'prediction' && b.confidence !== undefined;
}

/** An adjusted proposal is the person's box: editing it accepts it. */
function accepted(b: EditorBox, now: number): EditorBox {
  if (!isPending(b)) return b;
  const { confidence: _c, ...rest } = b;
  return { ...rest, source: 'manual', time: now };
}

// ---- pointer drags ---------------------------------------------------------------------------

export type Hit = { kind: 'handle'; index: number; handle: Handle } | { kind: 'box'; index: number };

/** Hit tolerance in normalised units for `px` screen pixels (see `tolerance`). */
export interface Tolerance {
  x: number;
  y: number;
}

/** Where handle h of box b sits. */
export function handlePoint(b: NormBox, h: Handle): Point {
  const x = h.includes('w') ? b.x : h.includes('e') ? b.x + b.w : b.x + b.w / 2;
  const y = h.startsWith('n') ? b.y : h.startsWith('s') ? b.y + b.h : b.y + b.h / 2;
  return { x, y };
}

/**
 * What the pointer is over: first a handle of the selected box, then the smallest box containing
 * the point (within the tolerance), the one drawn last (topmost) among equal sizes.
 */
export function hitTest(s: EditorState, p: Point, tol: Tolerance): Hit | null {
  if (s.selected !== null) {
    const b = s.boxes[s.selected];
    for (const h of HANDLES) {
      const q = handlePoint(b, h);
      if (Math.abs(q.x - p.x) <= tol.x && Math.abs(q.y - p.y) <= tol.y) return { kind: 'handle', index: s.selected, handle: h };
    }
  }
  let best = -1;
  let bestArea = Infinity;
  s.boxes.forEach((b, i) => {
    const inside = p.x >= b.x - tol.x && p.x <= b.x + b.w + tol.x && p.y >= b.y - tol.y && p.y <= b.y + b.h + tol.y;
    const area = b.w * b.h;
    if (inside && area <= bestArea) {
      best = i;
      bestArea = area;
    }
  });
  return best < 0 ? null : { kind: 'box', index: best };
}

/**
 * Pointer down: resize on a handle, select and move on a box, else start drawing a new box.
 * `drawOver` (Shift held in the UI) draws even over boxes, e.g. a small box inside a large one.
 */
export function pointerDown(s: EditorState, p: Point, tol: Tolerance, drawOver = false): EditorState {
  if (drawOver) return startDraw(s, p);
  const hit = hitTest(s, p, tol);
  if (hit?.kind === 'handle') return startResize(s, hit.index, hit.handle);
  if (hit?.kind === 'box') return startMove(select(s, hit.index), hit.index, p);
  return startDraw(s, p);
}

export function startDraw(s: EditorState, p: Point): EditorState {
  const q = { x: clamp01(p.x), y: clamp01(p.y) };
  return { ...s, drag: { kind: 'draw', start: q, current: q }, dragBefore: snapshot(s) };
}

export function startMove(s: EditorState, index: number, p: Point): EditorState {
  const b = s.boxes[index];
  if (!b) return s;
  return { ...s, selected: index, drag: { kind: 'move', index, start: p, origin: pick(b) }, dragBefore: snapshot(s) };
}

export function startResize(s: EditorState, index: number, handle: Handle): EditorState {
  const b = s.boxes[index];
  if (!b) return s;
  return { ...s, selected: index, drag: { kind: 'resize', index, handle, origin: pick(b) }, dragBefore: snapshot(s) };
}

const pick = (b: NormBox): NormBox => ({ x: b.x, y: b.y, w: b.w, h: b.h });

/** The box spanned by two corners, clamped to the image. */
export function spanBox(a: Point, b: Point): NormBox {
  const x0 = clamp01(Math.min(a.x, b.x));
  const x1 = clamp01(Math.max(a.x, b.x));
  const y0 = clamp01(Math.min(a.y, b.y));
  const y1 = clamp01(Math.max(a.y, b.y));
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/** The box after dragging handle h of `origin` to p: edges pass each other (the box flips), clamped to the image, at least one pixel. */
export function resizeBox(origin: NormBox, h: Handle, p: Point, minW: number, minH: number): NormBox {
  let l = origin.x;
  let r = origin.x + origin.w;
  let t = origin.y;
  let btm = origin.y + origin.h;
  const px = clamp01(p.x);
  const py = clamp01(p.y);
  if (h.includes('w')) l = px;
  if (h.includes('e')) r = px;
  if (h.startsWith('n')) t = py;
  if (h.startsWith('s')) btm = py;
  let x0 = Math.min(l, r);
  let x1 = Math.max(l, r);
  let y0 = Math.min(t, btm);
  let y1 = Math.max(t, btm);
  // Keep a minimum size, growing away from the image edge it would cross.
  if (x1 - x0 < minW) {
    x1 = Math.min(1, x0 + minW);
    x0 = Math.max(0, x1 - minW);
  }
  if (y1 - y0 < minH) {
    y1 = Math.min(1, y0 + minH);
    y0 = Math.max(0, y1 - minH);
  }
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/** Pointer move during a drag (boxes follow the pointer; history waits for `finishDrag`). */
export function dragTo(s: EditorState, p: Point): EditorState {
  const d = s.drag;
  if (!d) return s;
  if (d.kind === 'draw') return { ...s, drag: { ...d, current: { x: clamp01(p.x), y: clamp01(p.y) } } };
  const b = s.boxes[d.index];
  let geom: NormBox;
  if (d.kind === 'move') {
    geom = {
      x: Math.min(1 - d.origin.w, Math.max(0, d.origin.x + p.x - d.start.x)),
      y: Math.min(1 - d.origin.h, Math.max(0, d.origin.y + p.y - d.start.y)),
      w: d.origin.w,
      h: d.origin.h,
    };
  } else {
    geom = resizeBox(d.origin, d.handle, p, 1 / s.imageWidth, 1 / s.imageHeight);
  }
  const boxes = s.boxes.slice();
  boxes[d.index] = { ...b, ...geom };
  return { ...s, boxes };
}

/** The box a draw would make now (for drawing it), or null when too small to keep. */
export function drawPreview(s: EditorState): NormBox | null {
  if (s.drag?.kind !== 'draw') return null;
  return spanBox(s.drag.start, s.drag.current);
}

function bigEnough(s: EditorState, b: NormBox): boolean {
  return b.w * s.imageWidth >= MIN_BOX_PIXELS && b.h * s.imageHeight >= MIN_BOX_PIXELS;
}

/** Pointer up: a drawn box is added (if big enough), a move or resize becomes one undo step. */
export function finishDrag(s: EditorState, now = Date.now()): EditorState {
  const d = s.drag;
  const before = s.dragBefore;
  if (!d || !before) return s;
  const done = { ...s, drag: null, dragBefore: null };
  if (d.kind === 'draw') {
    const g = spanBox(d.start, d.current);
    if (!bigEnough(s, g)) return { ...done, selected: null };
    const box: EditorBox = { ...g, label: s.classes[s.activeClass], source: 'manual', time: now };
    return commit(done, [...s.boxes, box], s.boxes.length, before);
  }
  const b = s.boxes[d.index];
  if (b.x === d.origin.x && b.y === d.origin.y && b.w === d.origin.w && b.h === d.origin.h) return done;
  const boxes = s.boxes.slice();
  boxes[d.index] = accepted(b, now);
  return commit(done, boxes, d.index, before);
}

/** Escape: the drag ends with nothing changed. */
export function cancelDrag(s: EditorState): EditorState {
  if (!s.drag || !s.dragBefore) return s;
  return { ...s, boxes: s.dragBefore.boxes, drag: null, dragBefore: null };
}

// ---- selection, class, delete, keyboard ------------------------------------------------------

export function select(s: EditorState, index: number | null): EditorState {
  if (index !== null && !(index >= 0 && index < s.boxes.length)) return s;
  return { ...s, selected: index };
}

/** Tab / Shift+Tab: the next or previous box, wrapping; from no selection, the first or last. */
export function selectNext(s: EditorState, step: 1 | -1 = 1): EditorState {
  const n = s.boxes.length;
  if (n === 0) return { ...s, selected: null };
  if (s.selected === null) return { ...s, selected: step === 1 ? 0 : n - 1 };
  return { ...s, selected: (s.selected + step + n) % n };
}

/** Number key k (1-9) is class k-1: it becomes the active class, and the selected box's class. */
export function setClass(s: EditorState, classIndex: number, now = Date.now()): EditorState {
  if (!(Number.isInteger(classIndex) && classIndex >= 0 && classIndex < s.classes.length)) return s;
  const next = { ...s, activeClass: classIndex };
  if (s.selected === null) return next;
  const b = s.boxes[s.selected];
  const label = s.classes[classIndex];
  if (b.label === label) return next;
  const boxes = s.boxes.slice();
  boxes[s.selected] = { ...accepted(b, now), label };
  return commit(next, boxes, s.selected, snapshot(s));
}

/** The class index for a key ("1"-"9"), or null. */
export function classForKey(key: string): number | null {
  return /^[1-9]$/.test(key) ? Number(key) - 1 : null;
}

/** Delete the selected box; the selection moves to the box that took its place (or the last). */
export function deleteSelected(s: EditorState): EditorState {
  if (s.selected === null) return s;
  const boxes = s.boxes.filter((_, i) => i !== s.selected);
  const selected = boxes.length === 0 ? null : Math.min(s.selected, boxes.length - 1);
  return commit(s, boxes, selected);
}

/** Arrow keys: move the selected box by whole pixels (Shift: a larger step), kept in the image. */
export function nudge(s: EditorState, dx: number, dy: number, large = false, now = Date.now()): EditorState {
  if (s.selected === null) return s;
  const step = large ? NUDGE_PIXELS_LARGE : NUDGE_PIXELS;
  const b = s.boxes[s.selected];
  const x = Math.min(1 - b.w, Math.max(0, b.x + (dx * step) / s.imageWidth));
  const y = Math.min(1 - b.h, Math.max(0, b.y + (dy * step) / s.imageHeight));
  if (x === b.x && y === b.y) return s;
  const boxes = s.boxes.slice();
  boxes[s.selected] = { ...accepted(b, now), x, y };
  return commit(s, boxes, s.selected);
}

/** A: accept the selected (or given) proposal; it becomes a manual box. */
export function acceptPrelabel(s: EditorState, index = s.selected, now = Date.now()): EditorState {
  if (index === null || !s.boxes[index] || !isPending(s.boxes[index])) return s;
  const boxes = s.boxes.slice();
  boxes[index] = accepted(boxes[index], now);
  return commit(s, boxes, index);
}

/** R: reject the selected (or given) proposal: it is removed. */
export function rejectPrelabel(s: EditorState, index = s.selected): EditorState {
  if (index === null || !s.boxes[index] || !isPending(s.boxes[index])) return s;
  return deleteSelected({ ...s, selected: index });
}

function sameGeometry(a: EditorBox, b: EditorBox): boolean {
  const eps = 1e-9;
  return (
    a.label === b.label && Math.abs(a.x - b.x) < eps && Math.abs(a.y - b.y) < eps && Math.abs(a.w - b.w) < eps && Math.abs(a.h - b.h) < eps
  );
}

/**
 * Copy the previous image's boxes onto this one as manual boxes (one undo step). Boxes already
 * here (same class and place) are not doubled; classes this editor does not know are left out.
 * Returns the state and how many boxes were added.
 */
export function copyBoxes(s: EditorState, from: readonly BoxAnnotation[], now = Date.now()): { state: EditorState; added: number } {
  const known = new Set(s.classes);
  const add: EditorBox[] = [];
  for (const b of from) {
    if (!known.has(b.label)) continue;
    const g = spanBox({ x: b.x, y: b.y }, { x: b.x + b.w, y: b.y + b.h });
    const box: EditorBox = { ...g, label: b.label, source: 'manual', time: now };
    if (!bigEnough(s, g) || [...s.boxes, ...add].some((o) => sameGeometry(o, box))) continue;
    add.push(box);
  }
  if (add.length === 0) return { state: s, added: 0 };
  return { state: commit(s, [...s.boxes, ...add], s.boxes.length + add.length - 1), added: add.length };
}

// ---- undo / redo -----------------------------------------------------------------------------

export const canUndo = (s: EditorState) => s.past.length > 0 && !s.drag;
export const canRedo = (s: EditorState) => s.future.length > 0 && !s.drag;

export function undo(s: EditorState): EditorState {
  if (!canUndo(s)) return s;
  const prev = s.past[s.past.length - 1];
  return { ...s, boxes: prev.boxes, selected: prev.selected, past: s.past.slice(0, -1), future: [...s.future, snapshot(s)] };
}

export function redo(s: EditorState): EditorState {
  if (!canRedo(s)) return s;
  const next = s.future[s.future.length - 1];
  return { ...s, boxes: next.boxes, selected: next.selected, past: [...s.past, snapshot(s)], future: s.future.slice(0, -1) };
}

/** The boxes to store: plain annotations, pre-labels still pending included (with their confidence). */
export function outputBoxes(s: EditorState): EditorBox[] {
  return s.boxes.map((b) => ({ ...b }));
}

/** "box 1: cat, 34% × 20% at 10%, 12%" (and a pending proposal's confidence). */
export function describeBox(b: EditorBox, i: number): string {
  const pc = (v: number) => `${Math.round(v * 100)}%`;
  const pending = isPending(b) ? `, proposed with confidence ${pc(b.confidence ?? 0)}` : '';
  return `box ${i + 1}: ${b.label}, ${pc(b.w)} × ${pc(b.h)} at ${pc(b.x)}, ${pc(b.y)}${pending}`;
}

// ---- zoom and pan ----------------------------------------------------------------------------

/**
 * How the image sits in the viewport: screen = pan + image pixels × scale, where scale is the
 * fit-to-viewport scale times zoom (zoom 1 shows the whole image).
 */
export interface View {
  viewportWidth: number;
  viewportHeight: number;
  imageWidth: number;
  imageHeight: number;
  zoom: number;
  panX: number;
  panY: number;
}

export const MIN_ZOOM = 1;
export const MAX_ZOOM = 32;

export function fitScale(v: Pick<View, 'viewportWidth' | 'viewportHeight' | 'imageWidth' | 'imageHeight'>): number {
  return Math.min(v.viewportWidth / v.imageWidth, v.viewportHeight / v.imageHeight);
}

/** Screen pixels per image pixel. */
export const viewScale = (v: View) => fitScale(v) * v.zoom;

/** The whole image, centred. */
export function fitView(viewportWidth: number, viewportHeight: number, imageWidth: number, imageHeight: number): View {
  return clampPan({ viewportWidth, viewportHeight, imageWidth, imageHeight, zoom: 1, panX: 0, panY: 0 });
}

/** Keep the image covering the viewport where it is larger, centred where it is smaller. */
export function clampPan(v: View): View {
  const k = viewScale(v);
  const w = v.imageWidth * k;
  const h = v.imageHeight * k;
  const panX = w <= v.viewportWidth ? (v.viewportWidth - w) / 2 : Math.min(0, Math.max(v.viewportWidth - w, v.panX));
  const panY = h <= v.viewportHeight ? (v.viewportHeight - h) / 2 : Math.min(0, Math.max(v.viewportHeight - h, v.panY));
  return { ...v, panX, panY };
}

/** A screen point (viewport pixels) in normalised image coordinates (may lie outside [0, 1]). */
export function screenToImage(v: View, sx: number, sy: number): Point {
  const k = viewScale(v);
  return { x: (sx - v.panX) / k / v.imageWidth, y: (sy - v.panY) / k / v.imageHeight };
}

export function imageToScreen(v: View, p: Point): Point {
  const k = viewScale(v);
  return { x: v.panX + p.x * v.imageWidth * k, y: v.panY + p.y * v.imageHeight * k };
}

/** Zoom by `factor` keeping the image point under (sx, sy) where it is. */
export function zoomAt(v: View, factor: number, sx: number, sy: number): View {
  if (!(factor > 0 && Number.isFinite(factor))) return v;
  const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, v.zoom * factor));
  const p = screenToImage(v, sx, sy);
  const next = { ...v, zoom };
  const k = viewScale(next);
  return clampPan({ ...next, panX: sx - p.x * v.imageWidth * k, panY: sy - p.y * v.imageHeight * k });
}

export function panBy(v: View, dx: number, dy: number): View {
  return clampPan({ ...v, panX: v.panX + dx, panY: v.panY + dy });
}

/** A new viewport size, keeping zoom and the pan clamped. */
export function resizeView(v: View, viewportWidth: number, viewportHeight: number): View {
  return clampPan({ ...v, viewportWidth, viewportHeight });
}

/** `px` screen pixels in normalised image units at this view (for hit tests). */
export function tolerance(v: View, px: number): Tolerance {
  const k = viewScale(v);
  return { x: px / (v.imageWidth * k), y: px / (v.imageHeight * k) };
}
