// Number and time formatting shared by the Monitor stage's components.
export const dash = '–';

export function fixed(x: number | null | undefined, digits = 3): string {
  return typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : dash;
}

export function pValue(x: number | null | undefined): string {
  if (typeof x !== 'number' || !Number.isFinite(x)) return dash;
  return x < 0.001 ? '< 0.001' : x.toFixed(3);
}

export function pct(x: number | null | undefined, digits = 1): string {
  return typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(digits)}%` : dash;
}

export function ms(x: number | null | undefined): string {
  return typeof x === 'number' && Number.isFinite(x) ? `${x.toFixed(1)} ms` : dash;
}

/** A bucket start as people read it: time for minutes, date and hour for hours, date for days. */
export function bucketLabel(start: number, unit: 'minute' | 'hour' | 'day'): string {
  const d = new Date(start);
  if (unit === 'day') return d.toLocaleDateString();
  if (unit === 'hour') return `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}`;
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
