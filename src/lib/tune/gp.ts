// A small Gaussian-process regressor for Bayesian optimisation: Matern 5/2 kernel with one
// lengthscale per input dimension (ARD), standardised outputs, hyperparameters chosen by
// maximising the log marginal likelihood (plus Gamma priors) with restarted L-BFGS.
// Inputs are expected in roughly [0, 1] per dimension; sizes are tuning-study sized (n <= a few
// hundred), so plain O(n^3) Cholesky on Float64Arrays is fast enough.

export interface GpHyper {
  lengthscales: number[];
  signalVariance: number;
  noiseVariance: number;
}

export interface GpModel {
  hyper: GpHyper;
  X: Float64Array[];
  /** Outputs were standardised as (y - yMean) / yStd before fitting; predictions are in those units. */
  yMean: number;
  yStd: number;
  /** Lower Cholesky factor of K + noise*I, row-major n×n. */
  L: Float64Array;
  /** (K + noise*I)^-1 (standardised y). */
  alpha: Float64Array;
}

// Box bounds on the log hyperparameters. Lengthscales are in unit-cube units: below 0.01 the
// model interpolates noise, above 20 the dimension is effectively ignored.
const LOG_LENGTHSCALE = [Math.log(0.01), Math.log(20)] as const;
const LOG_SIGNAL = [Math.log(0.05), Math.log(20)] as const;
// The noise floor keeps K well conditioned (duplicate points included) on standardised data.
const LOG_NOISE = [Math.log(1e-6), Math.log(1)] as const;
// Gamma priors as in BoTorch's classic single-task GP: lengthscales Gamma(3, 6) (mean 0.5 in
// unit-cube units, rarely above 1.5) and signal variance Gamma(2, 0.15) on standardised outputs.
// They keep the fit in a plausible range when a few dozen points cannot pin the lengthscales
// down (the bare likelihood then readily declares whole dimensions irrelevant).
const LENGTHSCALE_PRIOR = { shape: 3, rate: 6 };
const SIGNAL_PRIOR = { shape: 2, rate: 0.15 };
const SQRT5 = Math.sqrt(5);
const LOG_2PI = Math.log(2 * Math.PI);

export function matern52(r: number, signalVariance: number): number {
  const s = SQRT5 * r;
  return signalVariance * (1 + s + (s * s) / 3) * Math.exp(-s);
}

/** Lower Cholesky factor of a symmetric n×n row-major matrix, or null if not positive definite. */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    let diag = a[rowJ + j];
    for (let k = 0; k < j; k++) diag -= l[rowJ + k] * l[rowJ + k];
    if (!(diag > 0)) return null;
    const ljj = Math.sqrt(diag);
    l[rowJ + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      let t = a[rowI + j];
      for (let k = 0; k < j; k++) t -= l[rowI + k] * l[rowJ + k];
      l[rowI + j] = t / ljj;
    }
  }
  return l;
}

/** Solves L z = b for lower-triangular L. */
export function solveLower(l: Float64Array, n: number, b: ArrayLike<number>): Float64Array {
  const z = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let t = b[i];
    for (let k = 0; k < i; k++) t -= l[row + k] * z[k];
    z[i] = t / l[row + i];
  }
  return z;
}

/** Solves L^T x = z for lower-triangular L. */
export function solveUpperT(l: Float64Array, n: number, z: ArrayLike<number>): Float64Array {
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let t = z[i];
    for (let k = i + 1; k < n; k++) t -= l[k * n + i] * x[k];
    x[i] = t / l[i * n + i];
  }
  return x;
}

/** Squared per-dimension differences for every pair i < j, so refitting only rescales them. */
export function pairwiseSquaredDiffs(X: Float64Array[]): Float64Array {
  const n = X.length;
  const d = n > 0 ? X[0].length : 0;
  const out = new Float64Array(((n * (n - 1)) / 2) * d);
  let p = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      for (let k = 0; k < d; k++) {
        const diff = X[i][k] - X[j][k];
        out[p++] = diff * diff;
      }
    }
  }
  return out;
}

