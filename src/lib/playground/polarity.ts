// Which way round a grayscale dataset is drawn: light strokes on a dark background (the Digits
// demo, MNIST) or dark on light (ink on paper). The playground's drawing pad draws the same way,
// since a model trained on white-on-black digits is confidently wrong on a black-on-white one.

export type Polarity = 'light-on-dark' | 'dark-on-light';

export interface GrayImage {
  /** Row-major intensities 0..255, `channels` values per pixel (the first one is used). */
  pixels: ArrayLike<number>;
  width: number;
  height: number;
  channels: number;
}

export interface PolarityResult {
  polarity: Polarity;
  /** Median border intensity over the images (the background), 0..255. */
  background: number;
  /** Median whole-image intensity, 0..255. */
  mean: number;
  /** Images measured (those with at least 3x3 pixels). */
  images: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Mean of the one-pixel frame around an image and of the whole image. */
function borderAndMean(img: GrayImage): { border: number; mean: number } {
  const { width: w, height: h, channels: c, pixels } = img;
  let border = 0;
  let nBorder = 0;
  let total = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = pixels[(y * w + x) * c];
      total += v;
      if (y === 0 || x === 0 || y === h - 1 || x === w - 1) {
        border += v;
        nBorder++;
      }
    }
  }
  return { border: border / nBorder, mean: total / (w * h) };
}

/**
 * The dataset's polarity from its images' borders (the background) against their means: a
 * background darker than the image as a whole means light strokes on dark. When border and mean
 * agree (blank or uniform images), the background's own brightness decides. Null without images.
 */
export function datasetPolarity(images: GrayImage[]): PolarityResult | null {
  const measured = images
    .filter((i) => i.width >= 3 && i.height >= 3 && i.channels >= 1 && i.pixels.length >= i.width * i.height * i.channels)
    .map(borderAndMean);
  if (measured.length === 0) return null;
  const background = median(measured.map((m) => m.border));
  const mean = median(measured.map((m) => m.mean));
  const polarity: Polarity =
    Math.abs(mean - background) >= 1
      ? background < mean
        ? 'light-on-dark'
        : 'dark-on-light'
      : background < 128
        ? 'light-on-dark'
        : 'dark-on-light';
  return { polarity, background, mean, images: measured.length };
}

/** Colours for a drawing pad in a dataset's polarity: the background and the stroke. */
export function padColours(p: Polarity): { paper: string; ink: string } {
  return p === 'light-on-dark' ? { paper: '#000000', ink: '#ffffff' } : { paper: '#ffffff', ink: '#000000' };
}
