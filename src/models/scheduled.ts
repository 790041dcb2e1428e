// Scheduled scalars: the values a model's loss reads that change with the training step (the KL
// warm-up's β_t, the Gumbel-softmax τ_t). Each is a pure function of the options and the step, so
// a resumed run picks it up exactly. The trainer passes them into the jitted step as arrays (a new
// value never retraces), and a model reads them from its StepContext, borrowed: `ctx.klWeight.ref`.
//
// Adding one is an entry here and the model that reads it; the steps, the workers and the trainer
// carry every entry of this table without naming any.
import type { OptionsOf, KL_WEIGHT_OPTIONS } from "./options.js";

/** The options the schedules read (a run's configuration holds every family's, with defaults). */
type ScheduleOptions = OptionsOf<typeof KL_WEIGHT_OPTIONS> & { temperature: number; minTemperature: number; temperatureDecay: number };

/** What a scheduled scalar's value depends on: the options, the optimizer step (0-based) and the epoch's length. */
type At = (options: ScheduleOptions, step: number, stepsPerEpoch: number) => number;

type ScheduleEntry = {
  /** The value at a training step. */
  at: At;
  /** The value validation uses, when not `at`'s (the KL weight: the target β, not the warm-up's). */
  validation?: At;
};

export const SCHEDULED = {
  /** KL warm-up: β(t) = β · min(1, t / T), T in steps (from steps or epochs); T = 0 gives β. */
  klWeight: {
    at: (o, step, stepsPerEpoch) => {
      const warmup = o.klWarmupSteps > 0 ? o.klWarmupSteps : Math.round(o.klWarmupEpochs * stepsPerEpoch);
      return warmup > 0 ? o.beta * Math.min(1, step / warmup) : o.beta;
    },
    validation: (o) => o.beta,
  },
  /** Gumbel-softmax annealing (Jang et al. 2017): τ(t) = max(τ_min, τ_0 · exp(−r t)). */
  temperature: {
    at: (o, step) => Math.max(o.minTemperature, o.temperature * Math.exp(-o.temperatureDecay * step)),
  },
} satisfies Record<string, ScheduleEntry>;

export type ScalarName = keyof typeof SCHEDULED;
/** One value per scheduled scalar: numbers on the host, arrays inside a step. */
export type Scalars<T> = { [name in ScalarName]: T };

/** Every scheduled scalar at `step`, for training or for validation. */
export function scalarsAt(options: ScheduleOptions, step: number, stepsPerEpoch: number, phase: "train" | "validation" = "train"): Scalars<number> {
  const entries = Object.entries(SCHEDULED) as [ScalarName, ScheduleEntry][];
  return Object.fromEntries(entries.map(([name, entry]) =>
    [name, ((phase === "validation" && entry.validation) || entry.at)(options, step, stepsPerEpoch)])) as Scalars<number>;
}
