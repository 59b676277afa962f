import { describe, expect, it } from 'vitest';
import {
  acceptPrelabel,
  cancelDrag,
  classForKey,
  copyBoxes,
  createEditor,
  deleteSelected,
  describeBox,
  dragTo,
  drawPreview,
  finishDrag,
  fitView,
  hitTest,
  imageToScreen,
  nudge,
  panBy,
  pointerDown,
  redo,
  rejectPrelabel,
  resizeBox,
  screenToImage,
  select,
  selectNext,
  setClass,
  startResize,
  tolerance,
  undo,
  zoomAt,
  type EditorBox,
  type EditorState,
} from '../../src/lib/detect/box-editor';

const CLASSES = ['cat', 'dog', 'bird'];
const TOL = { x: 0.01, y: 0.01 };
const box = (x: number, y: number, w: number, h: number, label = 'cat', extra: Partial<EditorBox> = {}): EditorBox => ({
  x,
  y,
  w,
  h,
  label,
  source: 'manual',
  time: 1,
  ...extra,
});
const editor = (boxes: EditorBox[] = []) => createEditor({ classes: CLASSES, imageWidth: 200, imageHeight: 100, boxes });
const draw = (s: EditorState, a: [number, number], b: [number, number]) =>
  finishDrag(dragTo(pointerDown(s, { x: a[0], y: a[1] }, TOL), { x: b[0], y: b[1] }), 5);
const geom = (b: EditorBox) => [b.x, b.y, b.w, b.h].map((v) => Math.round(v * 1e6) / 1e6);

describe('box editor: creating', () => {
  it('refuses a bad image size, no classes, duplicate classes', () => {
    expect(() => createEditor({ classes: CLASSES, imageWidth: 0, imageHeight: 10 })).toThrow(/image size/);
    expect(() => createEditor({ classes: CLASSES, imageWidth: NaN, imageHeight: 10 })).toThrow(/image size/);
    expect(() => createEditor({ classes: [], imageWidth: 10, imageHeight: 10 })).toThrow(/at least one class/);
    expect(() => createEditor({ classes: ['a', 'a'], imageWidth: 10, imageHeight: 10 })).toThrow(/distinct/);
  });
});

describe('box editor: drawing', () => {
  it('draws a box from two corners in either order with the active class, as one undo step', () => {
    let s = draw(editor(), [0.6, 0.5], [0.1, 0.2]);
    expect(s.boxes).toHaveLength(1);
    expect(geom(s.boxes[0])).toEqual([0.1, 0.2, 0.5, 0.3]);
    expect(s.boxes[0]).toMatchObject({ label: 'cat', source: 'manual', time: 5 });
    expect(s.selected).toBe(0);
    s = setClass(s, 2);
    s = draw(select(s, null), [0.7, 0.7], [0.9, 0.9]);
    expect(s.boxes[1].label).toBe('bird');
    expect(undo(s).boxes).toHaveLength(1);
  });

  it('clamps a box drawn past the image edges, from outside the image', () => {
    const s = draw(editor(), [-0.5, -0.2], [0.3, 1.4]);
    expect(geom(s.boxes[0])).toEqual([0, 0, 0.3, 1]);
  });

  it('ignores a box smaller than a few pixels, and a click', () => {
    let s = draw(editor(), [0.1, 0.1], [0.1 + 3 / 200, 0.5]); // 3 px wide
    expect(s.boxes).toHaveLength(0);
    s = draw(s, [0.2, 0.2], [0.2, 0.2]);
    expect(s.boxes).toHaveLength(0);
    expect(s.past).toHaveLength(0);
    s = draw(s, [0.1, 0.1], [0.1 + 4 / 200, 0.1 + 4 / 100]);
    expect(s.boxes).toHaveLength(1);
  });

  it('draws over an existing box with drawOver (Shift), where a plain drag would move it', () => {
    const s = editor([box(0, 0, 1, 1)]);
    expect(pointerDown(s, { x: 0.2, y: 0.2 }, TOL).drag?.kind).toBe('move');
    const t = finishDrag(dragTo(pointerDown(s, { x: 0.2, y: 0.2 }, TOL, true), { x: 0.4, y: 0.4 }));
    expect(t.boxes).toHaveLength(2);
    expect(geom(t.boxes[0])).toEqual([0, 0, 1, 1]);
  });

  it('shows a preview while drawing and Escape cancels it', () => {
    let s = dragTo(pointerDown(editor(), { x: 0.1, y: 0.1 }, TOL), { x: 0.5, y: 0.5 });
    expect(geom(drawPreview(s) as EditorBox)).toEqual([0.1, 0.1, 0.4, 0.4]);
    s = cancelDrag(s);
    expect(s.drag).toBeNull();
    expect(finishDrag(s).boxes).toHaveLength(0);
  });
});

