// The learning rate of a run, a pure function of the step (so a resumed run picks it up exactly).
// The scalars a model's loss reads (KL weight, temperature) are scheduled in models/scheduled.ts.
import type { RunConfig } from "./config.js";
import { constant, cosineDecay, linearWarmup, stepDecay, type Schedule } from "../optim/index.js";

/** The run's learning-rate schedule (optim/schedules.ts), in optimizer steps. */
export function learningRateSchedule(config: RunConfig, stepsPerEpoch: number): Schedule {
  let s: Schedule = constant(config.lr);
  if (config.lrSchedule === "step") s = stepDecay(config.lr, { stepSize: config.lrStepEpochs * stepsPerEpoch, gamma: config.lrGamma });
  if (config.lrSchedule === "cosine") s = cosineDecay(config.lr, { totalSteps: Math.max(1, config.epochs * stepsPerEpoch) });
  return config.lrWarmupSteps > 0 ? linearWarmup(s, config.lrWarmupSteps) : s;
}
