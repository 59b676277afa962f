import { describe, expect, it } from 'vitest';
import { sniffImage } from '../../src/lib/import/sniff';

describe('PNG header checksum', () => {
  it('reports a damaged IHDR as a corrupt header, not as an absurd size', () => {
    const bytes = new Uint8Array(64);
    bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    bytes.set([0x67, 0x61, 0x72, 0x62, 0x61, 0x67, 0x65, 0x21, 8, 2, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef], 16);
    const r = sniffImage(bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe('corrupt-header');
      expect(r.reason).toMatch(/checksum/);
    }
  });
});
