import { describe, expect, it } from 'vitest';
import { formatNumber, formatSetting, settingName } from '../../src/views/models/format';

describe('version comparison formatting', () => {
  it('rounds numbers to 3 significant digits and keeps integers whole', () => {
    expect(formatNumber(0.41978933953214437)).toBe('0.42');
    expect(formatNumber(0.0012345)).toBe('0.00123');
    expect(formatNumber(64)).toBe('64');
    expect(formatNumber(12000)).toBe('12,000');
    expect(formatNumber(0.00002)).toBe('2e-5');
  });

  it('shows words without JSON quotes, and names the settings', () => {
    expect(formatSetting('architecture', 'cnn')).toBe('Small CNN');
    expect(formatSetting('optimizer', 'sgd')).toBe('SGD with momentum');
    expect(formatSetting('someNewKey', 'plain')).toBe('plain');
    expect(formatSetting('channels', 1)).toBe('Grayscale');
    expect(formatSetting('excludeAutoLabels', false)).toBe('no');
    expect(formatSetting('learningRate', undefined)).toBe('–');
    expect(formatSetting('hidden', [128, 64])).toBe('128, 64');
    expect(settingName('learningRate')).toBe('Learning rate');
    expect(settingName('unknownKey')).toBe('unknownKey');
  });
});
