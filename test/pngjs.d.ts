// pngjs ships no types; tests and fixture scripts use only this much of it.
declare module 'pngjs' {
  export class PNG {
    constructor(options: { width: number; height: number; colorType?: number; inputColorType?: number; bitDepth?: number });
    data: Buffer;
    width: number;
    height: number;
    static sync: { write(png: PNG, options?: { colorType?: number }): Buffer; read(buffer: Buffer): PNG };
  }
  const pngjs: { PNG: typeof PNG };
  export default pngjs;
}
