// The box editor (src/components/BoxEditor.svelte) in real Chromium, without the app: a harness
// page bundled on the fly (test/browser/component-page.ts) and its own browser, so it needs no
// build and no global setup. Mouse drawing, handle resize, move, class keys, undo/redo, keyboard
// delete, copy previous, next image, and pre-label accept/reject, each checked on onchange.
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EditorBox } from '../../src/lib/detect/box-editor';
import { openComponentPage, type ComponentPage } from '../browser/component-page';

let cp: ComponentPage;
let page: Page;

beforeAll(async () => {
  cp = await openComponentPage(fileURLToPath(new URL('../browser/box-editor.entry.ts', import.meta.url)));
  page = cp.page;
  await page.locator('[data-testid="box-editor"] img').waitFor();
}, 60_000);

afterAll(async () => {
  await cp?.close();
});

const changes = () => page.evaluate(() => (window as unknown as { __boxEditor: { changes: EditorBox[][] } }).__boxEditor.changes);
const events = () => page.evaluate(() => (window as unknown as { __boxEditor: { events: string[] } }).__boxEditor.events);
const last = async () => (await changes()).at(-1)!;

/** Screen position of a normalised image point. */
async function at(x: number, y: number) {
  const r = (await page.locator('[data-testid="box-editor"] img').boundingBox())!;
  return { x: r.x + x * r.width, y: r.y + y * r.height };
}

async function drag(from: [number, number], to: [number, number]) {
  const a = await at(...from);
  const b = await at(...to);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 3 });
  await page.mouse.move(b.x, b.y, { steps: 3 });
  await page.mouse.up();
}

function expectBox(b: EditorBox, x: number, y: number, w: number, h: number) {
  // Within one screen pixel or so of where the mouse went (the image is ~560 px wide).
  for (const [got, want] of [
    [b.x, x],
    [b.y, y],
    [b.w, w],
    [b.h, h],
  ])
    expect(Math.abs(got - want)).toBeLessThan(0.006);
}

