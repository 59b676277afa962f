import { describe, expect, it } from 'vitest';
import { normaliseLabel, planLabelMerges } from '../../src/lib/import/labels';

describe('normaliseLabel', () => {
  it('trims and collapses whitespace runs', () => {
    expect(normaliseLabel('  Golden   Retriever ')).toBe('Golden Retriever');
    expect(normaliseLabel('cat\tdog\r\nbird')).toBe('cat dog bird');
    expect(normaliseLabel('a\u00a0\u3000b')).toBe('a b');
  });

  it('strips control and invisible characters', () => {
    expect(normaliseLabel('ca\u0000t\u0007')).toBe('cat');
    expect(normaliseLabel('\ufeffcat\u200b')).toBe('cat');
    expect(normaliseLabel('del\u007f')).toBe('del');
  });

  it('returns null when nothing is left', () => {
    expect(normaliseLabel('')).toBeNull();
    expect(normaliseLabel(' \t\n ')).toBeNull();
    expect(normaliseLabel('\u0001\u0002')).toBeNull();
  });

  it('normalises to NFC', () => {
    expect(normaliseLabel('Cafe\u0301')).toBe('Caf\u00e9');
  });

  it('does not escape markup: the UI renders labels as text', () => {
    expect(normaliseLabel('<b>cat</b> & "dog"')).toBe('<b>cat</b> & "dog"');
  });

  it('keeps case and emoji sequences', () => {
    expect(normaliseLabel('CAT')).toBe('CAT');
    expect(normaliseLabel('\u{1F469}\u200d\u{1F4BB}')).toBe('\u{1F469}\u200d\u{1F4BB}');
  });
});

describe('planLabelMerges', () => {
  it('merges case variants into the most frequent spelling', () => {
    const { canonical, merges } = planLabelMerges(['Cat', 'cat', 'cat', 'CAT', 'dog', 'cat']);
    expect(merges).toEqual([{ into: 'cat', from: ['Cat', 'CAT'] }]);
    expect(canonical.get('Cat')).toBe('cat');
    expect(canonical.get('CAT')).toBe('cat');
    expect(canonical.get('cat')).toBe('cat');
    expect(canonical.get('dog')).toBe('dog');
  });

  it('breaks ties by first appearance', () => {
    expect(planLabelMerges(['Dog', 'dog', 'dog', 'Dog']).merges).toEqual([{ into: 'Dog', from: ['dog'] }]);
    expect(planLabelMerges(['dog', 'Dog']).merges).toEqual([{ into: 'dog', from: ['Dog'] }]);
  });

  it('counts spellings after normalisation, so whitespace variants are one spelling', () => {
    const { canonical, merges } = planLabelMerges([' Cat', 'Cat ', 'cat', 'CAT']);
    expect(merges).toEqual([{ into: 'Cat', from: ['cat', 'CAT'] }]);
    expect([...canonical.keys()]).toEqual(['Cat', 'cat', 'CAT']);
  });

  it('merges NFD and NFC spellings without listing them as a merge', () => {
    const { canonical, merges } = planLabelMerges(['Cafe\u0301', 'Caf\u00e9']);
    expect(merges).toEqual([]);
    expect(canonical.get('Caf\u00e9')).toBe('Caf\u00e9');
  });

  it('skips labels that normalise to nothing and lists groups in first-seen order', () => {
    const { canonical, merges } = planLabelMerges(['', '  ', 'b', 'a', 'A', 'B', 'B']);
    expect(canonical.size).toBe(4);
    expect(merges).toEqual([
      { into: 'B', from: ['b'] },
      { into: 'a', from: ['A'] },
    ]);
  });

  it('accepts any iterable and is empty for no input', () => {
    function* gen() {
      yield 'x';
      yield 'X';
      yield 'X';
    }
    expect(planLabelMerges(gen()).merges).toEqual([{ into: 'X', from: ['x'] }]);
    const empty = planLabelMerges(new Set<string>());
    expect(empty.canonical.size).toBe(0);
    expect(empty.merges).toEqual([]);
  });
});
