// Convolution geometry shared by the training kernels, NHWC, from TF.js's own conv info (so
// 'same', 'valid', explicit padding and dimRoundingMode mean exactly what they mean in TF.js).
import * as tf from '@tensorflow/tfjs';

type Pad = 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;

export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  /** Output channels (depthwise: inC * channel multiplier). */
  outC: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
}

export function convGeometry(
  inShape: number[],
  filterShape: number[],
  strides: number | [number, number],
  dilations: number | [number, number] | null | undefined,
  pad: Pad,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  depthwise: boolean,
): ConvGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations ?? 1,
    pad,
    dimRoundingMode,
    depthwise,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kH: info.filterHeight,
    kW: info.filterWidth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    dilationH: info.dilationHeight,
    dilationW: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    padBottom: info.padInfo.bottom,
    padRight: info.padInfo.right,
  };
}

/**
 * For stride 1, the input gradient is a forward convolution of dy with the spatially flipped
 * filter. These are its paddings; null when one would be negative (an explicit pad wider than
 * the dilated kernel), which the general path handles.
 */
export function flippedConvPadding(g: ConvGeometry): [[number, number], [number, number], [number, number], [number, number]] | null {
  if (g.strideH !== 1 || g.strideW !== 1) return null;
  const effH = (g.kH - 1) * g.dilationH;
  const effW = (g.kW - 1) * g.dilationW;
  const top = effH - g.padTop;
  const left = effW - g.padLeft;
  // Output rows of that convolution: outH + top + bottom - effH must equal inH.
  const bottom = g.inH - g.outH + effH - top;
  const right = g.inW - g.outW + effW - left;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return null;
  return [
    [0, 0],
    [top, bottom],
    [left, right],
    [0, 0],
  ];
}
