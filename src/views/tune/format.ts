// Display helpers shared by the Tune stage's components.

/** An objective value as people read it: accuracy in percent, loss with four decimals. */
export function formatObjective(metric: 'valAcc' | 'valLoss', value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '–';
  return metric === 'valLoss' ? value.toFixed(4) : `${(value * 100).toFixed(1)}%`;
}

export const objectiveName = (metric: 'valAcc' | 'valLoss') => (metric === 'valLoss' ? 'validation loss' : 'validation accuracy');
