// Learning-rate schedules: plain functions of the step t = 0, 1, 2, ... (the number of updates
// done). Feed the value to the jit-ed step as a scalar array (lrArray) so it never retraces.
export type Schedule = (step: number) => number;

function checkStep(t: number): void {
  if (!Number.isInteger(t) || t < 0) throw new Error(`a schedule's step must be an integer >= 0, got ${t}`);
}
function checkPositiveInt(what: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${what} must be a positive integer, got ${n}`);
}

/** lr(t) = lr */
export function constant(lr: number): Schedule {
  return (t) => (checkStep(t), lr);
}

/** lr(t) = lr · γ^⌊t / stepSize⌋   (torch StepLR) */
export function stepDecay(lr: number, { stepSize, gamma = 0.1 }: { stepSize: number; gamma?: number }): Schedule {
  checkPositiveInt("stepDecay stepSize", stepSize);
  return (t) => (checkStep(t), lr * Math.pow(gamma, Math.floor(t / stepSize)));
}

/**
 * lr(t) = minLr + (lr − minLr) · (1 + cos(π · min(t, T) / T)) / 2   (torch CosineAnnealingLR's
 * closed form with T_max = T, eta_min = minLr; held at minLr after T)
 */
export function cosineDecay(lr: number, { totalSteps, minLr = 0 }: { totalSteps: number; minLr?: number }): Schedule {
  checkPositiveInt("cosineDecay totalSteps", totalSteps);
  return (t) => {
    checkStep(t);
    return minLr + (lr - minLr) * (1 + Math.cos((Math.PI * Math.min(t, totalSteps)) / totalSteps)) / 2;
  };
}

/**
 * Linear warm-up in front of any schedule s:
 *   lr(t) = s(0) · (t + 1) / W   for t < W,      lr(t) = s(t − W)   for t ≥ W
 * (the first update already moves; s starts counting once the warm-up is over).
 */
export function linearWarmup(schedule: Schedule, warmupSteps: number): Schedule {
  checkPositiveInt("linearWarmup warmupSteps", warmupSteps);
  return (t) => {
    checkStep(t);
    return t < warmupSteps ? (schedule(0) * (t + 1)) / warmupSteps : schedule(t - warmupSteps);
  };
}