describe('box editor: hit testing, moving, resizing', () => {
  it('hits handles of the selected box first, then the smallest box, the topmost among equals', () => {
    const s = select(editor([box(0, 0, 1, 1), box(0.2, 0.2, 0.2, 0.2), box(0.2, 0.2, 0.2, 0.2, 'dog')]), 0);
    expect(hitTest(s, { x: 0.3, y: 0.3 }, TOL)).toEqual({ kind: 'box', index: 2 });
    expect(hitTest(s, { x: 1, y: 0.5 }, TOL)).toEqual({ kind: 'handle', index: 0, handle: 'e' });
    expect(hitTest(s, { x: 0.005, y: 0.995 }, TOL)).toEqual({ kind: 'handle', index: 0, handle: 'sw' });
    expect(hitTest(select(s, null), { x: 1, y: 0.5 }, TOL)).toEqual({ kind: 'box', index: 0 });
    expect(hitTest(editor([box(0.2, 0.2, 0.1, 0.1)]), { x: 0.5, y: 0.5 }, TOL)).toBeNull();
  });

  it('handle hit size follows the zoom', () => {
    const v = fitView(400, 200, 200, 100); // 2 screen px per image px
    const s = select(editor([box(0.2, 0.2, 0.4, 0.4)]), 0);
    const near = { x: 0.6 + 6 / 400, y: 0.4 };
    expect(hitTest(s, near, tolerance(v, 8))?.kind).toBe('handle');
    expect(hitTest(s, near, tolerance(zoomAt(v, 4, 0, 0), 8))?.kind).not.toBe('handle');
  });

  it('moves a box by dragging it, kept inside the image, as one undo step', () => {
    let s = editor([box(0.1, 0.1, 0.2, 0.2)]);
    s = pointerDown(s, { x: 0.2, y: 0.2 }, TOL);
    expect(s.drag?.kind).toBe('move');
    s = dragTo(s, { x: 0.3, y: 0.25 });
    s = dragTo(s, { x: 0.4, y: 0.3 });
    s = finishDrag(s);
    expect(geom(s.boxes[0])).toEqual([0.3, 0.2, 0.2, 0.2]);
    expect(s.past).toHaveLength(1);
    s = finishDrag(dragTo(pointerDown(s, { x: 0.4, y: 0.3 }, TOL), { x: 5, y: -5 }));
    expect(geom(s.boxes[0])).toEqual([0.8, 0, 0.2, 0.2]);
    expect(geom(undo(undo(s)).boxes[0])).toEqual([0.1, 0.1, 0.2, 0.2]);
  });

  it('a click on a box selects it without an undo step', () => {
    const s = finishDrag(pointerDown(editor([box(0.1, 0.1, 0.2, 0.2)]), { x: 0.2, y: 0.2 }, TOL));
    expect(s.selected).toBe(0);
    expect(s.past).toHaveLength(0);
  });

  it('resizes by each of the 8 handles', () => {
    const o = { x: 0.2, y: 0.2, w: 0.4, h: 0.4 };
    const p = { x: 0.1, y: 0.7 };
    const r = (h: Parameters<typeof resizeBox>[1]) => geom(resizeBox(o, h, p, 0, 0) as EditorBox);
    expect(r('nw')).toEqual([0.1, 0.6, 0.5, 0.1]); // top dragged below the bottom edge: flipped
    expect(r('n')).toEqual([0.2, 0.6, 0.4, 0.1]);
    expect(r('ne')).toEqual([0.1, 0.6, 0.1, 0.1]);
    expect(r('e')).toEqual([0.1, 0.2, 0.1, 0.4]);
    expect(r('se')).toEqual([0.1, 0.2, 0.1, 0.5]);
    expect(r('s')).toEqual([0.2, 0.2, 0.4, 0.5]);
    expect(r('sw')).toEqual([0.1, 0.2, 0.5, 0.5]);
    expect(r('w')).toEqual([0.1, 0.2, 0.5, 0.4]);
  });

  it('resizing past the opposite edge flips the box; past the image edge clamps; never under a pixel', () => {
    let s = startResize(editor([box(0.2, 0.2, 0.2, 0.2)]), 0, 'e');
    s = finishDrag(dragTo(s, { x: 0.1, y: 0.3 }));
    expect(geom(s.boxes[0])).toEqual([0.1, 0.2, 0.1, 0.2]);
    s = finishDrag(dragTo(startResize(s, 0, 'se'), { x: 1.5, y: 2 }));
    expect(geom(s.boxes[0])).toEqual([0.1, 0.2, 0.9, 0.8]);
    s = finishDrag(dragTo(startResize(s, 0, 'w'), { x: 1, y: 0.5 }));
    expect(s.boxes[0].w * 200).toBeCloseTo(1, 9);
    expect(s.boxes[0].x + s.boxes[0].w).toBeLessThanOrEqual(1);
    expect(s.past).toHaveLength(3);
  });

  it('Escape during a move puts the box back', () => {
    let s = pointerDown(editor([box(0.1, 0.1, 0.2, 0.2)]), { x: 0.2, y: 0.2 }, TOL);
    s = cancelDrag(dragTo(s, { x: 0.6, y: 0.6 }));
    expect(geom(s.boxes[0])).toEqual([0.1, 0.1, 0.2, 0.2]);
    expect(s.past).toHaveLength(0);
  });
});

