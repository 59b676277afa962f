// The one error every exporter throws for a model it cannot express: it names the layer and the
// format, so the Export dialog can say exactly what failed and still offer the other formats.
export class UnsupportedLayerError extends Error {
  constructor(
    readonly format: string,
    readonly layerName: string,
    readonly layerClass: string,
    detail?: string,
  ) {
    super(`${format} cannot express layer "${layerName}" (${layerClass})${detail ? `: ${detail}` : ''}`);
    this.name = 'UnsupportedLayerError';
  }
}
