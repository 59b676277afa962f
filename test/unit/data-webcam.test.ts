import { describe, expect, it } from 'vitest';
import { cameraErrorMessage, frameCrop } from '../../src/lib/data/webcam';

describe('webcam capture helpers', () => {
  it('keeps the centred square of a frame, scaled down to at most 224 px', () => {
    expect(frameCrop(640, 480)).toEqual({ x: 80, y: 0, side: 480, out: 224 });
    expect(frameCrop(480, 640)).toEqual({ x: 0, y: 80, side: 480, out: 224 });
    expect(frameCrop(160, 120)).toEqual({ x: 20, y: 0, side: 120, out: 120 });
    expect(() => frameCrop(0, 480)).toThrow(/positive size/);
  });

  it('says clearly why the camera cannot be used', () => {
    expect(cameraErrorMessage(new DOMException('Permission denied', 'NotAllowedError'))).toMatch(/^Camera access was refused/);
    expect(cameraErrorMessage(new DOMException('Requested device not found', 'NotFoundError'))).toMatch(/^No camera was found/);
    expect(cameraErrorMessage(new DOMException('busy', 'NotReadableError'))).toMatch(/in use by another application/);
    expect(cameraErrorMessage(new DOMException('x', 'NotSupportedError'))).toMatch(/secure https/);
    expect(cameraErrorMessage(new Error('odd'))).toBe('The camera could not be started: odd');
  });
});
