// Types only: tuning studies (search space, strategy, objective, budget, pruner). The logic is in
// src/lib/tune.

export type ParamValue = number | string | boolean;
export type Params = Record<string, ParamValue>;
/** The param is active only when the (earlier) param `param` has one of the values in `in`. */
export interface Condition {
  param: string;
  in: ParamValue[];
}
export type ParamSpec =
  | { name: string; type: 'float'; low: number; high: number; log?: boolean; condition?: Condition }
  | { name: string; type: 'int'; low: number; high: number; step?: number; log?: boolean; condition?: Condition }
  | { name: string; type: 'choice'; values: ParamValue[]; condition?: Condition };
export type SearchSpace = ParamSpec[];

export type PrunerConfig =
  | { kind: 'none' }
  | { kind: 'median'; warmupEpochs: number; minTrials: number }
  | { kind: 'asha'; minEpochs: number; reductionFactor: number };

export type Strategy = 'grid' | 'random' | 'bayes';
/** valAcc is maximised, valLoss minimised. */
export type Objective = { metric: 'valAcc' | 'valLoss' };
export type TrialState = 'running' | 'complete' | 'pruned' | 'failed' | 'interrupted';

export interface StudyPlan {
  space: SearchSpace;
  strategy: Strategy;
  objective: Objective;
  maxTrials: number;
  maxMinutes: number | null;
  seed: number;
  pruner: PrunerConfig;
  gridFloatSteps?: number;
}
