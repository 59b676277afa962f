// Trainyard preprocessing recipe: an image's RGBA pixels -> the model's input, exactly as the app
// computes it. Dependency-free ES module; the app's workers import this file and every export
// ships a copy of it as preprocess.js, so both run the same code on the same numbers.
//
// 1. Composite each pixel over the background colour: c' = c * a/255 + bg * (1 - a/255).
// 2. Place the image in a size x size square by the resize policy ('pad': whole image, aspect kept,
//    centred on the background; 'center-crop': central square; 'stretch': whole image, squashed).
// 3. Resample with a separable triangle (bilinear) filter whose radius grows with the downscale
//    factor (an antialiasing area filter, like PIL's BILINEAR), computed in float64, rounded to 0..255.
// 4. Grayscale models take ITU-R BT.601 luma, round(0.299 R + 0.587 G + 0.114 B).
// 5. Scale to the model's range: v / 255 ('0..1') or v / 255 * 2 - 1 ('-1..1'), float32, HWC order.

/**
 * @typedef {{ inputSize: number, channels: 1 | 3, resize: 'pad' | 'center-crop' | 'stretch', background: [number, number, number], normalization?: '0..1' | '-1..1' }} RecipeConfig
 */

/** Source and destination rectangles for drawing a w x h image into a size x size square. */
export function resizeGeometry(w, h, size, policy) {
  if (policy === 'stretch') return { sx: 0, sy: 0, sw: w, sh: h, dx: 0, dy: 0, dw: size, dh: size };
  if (policy === 'center-crop') {
    const side = Math.min(w, h);
    return { sx: (w - side) / 2, sy: (h - side) / 2, sw: side, sh: side, dx: 0, dy: 0, dw: size, dh: size };
  }
  const scale = size / Math.max(w, h);
  const dw = Math.max(1, Math.round(w * scale));
  const dh = Math.max(1, Math.round(h * scale));
  return { sx: 0, sy: 0, sw: w, sh: h, dx: Math.floor((size - dw) / 2), dy: Math.floor((size - dh) / 2), dw, dh };
}

/** Per output index: first source index and normalised weights (triangle filter). */
function weights(start, length, limit, outLength) {
  const scale = length / outLength;
  const radius = Math.max(1, scale);
  const lo = Math.max(0, Math.floor(start));
  const hi = Math.min(limit, Math.ceil(start + length)) - 1;
  const table = [];
  for (let i = 0; i < outLength; i++) {
    const centre = start + (i + 0.5) * scale;
    const first = Math.max(lo, Math.floor(centre - radius));
    const last = Math.min(hi, Math.ceil(centre + radius));
    const w = [];
    let sum = 0;
    for (let j = first; j <= last; j++) {
      const v = Math.max(0, 1 - Math.abs(j + 0.5 - centre) / radius);
      w.push(v);
      sum += v;
    }
    if (sum === 0) {
      // Only possible for a degenerate source rect: take the nearest pixel.
      const j = Math.min(hi, Math.max(lo, Math.floor(centre)));
      table.push({ first: j, w: [1] });
    } else table.push({ first, w: w.map((v) => v / sum) });
  }
  return table;
}

/**
 * RGBA (unpremultiplied, row-major, width x height) -> the model's pixels as uint8, HWC,
 * inputSize x inputSize x channels. This is what the app caches for training and inference.
 * @param {Uint8Array | Uint8ClampedArray} rgba
 * @param {number} width
 * @param {number} height
 * @param {RecipeConfig} config
 * @returns {Uint8Array}
 */
