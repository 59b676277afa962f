// Types for recipe.js (kept as plain JavaScript so the export can ship it unchanged).
export interface RecipeConfig {
  inputSize: number;
  channels: 1 | 3;
  resize: 'pad' | 'center-crop' | 'stretch';
  background: [number, number, number];
  normalization?: '0..1' | '-1..1';
}
export interface DrawGeometry {
  sx: number;
  sy: number;
  sw: number;
  sh: number;
  dx: number;
  dy: number;
  dw: number;
  dh: number;
}
export function resizeGeometry(w: number, h: number, size: number, policy: RecipeConfig['resize']): DrawGeometry;
export function modelPixels(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, config: RecipeConfig): Uint8Array;
export function toInput(pixels: Uint8Array, normalization?: '0..1' | '-1..1'): Float32Array;
export function preprocessRGBA(
  rgba: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  config: RecipeConfig,
): { data: Float32Array; shape: number[] };
export function imageRGBA(image: ImageData | ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | HTMLVideoElement): {
  rgba: Uint8ClampedArray;
  width: number;
  height: number;
};
export function preprocessImage(
  image: ImageData | ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | HTMLVideoElement,
  config: RecipeConfig,
): { data: Float32Array; shape: number[] };
