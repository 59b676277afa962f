import { describe, expect, it } from 'vitest';
import { datasetPolarity, padColours, type GrayImage } from '../../src/lib/playground/polarity';

/** A size x size image: `paper` everywhere, a `ink` bar through the middle rows. */
function bar(size: number, paper: number, ink: number, channels = 1): GrayImage {
  const pixels = new Uint8Array(size * size * channels).fill(paper);
  for (let y = Math.floor(size / 3); y < Math.ceil((2 * size) / 3); y++) {
    for (let x = 2; x < size - 2; x++) for (let c = 0; c < channels; c++) pixels[(y * size + x) * channels + c] = ink;
  }
  return { pixels, width: size, height: size, channels };
}

describe('datasetPolarity', () => {
  it('white strokes on black (the Digits demo) are light-on-dark', () => {
    const r = datasetPolarity([bar(28, 0, 255), bar(28, 10, 230), bar(28, 5, 250)])!;
    expect(r.polarity).toBe('light-on-dark');
    expect(r.background).toBeLessThan(20);
    expect(r.images).toBe(3);
  });

  it('dark ink on white paper is dark-on-light, also with RGBA pixels', () => {
    expect(datasetPolarity([bar(16, 250, 20, 4), bar(16, 240, 0, 4)])!.polarity).toBe('dark-on-light');
  });

  it('the majority decides when a few images are the other way round', () => {
    expect(datasetPolarity([bar(12, 0, 255), bar(12, 0, 255), bar(12, 255, 0)])!.polarity).toBe('light-on-dark');
  });

  it('uniform images fall back to the background brightness; no usable image gives null', () => {
    expect(datasetPolarity([bar(8, 30, 30)])!.polarity).toBe('light-on-dark');
    expect(datasetPolarity([bar(8, 220, 220)])!.polarity).toBe('dark-on-light');
    expect(datasetPolarity([])).toBeNull();
    expect(datasetPolarity([{ pixels: [1, 2], width: 2, height: 1, channels: 1 }])).toBeNull();
  });

  it('pad colours follow the polarity', () => {
    expect(padColours('light-on-dark')).toEqual({ paper: '#000000', ink: '#ffffff' });
    expect(padColours('dark-on-light')).toEqual({ paper: '#ffffff', ink: '#000000' });
  });
});
