// Types only: what the label-quality check reports (src/lib/label).

export interface LabelIssue {
  index: number;
  given: number;
  suggested: number;
  /** p[given] */
  selfConfidence: number;
  suggestedConfidence: number;
  /** higher = more likely wrong */
  score: number;
}

export interface DuplicatePair {
  a: number;
  b: number;
  similarity: number;
}
