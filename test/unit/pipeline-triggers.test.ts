import { describe, expect, it } from 'vitest';
import type { TriggerDefinition } from '../../src/lib/pipeline/definition';
import { dueTriggers, type TriggerInput } from '../../src/lib/pipeline/triggers';

const triggers: TriggerDefinition[] = [
  { kind: 'manual' },
  { kind: 'new-labels', count: 100, enabled: true },
  { kind: 'drift-alert', enabled: true },
];

function due(over: Partial<TriggerInput>) {
  return dueTriggers({ triggers, labeledNow: 500, labeledAtLastRun: 500, alerts: [], lastRunAt: 10_000, runningNow: false, ...over });
}

describe('dueTriggers', () => {
  it('fires new-labels at exactly the count, not one short', () => {
    expect(due({ labeledNow: 600 })).toEqual([
      { kind: 'new-labels', detail: '100 new labels since the last run (the trigger fires at 100).' },
    ]);
    expect(due({ labeledNow: 599 })).toEqual([]);
  });

  it('does not fire when labels were removed', () => {
    expect(due({ labeledNow: 300 })).toEqual([]);
  });

  it('fires drift-alert only for alerts newer than the last run', () => {
    expect(
      due({
        alerts: [
          { id: 'a1', at: 9_000 },
          { id: 'a2', at: 10_000 },
        ],
      }),
    ).toEqual([]);
    expect(
      due({
        alerts: [
          { id: 'a1', at: 9_000 },
          { id: 'a2', at: 10_001 },
        ],
      }),
    ).toEqual([{ kind: 'drift-alert', detail: '1 drift alert since the last run.' }]);
    expect(
      due({
        alerts: [
          { id: 'a1', at: 11_000 },
          { id: 'a2', at: 12_000 },
        ],
      })[0].detail,
    ).toBe('2 drift alerts since the last run.');
  });

  it('returns every reason when several fired, for one run', () => {
    expect(due({ labeledNow: 601, alerts: [{ id: 'a1', at: 20_000 }] }).map((t) => t.kind)).toEqual(['new-labels', 'drift-alert']);
  });

  it('never fires while a run is running', () => {
    expect(due({ labeledNow: 10_000, alerts: [{ id: 'a1', at: 20_000 }], runningNow: true })).toEqual([]);
  });

  it('never fires for a pipeline that never ran', () => {
    expect(due({ labeledNow: 10_000, labeledAtLastRun: null, alerts: [{ id: 'a1', at: 20_000 }], lastRunAt: null })).toEqual([]);
  });

  it('ignores disabled triggers', () => {
    const off: TriggerDefinition[] = [
      { kind: 'new-labels', count: 1, enabled: false },
      { kind: 'drift-alert', enabled: false },
    ];
    expect(due({ triggers: off, labeledNow: 10_000, alerts: [{ id: 'a1', at: 20_000 }] })).toEqual([]);
    expect(due({ triggers: [{ kind: 'manual' }], labeledNow: 10_000 })).toEqual([]);
  });
});
