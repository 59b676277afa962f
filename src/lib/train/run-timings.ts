// How long a version's training took and how fast it went, for its metadata (Models stage:
// "Training n epochs, s, img/s"). A run can start from a checkpoint whose epochs were trained
// elsewhere: a tuning trial's best checkpoint is registered by a run that trains no epoch at all.
// That earlier time is passed in, so the version shows the real duration rather than "0 s".

export interface RunTimingsInput {
  /** Milliseconds this run spent in its training loop. */
  loopMs: number;
  /** Epochs done when the loop ended (counting those of the checkpoint it started from). */
  epochsDone: number;
  /** Epoch of the checkpoint the run started from (0 for a fresh run). */
  startEpoch: number;
  /** Images in the train split. */
  trainImages: number;
  /** Time already spent training the checkpoint's epochs, when known (a tuning trial's duration). */
  priorMs?: number;
}

export interface RunTimings {
  trainMs: number;
  epochs: number;
  imagesPerSecond: number;
}

export function runTimings({ loopMs, epochsDone, startEpoch, trainImages, priorMs }: RunTimingsInput): RunTimings {
  const prior = priorMs !== undefined && Number.isFinite(priorMs) && priorMs > 0 ? priorMs : 0;
  // With the earlier time known, the rate covers every epoch; without it, only this run's epochs.
  const epochsTimed = prior > 0 ? epochsDone : epochsDone - startEpoch;
  const ms = loopMs + prior;
  const imagesPerSecond = ms > 0 && epochsTimed > 0 ? (epochsTimed * trainImages) / (ms / 1000) : 0;
  return { trainMs: ms, epochs: epochsDone, imagesPerSecond };
}
