// The champion/challenger gate: a candidate replaces the production model only if it is at least
// `minImprovement` more accurate and no class loses more than `maxClassDrop` of recall. Both
// limits are inclusive, with a tolerance so 0.3 - 0.1 = 0.19999999999999998 still counts as 0.2.
import type { GateDecision } from '../../contracts/pipeline';
export type { GateDecision };

export interface GateInput {
  candidate: { accuracy: number; perClass: Record<string, number> };
  champion: { versionId: string; accuracy: number; perClass: Record<string, number> } | null;
  minImprovement: number;
  maxClassDrop: number;
}

export const GATE_TOLERANCE = 1e-9;

const percent = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;
const points = (fraction: number) => `${(Math.abs(fraction) * 100).toFixed(1)} points`;
const signedPoints = (fraction: number) => `${fraction < 0 ? '-' : '+'}${points(fraction)}`;

/** Missing or unusable recall counts as 0: a NaN must not slip past the drop check. */
function recall(perClass: Record<string, number>, name: string): number {
  const value = Object.prototype.hasOwnProperty.call(perClass, name) ? perClass[name] : 0;
  return Number.isFinite(value) ? value : 0;
}

export function gateDecision(input: GateInput): GateDecision {
  const { candidate, champion, minImprovement, maxClassDrop } = input;
  if (!Number.isFinite(candidate.accuracy))
    return { pass: false, reasons: ['The candidate has no valid accuracy.'], improvement: null, worstClass: null };
  if (!champion) return { pass: true, reasons: ['No model is in production yet.'], improvement: null, worstClass: null };

  const improvement = candidate.accuracy - champion.accuracy;
  const accuracyOk = improvement >= minImprovement - GATE_TOLERANCE;
  const accuracyReason = `Accuracy ${percent(candidate.accuracy)} against ${percent(champion.accuracy)} in production: ${signedPoints(improvement)} (${accuracyOk ? 'at least' : 'below the'} ${signedPoints(minImprovement)} required).`;

  // A class the champion never saw counts as recall 0 there, so it cannot drop; one the candidate
  // lacks counts as 0 for the candidate, so losing it is the largest possible drop.
  const names = [...new Set([...Object.keys(candidate.perClass), ...Object.keys(champion.perClass)])].sort();
  let worstClass: GateDecision['worstClass'] = null;
  for (const name of names) {
    const drop = recall(champion.perClass, name) - recall(candidate.perClass, name);
    if (drop > GATE_TOLERANCE && (!worstClass || drop > worstClass.drop)) worstClass = { name, drop };
  }
  const classesOk = !worstClass || worstClass.drop <= maxClassDrop + GATE_TOLERANCE;
  const classReason = !worstClass
    ? 'No class lost recall.'
    : `Recall for "${worstClass.name}" fell by ${points(worstClass.drop)} (${percent(recall(champion.perClass, worstClass.name))} to ${percent(recall(candidate.perClass, worstClass.name))}); ${classesOk ? 'within' : 'more than'} the ${points(maxClassDrop)} allowed.`;

  return { pass: accuracyOk && classesOk, reasons: [accuracyReason, classReason], improvement, worstClass };
}