function covariance(diffs: Float64Array, n: number, d: number, hyper: GpHyper): Float64Array {
  const k = new Float64Array(n * n);
  const inv = hyper.lengthscales.map((l) => 1 / (l * l));
  // A tiny jitter on top of the noise, relative to the signal, against round-off.
  const diag = hyper.signalVariance * (1 + 1e-10) + hyper.noiseVariance;
  let p = 0;
  for (let i = 0; i < n; i++) {
    k[i * n + i] = diag;
    for (let j = i + 1; j < n; j++) {
      let r2 = 0;
      for (let q = 0; q < d; q++) r2 += diffs[p++] * inv[q];
      const v = matern52(Math.sqrt(r2), hyper.signalVariance);
      k[i * n + j] = v;
      k[j * n + i] = v;
    }
  }
  return k;
}

export function standardise(y: number[]): { z: Float64Array; mean: number; std: number } {
  const n = y.length;
  const mean = n > 0 ? y.reduce((s, v) => s + v, 0) / n : 0;
  const variance = n > 1 ? y.reduce((s, v) => s + (v - mean) ** 2, 0) / n : 0;
  // All-equal outputs carry no scale; 1 keeps predictions finite instead of dividing by zero.
  const std = variance > 1e-24 ? Math.sqrt(variance) : 1;
  return { z: Float64Array.from(y, (v) => (v - mean) / std), mean, std };
}

function clampTo(v: number, [lo, hi]: readonly [number, number]): number {
  return Math.min(hi, Math.max(lo, v));
}

/** theta = [log lengthscale × d, log signal variance, log noise variance], clamped to the box. */
function thetaToHyper(theta: ArrayLike<number>, d: number): GpHyper {
  const lengthscales: number[] = [];
  for (let i = 0; i < d; i++) lengthscales.push(Math.exp(clampTo(theta[i], LOG_LENGTHSCALE)));
  return {
    lengthscales,
    signalVariance: Math.exp(clampTo(theta[d], LOG_SIGNAL)),
    noiseVariance: Math.exp(clampTo(theta[d + 1], LOG_NOISE)),
  };
}

function boundsOf(i: number, d: number): readonly [number, number] {
  return i < d ? LOG_LENGTHSCALE : i === d ? LOG_SIGNAL : LOG_NOISE;
}

/** Log marginal likelihood of standardised outputs `z` under `hyper`; -Infinity if K is singular. */
function logMarginalLikelihoodFromDiffs(diffs: Float64Array, n: number, d: number, z: Float64Array, hyper: GpHyper): number {
  const l = cholesky(covariance(diffs, n, d, hyper), n);
  if (!l) return -Infinity;
  const alpha = solveUpperT(l, n, solveLower(l, n, z));
  let fit = 0;
  let logDet = 0;
  for (let i = 0; i < n; i++) {
    fit += z[i] * alpha[i];
    logDet += Math.log(l[i * n + i]);
  }
  return -0.5 * fit - logDet - 0.5 * n * LOG_2PI;
}

export function logMarginalLikelihood(X: Float64Array[], y: number[], hyper: GpHyper): number {
  const d = X.length > 0 ? X[0].length : 0;
  return logMarginalLikelihoodFromDiffs(pairwiseSquaredDiffs(X), X.length, d, standardise(y).z, hyper);
}

/** (L L^T)^-1 from the lower Cholesky factor, row-major. */
function inverseFromCholesky(l: Float64Array, n: number): Float64Array {
  // Row c of u is column c of L^-1 (zero before c); then K^-1[a][b] = Σ_k u[a][k] u[b][k].
  // Both loops run along rows, which matters more than the flop count at these sizes.
  const u = new Float64Array(n * n);
  for (let c = 0; c < n; c++) {
    const row = c * n;
    u[row + c] = 1 / l[c * n + c];
    for (let i = c + 1; i < n; i++) {
      const li = i * n;
      let t = 0;
      for (let k = c; k < i; k++) t -= l[li + k] * u[row + k];
      u[row + i] = t / l[li + i];
    }
  }
  const inv = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = a; b < n; b++) {
      let t = 0;
      // u[a][k] is zero for k < a and u[b][k] for k < b, so the sum starts at b (>= a).
      for (let k = b; k < n; k++) t += u[a * n + k] * u[b * n + k];
      inv[a * n + b] = t;
      inv[b * n + a] = t;
    }
  }
  return inv;
}

/**
 * Negative log posterior of theta (marginal likelihood + priors) and its gradient, plus a
 * quadratic charge for leaving the box so the optimiser walks back in.
 * dLML/dθ = ½ tr((αα^T − K^-1) ∂K/∂θ); for Matern 5/2, ∂k/∂log l_j = (5/3) s² (1 + √5 r) e^(−√5 r) Δ_j² / l_j².
 */