describe('box editor in Chromium', () => {
  it('draws, resizes, moves, relabels, undoes, redoes and deletes a box', async () => {
    await drag([0.1, 0.1], [0.4, 0.5]);
    const boxes = await last();
    expect(boxes).toHaveLength(1);
    expectBox(boxes[0], 0.1, 0.1, 0.3, 0.4);
    expect(boxes[0]).toMatchObject({ label: 'cat', source: 'manual' });
    await expect
      .poll(() => page.locator('ul[aria-label="Boxes on this image"]').textContent())
      .toContain('box 1: cat, 30% × 40% at 10%, 10%');

    // The selected box has handles: drag the bottom-right one.
    expect(await page.locator('.handle').count()).toBe(8);
    await drag([0.4, 0.5], [0.6, 0.7]);
    expectBox(await last().then((b) => b[0]), 0.1, 0.1, 0.5, 0.6);

    // Past the opposite edge: the box flips.
    await drag([0.6, 0.7], [0.05, 0.7]);
    expectBox(await last().then((b) => b[0]), 0.05, 0.1, 0.05, 0.6);
    await page.keyboard.press('Control+z');
    expectBox(await last().then((b) => b[0]), 0.1, 0.1, 0.5, 0.6);

    await drag([0.3, 0.3], [0.4, 0.35]);
    expectBox(await last().then((b) => b[0]), 0.2, 0.15, 0.5, 0.6);

    const n = (await changes()).length;
    await page.keyboard.press('2');
    expect((await last())[0].label).toBe('dog');
    await page.keyboard.press('Control+z');
    expect((await last())[0].label).toBe('cat');
    await page.keyboard.press('Control+Shift+z');
    expect((await last())[0].label).toBe('dog');
    await page.keyboard.press('Control+z');
    await page.keyboard.press('Control+y');
    expect((await last())[0].label).toBe('dog');
    expect((await changes()).length).toBe(n + 5);

    await page.keyboard.press('ArrowRight');
    expect((await last())[0].x).toBeCloseTo(0.2 + 1 / 400, 2);
    await page.keyboard.press('Delete');
    expect(await last()).toEqual([]);
    await page.keyboard.press('Control+z');
    expect((await last())[0].label).toBe('dog');

    // A click on the image where there is no box draws nothing.
    const before = (await changes()).length;
    await drag([0.9, 0.9], [0.901, 0.9]);
    expect((await changes()).length).toBe(before);
  });

  it("copies the previous image's boxes and asks for the next image", async () => {
    await page.keyboard.press('c');
    const boxes = await last();
    expect(boxes.map((b) => b.label)).toEqual(['dog', 'dog']);
    expectBox(boxes[1], 0.5, 0.5, 0.2, 0.2);
    await page.keyboard.press(']');
    await page.keyboard.press('PageUp');
    expect(await events()).toEqual(['copied 1', 'next', 'previous']);
  });

  it('accepts and rejects pre-labels by key and by button', async () => {
    const proposals: EditorBox[] = [
      { x: 0.1, y: 0.1, w: 0.2, h: 0.2, label: 'cat', source: 'prediction', confidence: 0.91, time: 0 },
      { x: 0.6, y: 0.6, w: 0.2, h: 0.2, label: 'dog', source: 'prediction', confidence: 0.42, time: 0 },
    ];
    await page.evaluate(
      (b) => (window as unknown as { __boxEditor: { setBoxes: (b: EditorBox[]) => void } }).__boxEditor.setBoxes(b),
      proposals,
    );
    await expect.poll(() => page.locator('svg text').allTextContents()).toEqual(['1 cat 91%?', '2 dog 42%?']);
    const n = (await changes()).length;
    // Select the first by clicking it (no change), accept with A.
    const p = await at(0.2, 0.2);
    await page.mouse.click(p.x, p.y);
    expect((await changes()).length).toBe(n);
    await page.keyboard.press('a');
    let boxes = await last();
    expect(boxes[0]).toMatchObject({ label: 'cat', source: 'manual' });
    expect(boxes[0].confidence).toBeUndefined();
    expect(boxes[1]).toMatchObject({ source: 'prediction', confidence: 0.42 });
    // Tab to the second, reject it with the button.
    await page.keyboard.press('Tab');
    await page.getByRole('button', { name: 'Reject (R)' }).click();
    boxes = await last();
    expect(boxes).toHaveLength(1);
    expect(boxes[0].label).toBe('cat');
    await page.locator('[data-testid="box-editor"]').focus();
    await page.keyboard.press('Control+z');
    expect(await last()).toHaveLength(2);
    // Undo brings the proposal back selected: R rejects it.
    await expect
      .poll(() => page.locator('[aria-label="Proposed box"]').textContent())
      .toContain('Box 2: dog, proposed with confidence 42%');
    await page.keyboard.press('r');
    expect(await last()).toHaveLength(1);
  });

  it('zooms about the pointer with the wheel, pans with Space held, and 0 fits again', async () => {
    const img = page.locator('[data-testid="box-editor"] img');
    const fit = (await img.boundingBox())!;
    const p = await at(0.3, 0.4);
    await page.mouse.move(p.x, p.y);
    await page.mouse.wheel(0, -350);
    await expect.poll(async () => (await img.boundingBox())!.width).toBeGreaterThan(fit.width * 1.5);
    const q = await at(0.3, 0.4); // the image point under the pointer stayed there
    expect(Math.abs(q.x - p.x)).toBeLessThan(2);
    expect(Math.abs(q.y - p.y)).toBeLessThan(2);
    const n = (await changes()).length;
    await page.keyboard.down('Space');
    await page.mouse.down();
    await page.mouse.move(p.x + 40, p.y + 30, { steps: 3 });
    await page.mouse.up();
    await page.keyboard.up('Space');
    expect((await at(0.3, 0.4)).x - p.x).toBeGreaterThan(30);
    expect((await changes()).length).toBe(n); // panning edits nothing
    await page.keyboard.press('0');
    await expect.poll(async () => (await img.boundingBox())!.width).toBeCloseTo(fit.width, 0);
  });

  it('fits a 390 px wide screen and names itself for assistive technology', async () => {
    await page.setViewportSize({ width: 390, height: 700 });
    const editor = page.getByRole('application', { name: 'Box editor' });
    await expect.poll(() => editor.evaluate((e) => e.getBoundingClientRect().width)).toBeLessThanOrEqual(390);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const described = await editor.getAttribute('aria-describedby');
    expect(described?.split(' ')).toHaveLength(2);
    await drag([0.5, 0.1], [0.9, 0.3]);
    expect(await last()).toHaveLength(2);
    // Shift draws a box inside that one instead of moving it.
    await page.keyboard.down('Shift');
    await drag([0.6, 0.15], [0.7, 0.25]);
    await page.keyboard.up('Shift');
    const boxes = await last();
    expect(boxes).toHaveLength(3);
    expectBox(boxes[1], 0.5, 0.1, 0.4, 0.2);
    expectBox(boxes[2], 0.6, 0.15, 0.1, 0.1);
  });
});
