"""The app's augmentations (src/lib/augment/apply.ts) in NumPy: one inverse-mapped geometric pass
(flips, rotation, random resized crop) with bilinear sampling and a zero background, then
brightness, contrast, saturation, Gaussian noise and cutout, in that order and with the same
ranges. Draws come from NumPy's generator, so a seeded run replays, but not the app's exact draws."""
import math

import numpy as np

LOG_RATIO_MIN = math.log(3 / 4)
LOG_RATIO_SPAN = math.log(4 / 3) - LOG_RATIO_MIN
KEYS = ('hflip', 'vflip', 'rotation', 'resizedCrop', 'brightness', 'contrast', 'saturation', 'noise', 'cutout')


def is_identity(spec):
    return all(spec.get(k, 0) == 0 for k in KEYS)


def augment_image(src, spec, rng):
    """src: [H, W, C] uint8 (square). Returns [H, W, C] float32 in 0..1."""
    size, _, channels = src.shape
    r = rng.random(12)
    hflip = r[0] < spec['hflip']
    vflip = r[1] < spec['vflip']
    angle = (r[2] * 2 - 1) * spec['rotation'] * math.pi / 180
    area = 1 - spec['resizedCrop'] * r[3]
    ratio = math.exp(LOG_RATIO_MIN + LOG_RATIO_SPAN * r[4])
    gain = 1 + (r[7] * 2 - 1) * spec['brightness']
    contrast = 1 + (r[8] * 2 - 1) * spec['contrast']
    saturation = 1 + (r[9] * 2 - 1) * spec['saturation'] if channels == 3 else 1
    cw = min(1, math.sqrt(area * ratio)) if spec['resizedCrop'] > 0 else 1
    ch = min(1, math.sqrt(area / ratio)) if spec['resizedCrop'] > 0 else 1
    c = (size - 1) / 2
    crop_cx = c + (r[5] - 0.5) * (1 - cw) * size
    crop_cy = c + (r[6] - 0.5) * (1 - ch) * size
    img = src.astype(np.float32)
    if hflip or vflip or angle != 0 or cw != 1 or ch != 1:
        cos, sin = math.cos(angle), math.sin(angle)
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
        dx = (-1 if hflip else 1) * (xs - c)
        dy = (-1 if vflip else 1) * (ys - c)
        sx = crop_cx + cw * (cos * dx + sin * dy)
        sy = crop_cy + ch * (cos * dy - sin * dx)
        x0 = np.floor(sx).astype(np.int64)
        y0 = np.floor(sy).astype(np.int64)
        tx, ty = (sx - x0)[..., None], (sy - y0)[..., None]
        out = np.zeros((size, size, channels), np.float64)
        for oy, ox, w in ((0, 0, (1 - tx) * (1 - ty)), (0, 1, tx * (1 - ty)), (1, 0, (1 - tx) * ty), (1, 1, tx * ty)):
            yy, xx = y0 + oy, x0 + ox
            inside = ((yy >= 0) & (yy < size) & (xx >= 0) & (xx < size))[..., None]
            out += np.where(inside, w * img[np.clip(yy, 0, size - 1), np.clip(xx, 0, size - 1)], 0)
        img = out.astype(np.float32)
    v = img / 255.0
    if gain != 1:
        v = np.minimum(1, v * gain)
    if contrast != 1 or saturation != 1 or spec['noise'] > 0:
        mean = v.mean()
        if contrast != 1:
            v = np.clip(mean + (v - mean) * contrast, 0, 1)
        if saturation != 1:
            gray = (0.299 * v[..., 0] + 0.587 * v[..., 1] + 0.114 * v[..., 2])[..., None]
            v = np.clip(gray + (v - gray) * saturation, 0, 1)
        if spec['noise'] > 0:
            v = np.clip(v + spec['noise'] * rng.standard_normal(v.shape), 0, 1)
    side = int(math.floor(spec['cutout'] * size + 0.5))
    if side > 0:
        x0 = min(size - side, int(r[10] * (size - side + 1)))
        y0 = min(size - side, int(r[11] * (size - side + 1)))
        v[y0:y0 + side, x0:x0 + side] = 0
    return v.astype(np.float32)


def augment_batch(x, spec, rng):
    """x: [N, H, W, C] uint8 -> float32 0..1, each image augmented independently."""
    if spec is None or is_identity(spec):
        return x.astype(np.float32) / 255.0
    return np.stack([augment_image(img, spec, rng) for img in x])