describe('box editor: keyboard operations', () => {
  const three = () => editor([box(0.1, 0.1, 0.1, 0.1), box(0.4, 0.4, 0.1, 0.1, 'dog'), box(0.7, 0.7, 0.1, 0.1, 'bird')]);

  it('number keys map to classes and relabel the selected box', () => {
    expect([classForKey('1'), classForKey('9'), classForKey('0'), classForKey('a'), classForKey('12')]).toEqual([0, 8, null, null, null]);
    let s = setClass(select(three(), 0), 1);
    expect(s.boxes[0].label).toBe('dog');
    expect(s.activeClass).toBe(1);
    expect(setClass(s, 7)).toBe(s); // no such class
    s = setClass(select(s, null), 2);
    expect(s.activeClass).toBe(2);
    expect(s.past).toHaveLength(1);
  });

  it('Tab and Shift+Tab cycle through the boxes', () => {
    let s = three();
    s = selectNext(s);
    expect(s.selected).toBe(0);
    s = selectNext(selectNext(selectNext(s)));
    expect(s.selected).toBe(0);
    expect(selectNext(s, -1).selected).toBe(2);
    expect(selectNext(editor(), 1).selected).toBeNull();
    expect(selectNext(three(), -1).selected).toBe(2);
  });

  it('deletes the selected box, selecting the next; undo restores it; nothing selected: nothing deleted', () => {
    let s = deleteSelected(select(three(), 1));
    expect(s.boxes.map((b) => b.label)).toEqual(['cat', 'bird']);
    expect(s.selected).toBe(1);
    s = deleteSelected(s);
    expect(s.selected).toBe(0);
    s = undo(s);
    expect(s.boxes.map((b) => b.label)).toEqual(['cat', 'bird']);
    s = undo(s);
    expect(s.boxes.map((b) => b.label)).toEqual(['cat', 'dog', 'bird']);
    expect(s.selected).toBe(1);
    expect(deleteSelected(three())).toEqual(three());
  });

  it('arrows nudge by a pixel, Shift by ten, clamped at the edges', () => {
    let s = nudge(select(three(), 0), 1, 0);
    expect(s.boxes[0].x).toBeCloseTo(0.1 + 1 / 200, 12);
    s = nudge(s, 0, 1, true);
    expect(s.boxes[0].y).toBeCloseTo(0.1 + 10 / 100, 12);
    for (let i = 0; i < 3; i++) s = nudge(s, -1, -1, true);
    expect(s.boxes[0]).toMatchObject({ x: 0, y: 0 });
    expect(nudge(s, -1, 0)).toBe(s);
    expect(nudge(three(), 1, 0)).toEqual(three());
  });
});

describe('box editor: undo and redo', () => {
  it('redo replays an undone edit; a new edit clears redo', () => {
    let s = draw(editor(), [0.1, 0.1], [0.3, 0.3]);
    s = draw(select(s, null), [0.5, 0.5], [0.7, 0.7]);
    s = undo(s);
    expect(s.boxes).toHaveLength(1);
    s = redo(s);
    expect(s.boxes).toHaveLength(2);
    s = undo(s);
    s = setClass(select(s, 0), 1);
    expect(s.future).toHaveLength(0);
    expect(redo(s)).toBe(s);
    expect(undo(undo(undo(s))).boxes).toHaveLength(0);
  });

  it('keeps at most historyLimit steps', () => {
    let s = createEditor({ classes: CLASSES, imageWidth: 200, imageHeight: 100, boxes: [box(0.5, 0.5, 0.1, 0.1)], historyLimit: 3 });
    s = select(s, 0);
    for (let i = 0; i < 5; i++) s = nudge(s, 1, 0);
    expect(s.past).toHaveLength(3);
    for (let i = 0; i < 5; i++) s = undo(s);
    expect(s.boxes[0].x).toBeCloseTo(0.5 + 2 / 200, 12);
  });
});