export function negLogPosterior(
  diffs: Float64Array,
  n: number,
  d: number,
  z: Float64Array,
  theta: Float64Array,
): { value: number; grad: Float64Array } {
  const hyper = thetaToHyper(theta, d);
  const grad = new Float64Array(d + 2);
  let value = 0;
  for (let i = 0; i < d + 2; i++) {
    const [lo, hi] = boundsOf(i, d);
    if (theta[i] < lo) {
      value += 100 * (lo - theta[i]) ** 2;
      grad[i] -= 200 * (lo - theta[i]);
    } else if (theta[i] > hi) {
      value += 100 * (theta[i] - hi) ** 2;
      grad[i] += 200 * (theta[i] - hi);
    }
  }
  const { lengthscales, signalVariance: s2, noiseVariance } = hyper;
  const l = cholesky(covariance(diffs, n, d, hyper), n);
  if (!l) return { value: Infinity, grad };
  const alpha = solveUpperT(l, n, solveLower(l, n, z));
  let lml = -0.5 * n * LOG_2PI;
  for (let i = 0; i < n; i++) lml += -0.5 * z[i] * alpha[i] - Math.log(l[i * n + i]);
  const kInv = inverseFromCholesky(l, n);
  const inv = Float64Array.from(lengthscales, (v) => 1 / (v * v));
  // Accumulated in locals and a separate array: the hot loop runs n²/2 times.
  const gLength = new Float64Array(d);
  let gSignal = 0;
  let gNoise = 0;
  let p = 0;
  for (let a = 0; a < n; a++) {
    const wDiag = alpha[a] * alpha[a] - kInv[a * n + a];
    gSignal += 0.5 * wDiag * s2;
    gNoise += 0.5 * wDiag * noiseVariance;
    const rowA = a * n;
    for (let b = a + 1; b < n; b++) {
      const w = alpha[a] * alpha[b] - kInv[rowA + b];
      let r2 = 0;
      for (let q = 0; q < d; q++) r2 += diffs[p + q] * inv[q];
      const s = SQRT5 * Math.sqrt(r2);
      const e = Math.exp(-s);
      // Pairs appear twice in the trace; the ½ cancels.
      gSignal += w * s2 * (1 + s + (s * s) / 3) * e;
      const common = w * (5 / 3) * s2 * (1 + s) * e;
      for (let q = 0; q < d; q++) gLength[q] += common * diffs[p + q] * inv[q];
      p += d;
    }
  }
  const gLml = new Float64Array(d + 2);
  gLml.set(gLength);
  gLml[d] = gSignal;
  gLml[d + 1] = gNoise;
  // Gamma(shape, rate) priors on e^θ, as densities over θ: shape·θ − rate·e^θ.
  let logPrior = 0;
  for (let q = 0; q < d; q++) {
    logPrior += LENGTHSCALE_PRIOR.shape * Math.log(lengthscales[q]) - LENGTHSCALE_PRIOR.rate * lengthscales[q];
    gLml[q] += LENGTHSCALE_PRIOR.shape - LENGTHSCALE_PRIOR.rate * lengthscales[q];
  }
  logPrior += SIGNAL_PRIOR.shape * Math.log(s2) - SIGNAL_PRIOR.rate * s2;
  gLml[d] += SIGNAL_PRIOR.shape - SIGNAL_PRIOR.rate * s2;
  value -= lml + logPrior;
  for (let i = 0; i < d + 2; i++) {
    // Clamped coordinates do not move the likelihood; only the box charge acts on them.
    const [lo, hi] = boundsOf(i, d);
    if (theta[i] >= lo && theta[i] <= hi) grad[i] -= gLml[i];
  }
  return { value, grad };
}

/**
 * Minimises a smooth function with limited-memory BFGS and a backtracking (Armijo) line search.
 * Returns the best point seen.
 */
