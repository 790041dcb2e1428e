// Scheduled scalars of a run, each a pure function of the step (so a resumed run picks them up
// exactly): the KL weight (warm-up), the Gumbel-softmax temperature, and the learning-rate
// of the chosen schedule.
import type { RunConfig } from "./config.js";
import { constant, cosineDecay, linearWarmup, stepDecay, type Schedule } from "../optim/index.js";

/** KL warm-up: β(t) = β · min(1, t / T), T in steps (from steps or epochs); T = 0 gives β. */
export function klWeightAt(config: RunConfig, step: number, stepsPerEpoch: number): number {
  const warmup = config.klWarmupSteps > 0 ? config.klWarmupSteps : Math.round(config.klWarmupEpochs * stepsPerEpoch);
  return warmup > 0 ? config.beta * Math.min(1, step / warmup) : config.beta;
}

/** Gumbel-softmax annealing (Jang et al.): τ(t) = max(τ_min, τ_0 · exp(−r t)). */
export function temperatureAt(config: RunConfig, step: number): number {
  return Math.max(config.minTemperature, config.temperature * Math.exp(-config.temperatureDecay * step));
}

/** The run's learning-rate schedule (optim/schedules.ts), in optimizer steps. */
export function learningRateSchedule(config: RunConfig, stepsPerEpoch: number): Schedule {
  let s: Schedule = constant(config.lr);
  if (config.lrSchedule === "step") s = stepDecay(config.lr, { stepSize: config.lrStepEpochs * stepsPerEpoch, gamma: config.lrGamma });
  if (config.lrSchedule === "cosine") s = cosineDecay(config.lr, { totalSteps: Math.max(1, config.epochs * stepsPerEpoch) });
  return config.lrWarmupSteps > 0 ? linearWarmup(s, config.lrWarmupSteps) : s;
}
