// Types only: per-transform augmentation settings (checked by lib/augment/spec validateAugmentation).

export interface AugmentationSpec {
  /** Probability of a horizontal flip, 0..1. */
  hflip: number;
  /** Probability of a vertical flip, 0..1. */
  vflip: number;
  /** Largest rotation either way, in degrees, 0..180. */
  rotation: number;
  /** 0 = off; otherwise the crop keeps an area fraction drawn in [1 - v, 1], v in 0..0.9. */
  resizedCrop: number;
  /** Brightness factor drawn in [1 - v, 1 + v], v in 0..1. */
  brightness: number;
  /** Contrast factor around the image mean, drawn in [1 - v, 1 + v], v in 0..1. */
  contrast: number;
  /** Saturation factor toward per-pixel gray, drawn in [1 - v, 1 + v]; 3-channel images only. */
  saturation: number;
  /** Gaussian noise standard deviation in 0..1 pixel units, 0..0.5. */
  noise: number;
  /** Side of the zeroed square as a fraction of the image side, 0..0.75; 0 = off. */
  cutout: number;
}

export type AugmentationKey = keyof AugmentationSpec;