export function lbfgs(
  f: (x: Float64Array) => { value: number; grad: Float64Array },
  start: ArrayLike<number>,
  maxIterations: number,
  memory = 6,
): { x: Float64Array; value: number } {
  const dim = start.length;
  let x = Float64Array.from(start);
  let { value, grad } = f(x);
  if (!Number.isFinite(value)) return { x, value };
  const ss: Float64Array[] = [];
  const ys: Float64Array[] = [];
  const dot = (a: Float64Array, b: Float64Array) => {
    let t = 0;
    for (let i = 0; i < dim; i++) t += a[i] * b[i];
    return t;
  };
  for (let iter = 0; iter < maxIterations; iter++) {
    let gMax = 0;
    for (let i = 0; i < dim; i++) gMax = Math.max(gMax, Math.abs(grad[i]));
    if (gMax < 1e-5) break;
    // Two-loop recursion: direction = −H·grad.
    const q = Float64Array.from(grad);
    const alphas: number[] = [];
    for (let k = ss.length - 1; k >= 0; k--) {
      const a = dot(ss[k], q) / dot(ys[k], ss[k]);
      alphas[k] = a;
      for (let i = 0; i < dim; i++) q[i] -= a * ys[k][i];
    }
    const gamma =
      ss.length > 0 ? dot(ss[ss.length - 1], ys[ys.length - 1]) / dot(ys[ys.length - 1], ys[ys.length - 1]) : 1 / Math.max(1, gMax);
    for (let i = 0; i < dim; i++) q[i] *= gamma;
    for (let k = 0; k < ss.length; k++) {
      const b = dot(ys[k], q) / dot(ys[k], ss[k]);
      for (let i = 0; i < dim; i++) q[i] += ss[k][i] * (alphas[k] - b);
    }
    const direction = q.map((v) => -v);
    let slope = dot(direction, grad);
    if (!(slope < 0)) {
      // Not a descent direction (curvature information went stale): restart from steepest descent.
      ss.length = 0;
      ys.length = 0;
      for (let i = 0; i < dim; i++) direction[i] = -grad[i] / Math.max(1, gMax);
      slope = dot(direction, grad);
    }
    let step = 1;
    let next: { value: number; grad: Float64Array } | null = null;
    let xNext = x;
    for (let tries = 0; tries < 30; tries++, step *= 0.5) {
      xNext = x.map((v, i) => v + step * direction[i]);
      const candidate = f(xNext);
      if (Number.isFinite(candidate.value) && candidate.value <= value + 1e-4 * step * slope) {
        next = candidate;
        break;
      }
    }
    if (!next) break;
    const s = xNext.map((v, i) => v - x[i]);
    const y = next.grad.map((v, i) => v - grad[i]);
    if (dot(s, y) > 1e-10) {
      ss.push(s);
      ys.push(y);
      if (ss.length > memory) {
        ss.shift();
        ys.shift();
      }
    }
    const improvement = value - next.value;
    x = xNext;
    value = next.value;
    grad = next.grad;
    if (improvement < 1e-9 * (1 + Math.abs(value))) break;
  }
  return { x, value };
}

export interface FitOptions {
  /** Random restarts in addition to the default starting point. Default 2. */
  restarts?: number;
  /** L-BFGS iterations per start. Default 50. */
  iterations?: number;
}

/**
 * Maximum a posteriori hyperparameters (log marginal likelihood plus the Gamma priors), by
 * L-BFGS on the log-parameters from a sensible default and from `restarts` random starts.
 */
export function fitHyperparameters(X: Float64Array[], y: number[], rand: () => number, opts: FitOptions = {}): GpHyper {
  const n = X.length;
  const d = n > 0 ? X[0].length : 0;
  const diffs = pairwiseSquaredDiffs(X);
  const { z } = standardise(y);
  const objective = (theta: Float64Array) => negLogPosterior(diffs, n, d, z, theta);
  const starts: number[][] = [[...Array<number>(d).fill(Math.log(0.5)), 0, Math.log(1e-3)]];
  const uniform = ([lo, hi]: readonly [number, number]) => lo + rand() * (hi - lo);
  for (let r = 0; r < (opts.restarts ?? 2); r++) {
    starts.push([
      ...Array.from({ length: d }, () => uniform([Math.log(0.05), Math.log(2)])),
      uniform([Math.log(0.3), Math.log(3)]),
      uniform([Math.log(1e-5), Math.log(0.1)]),
    ]);
  }
  let best: { x: Float64Array; value: number } | null = null;
  for (const start of starts) {
    const result = lbfgs(objective, start, opts.iterations ?? 50);
    if (!best || result.value < best.value) best = result;
  }
  return thetaToHyper(best!.x, d);
}

