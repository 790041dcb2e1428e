// Optimizers as pure functions over parameter trees (jit-able whole), gradient clipping and
// learning-rate schedules. update() consumes grads, state, params and lr; see optimizer.ts.
export { type Optimizer, lrArray } from "./optimizer.js";
export { sgd, type SgdOpts, type SgdState } from "./sgd.js";
export { adam, adamw, biasCorrection, type AdamOpts, type AdamState } from "./adam.js";
export { clipByGlobalNorm, globalNorm } from "./clip.js";
export { constant, stepDecay, cosineDecay, linearWarmup, type Schedule } from "./schedules.js";
export { lossAndGradient, applyUpdate, gradientStep, makeGradientStep, type Objective, type GradientStepResult } from "./step.js";