describe('box editor: copy and pre-labels', () => {
  it("copies the previous image's boxes once, skipping unknown classes, as one undo step", () => {
    const prev = [box(0.1, 0.1, 0.2, 0.2, 'dog', { source: 'import' }), box(0.5, 0.5, 0.2, 0.2, 'fish')];
    const copied = copyBoxes(editor(), prev, 9);
    let s = copied.state;
    expect(copied.added).toBe(1);
    expect(s.boxes[0]).toMatchObject({ label: 'dog', source: 'manual', time: 9 });
    const again = copyBoxes(s, prev, 9);
    expect(again.added).toBe(0);
    expect(again.state).toBe(s);
    s = undo(s);
    expect(s.boxes).toHaveLength(0);
  });

  it('accepts a proposal (it becomes manual) and rejects one (it is removed)', () => {
    const p = (x: number) => box(x, 0.1, 0.1, 0.1, 'cat', { source: 'prediction', confidence: 0.87 });
    let s = editor([p(0.1), p(0.5), box(0.8, 0.1, 0.1, 0.1)]);
    expect(describeBox(s.boxes[0], 0)).toBe('box 1: cat, 10% × 10% at 10%, 10%, proposed with confidence 87%');
    s = acceptPrelabel(select(s, 0), 0, 3);
    expect(s.boxes[0]).toEqual(box(0.1, 0.1, 0.1, 0.1, 'cat', { time: 3 }));
    expect(acceptPrelabel(s, 0)).toBe(s); // already accepted
    s = rejectPrelabel(s, 1);
    expect(s.boxes).toHaveLength(2);
    expect(rejectPrelabel(s, 1)).toBe(s); // a manual box is not a proposal
    s = undo(s);
    expect(s.boxes[1]).toMatchObject({ source: 'prediction', confidence: 0.87 });
  });

  it('adjusting a proposal accepts it', () => {
    let s = editor([box(0.1, 0.1, 0.2, 0.2, 'cat', { source: 'prediction', confidence: 0.5 })]);
    s = finishDrag(dragTo(pointerDown(s, { x: 0.2, y: 0.2 }, TOL), { x: 0.25, y: 0.2 }), 4);
    expect(s.boxes[0]).toMatchObject({ source: 'manual', time: 4 });
    expect(s.boxes[0].confidence).toBeUndefined();
  });
});

describe('box editor: zoom and pan', () => {
  it('fits and centres the image; screen and image coordinates round-trip', () => {
    const v = fitView(300, 300, 200, 100); // scale 1.5, image 300 x 150 centred vertically
    expect(v).toMatchObject({ panX: 0, panY: 75, zoom: 1 });
    expect(screenToImage(v, 150, 150)).toEqual({ x: 0.5, y: 0.5 });
    const z = zoomAt(v, 3, 40, 100);
    const p = { x: 0.3, y: 0.6 };
    const q = screenToImage(z, imageToScreen(z, p).x, imageToScreen(z, p).y);
    expect(q.x).toBeCloseTo(0.3, 12);
    expect(q.y).toBeCloseTo(0.6, 12);
  });

  it('zooms about the pointer, within the zoom limits', () => {
    const v = fitView(400, 200, 200, 100);
    const before = screenToImage(v, 100, 50);
    const z = zoomAt(v, 2, 100, 50);
    expect(z.zoom).toBe(2);
    const after = screenToImage(z, 100, 50);
    expect(after.x).toBeCloseTo(before.x, 12);
    expect(after.y).toBeCloseTo(before.y, 12);
    expect(zoomAt(v, 0.1, 0, 0).zoom).toBe(1);
    expect(zoomAt(v, 1000, 0, 0).zoom).toBe(32);
    expect(zoomAt(v, NaN, 0, 0)).toBe(v);
  });

  it('pans within the image and not past it', () => {
    const z = zoomAt(fitView(400, 200, 200, 100), 2, 0, 0); // image 800 x 400 on screen
    expect(panBy(z, -300, -100)).toMatchObject({ panX: -300, panY: -100 });
    expect(panBy(z, -10_000, 10_000)).toMatchObject({ panX: -400, panY: 0 });
    expect(panBy(fitView(400, 200, 200, 100), 50, 50)).toMatchObject({ panX: 0, panY: 0 });
  });
});
