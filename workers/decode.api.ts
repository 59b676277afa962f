// The decode worker's API: one image's bytes in, validated metadata, hash and thumbnail out.
export interface DecodeRequest {
  path: string;
  mime: string;
  data: ArrayBuffer;
}

export type DecodeResult =
  | {
      ok: true;
      /** SHA-256 of the bytes, lowercase hex. */
      id: string;
      width: number;
      height: number;
      data: ArrayBuffer;
      thumbnail: ArrayBuffer;
      thumbnailMime: string;
    }
  | { ok: false; reason: string };

export interface DecodeApi {
  decode(request: DecodeRequest): Promise<DecodeResult>;
}

/** Longest side of a stored thumbnail, in pixels. */
export const THUMBNAIL_SIZE = 96;