export function modelPixels(rgba, width, height, config) {
  if (!(width > 0 && height > 0) || rgba.length < width * height * 4)
    throw new Error(`Expected ${width}x${height} RGBA pixels (${width * height * 4} values), got ${rgba.length}.`);
  const size = config.inputSize;
  const [br, bg, bb] = config.background;
  const geo = resizeGeometry(width, height, size, config.resize);
  const xs = weights(geo.sx, geo.sw, width, geo.dw);
  const ys = weights(geo.sy, geo.sh, height, geo.dh);
  const rowLo = ys.reduce((m, t) => Math.min(m, t.first), height);
  const rowHi = ys.reduce((m, t) => Math.max(m, t.first + t.w.length), 0);
  // Horizontal pass over the rows the vertical pass reads: composited RGB in float64.
  const tmp = new Float64Array((rowHi - rowLo) * geo.dw * 3);
  for (let y = rowLo; y < rowHi; y++) {
    const row = y * width * 4;
    for (let i = 0; i < geo.dw; i++) {
      const { first, w } = xs[i];
      let r = 0,
        g = 0,
        b = 0;
      for (let k = 0; k < w.length; k++) {
        const p = row + (first + k) * 4;
        const a = rgba[p + 3] / 255;
        r += w[k] * (rgba[p] * a + br * (1 - a));
        g += w[k] * (rgba[p + 1] * a + bg * (1 - a));
        b += w[k] * (rgba[p + 2] * a + bb * (1 - a));
      }
      const o = ((y - rowLo) * geo.dw + i) * 3;
      tmp[o] = r;
      tmp[o + 1] = g;
      tmp[o + 2] = b;
    }
  }
  const channels = config.channels;
  const out = new Uint8Array(size * size * channels);
  const put = (x, y, r, g, b) => {
    const o = (y * size + x) * channels;
    if (channels === 1) out[o] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    else {
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
    }
  };
  const clamp = (v) => Math.min(255, Math.max(0, Math.round(v)));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const ix = x - geo.dx;
      const iy = y - geo.dy;
      if (ix < 0 || iy < 0 || ix >= geo.dw || iy >= geo.dh) {
        put(x, y, br, bg, bb);
        continue;
      }
      const { first, w } = ys[iy];
      let r = 0,
        g = 0,
        b = 0;
      for (let k = 0; k < w.length; k++) {
        const o = ((first + k - rowLo) * geo.dw + ix) * 3;
        r += w[k] * tmp[o];
        g += w[k] * tmp[o + 1];
        b += w[k] * tmp[o + 2];
      }
      put(x, y, clamp(r), clamp(g), clamp(b));
    }
  }
  return out;
}

/**
 * uint8 model pixels -> float32 model input in the model's range.
 * @param {Uint8Array} pixels
 * @param {'0..1' | '-1..1'} [normalization]
 * @returns {Float32Array}
 */
export function toInput(pixels, normalization = '0..1') {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = normalization === '-1..1' ? (pixels[i] / 255) * 2 - 1 : pixels[i] / 255;
  return out;
}

/**
 * Raw RGBA (Node: e.g. from pngjs or sharp's .raw()) -> { data, shape } for a batch of one.
 * @param {Uint8Array | Uint8ClampedArray} rgba
 * @param {number} width
 * @param {number} height
 * @param {RecipeConfig} config
 */
export function preprocessRGBA(rgba, width, height, config) {
  const data = toInput(modelPixels(rgba, width, height, config), config.normalization);
  return { data, shape: [1, config.inputSize, config.inputSize, config.channels] };
}

/**
 * Browser: ImageData, ImageBitmap, <img>, <canvas> or <video> -> its RGBA pixels at natural size.
 * @param {any} image
 * @returns {{ rgba: Uint8ClampedArray, width: number, height: number }}
 */
export function imageRGBA(image) {
  if (typeof ImageData !== 'undefined' && image instanceof ImageData) return { rgba: image.data, width: image.width, height: image.height };
  const width = image.naturalWidth || image.videoWidth || image.width;
  const height = image.naturalHeight || image.videoHeight || image.height;
  const canvas =
    typeof OffscreenCanvas !== 'undefined'
      ? new OffscreenCanvas(width, height)
      : Object.assign(document.createElement('canvas'), { width, height });
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(image, 0, 0);
  return { rgba: ctx.getImageData(0, 0, width, height).data, width, height };
}

/**
 * Browser: an image -> { data, shape } for a batch of one (feed tf.tensor(data, shape)).
 * @param {any} image
 * @param {RecipeConfig} config
 */
export function preprocessImage(image, config) {
  const { rgba, width, height } = imageRGBA(image);
  return preprocessRGBA(rgba, width, height, config);
}