/** Conditions the GP on (X, y) with fixed hyperparameters. */
export function conditionGp(X: Float64Array[], y: number[], hyper: GpHyper): GpModel {
  const n = X.length;
  const d = n > 0 ? X[0].length : 0;
  const { z, mean, std } = standardise(y);
  const k = covariance(pairwiseSquaredDiffs(X), n, d, hyper);
  let l = cholesky(k, n);
  // Should not happen with the noise floor, but a failed factorisation must not end a study.
  for (let jitter = 1e-8; !l && jitter < 1; jitter *= 10) {
    for (let i = 0; i < n; i++) k[i * n + i] += jitter;
    l = cholesky(k, n);
  }
  if (!l) throw new Error('GP covariance is not positive definite');
  const alpha = solveUpperT(l, n, solveLower(l, n, z));
  return { hyper, X, yMean: mean, yStd: std, L: l, alpha };
}

/** Fits hyperparameters, then conditions on the data. */
export function fitGp(X: Float64Array[], y: number[], rand: () => number, opts?: FitOptions): GpModel {
  return conditionGp(X, y, fitHyperparameters(X, y, rand, opts));
}

/**
 * A posterior evaluator for one model that reuses its buffers: acquisition maximisation calls
 * it thousands of times per suggestion, so allocation and call overhead matter.
 * Results are in standardised units, noise excluded.
 */
export function makePredictor(model: GpModel): (x: ArrayLike<number>) => { mean: number; sd: number } {
  const n = model.X.length;
  const d = model.hyper.lengthscales.length;
  const { signalVariance, lengthscales } = model.hyper;
  const inv = Float64Array.from(lengthscales, (l) => 1 / l);
  const { L, alpha, X } = model;
  const v = new Float64Array(n);
  return (x) => {
    let mean = 0;
    for (let i = 0; i < n; i++) {
      const xi = X[i];
      let r2 = 0;
      for (let q = 0; q < d; q++) {
        const diff = (x[q] - xi[q]) * inv[q];
        r2 += diff * diff;
      }
      const s = SQRT5 * Math.sqrt(r2);
      const k = signalVariance * (1 + s + (s * s) / 3) * Math.exp(-s);
      mean += k * alpha[i];
      // Forward substitution L v = k*, fused into the same pass (row i needs v[0..i-1] only).
      const row = i * n;
      let t = k;
      for (let j = 0; j < i; j++) t -= L[row + j] * v[j];
      v[i] = t / L[row + i];
    }
    let explained = 0;
    for (let i = 0; i < n; i++) explained += v[i] * v[i];
    return { mean, sd: Math.sqrt(Math.max(1e-12, signalVariance - explained)) };
  };
}

/** Posterior of the latent function at x, in standardised units (noise excluded). */
export function predict(model: GpModel, x: ArrayLike<number>): { mean: number; sd: number } {
  return makePredictor(model)(x);
}

/** Standard normal density. */
export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z) / Math.sqrt(2 * Math.PI);
}

/** Standard normal CDF via the complementary error function (relative error < 1.2e-7). */
export function normalCdf(z: number): number {
  const x = -z / Math.SQRT2;
  // Numerical Recipes' erfc Chebyshev fit.
  const ax = Math.abs(x);
  const t = 1 / (1 + 0.5 * ax);
  const erfcAbs =
    t *
    Math.exp(
      -ax * ax -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  const erfc = x >= 0 ? erfcAbs : 2 - erfcAbs;
  return 0.5 * erfc;
}

/** Expected improvement below `best` (minimisation) of a normal with this mean and sd. */
export function expectedImprovement(mean: number, sd: number, best: number): number {
  if (!(sd > 0)) return Math.max(0, best - mean);
  const z = (best - mean) / sd;
  return sd * (z * normalCdf(z) + normalPdf(z));
}

/**
 * log EI, accurate where EI itself underflows to 0 (far from the incumbent), so candidates can
 * still be ranked when every one of them has a vanishing improvement.
 */
export function logExpectedImprovement(mean: number, sd: number, best: number): number {
  const s = Math.max(sd, 1e-300);
  const z = (best - mean) / s;
  if (z > -6) return Math.log(s) + Math.log(Math.max(1e-300, z * normalCdf(z) + normalPdf(z)));
  // Mills-ratio asymptotics: z Φ(z) + φ(z) ≈ φ(z) / z² (1 - 3/z² + 15/z⁴) as z → -∞.
  const w = 1 / (z * z);
  return Math.log(s) - 0.5 * z * z - 0.5 * LOG_2PI + Math.log(w) + Math.log1p(-3 * w + 15 * w * w);
}
