// The decoder's likelihood p(x|z), shared by the probabilistic families (latent.ts, dvae.ts, vq-vae.ts):
//
//   bernoulli:  p(x|z) = Π_pixels Bernoulli(x; σ(out))                  (out: the decoder's logits)
//   gaussian:   p(x|z) = Π_pixels N(x; out, s²),  s² fixed (gaussianVariance), or learned: one log s²
//               per pixel, the parameter `logVar` [C, H, W]
//
// Events are whole images [C, H, W]. The mean image is σ(out), or out clipped to [0, 1].
import { np, type Array } from "../engine/index.js";
import { Bernoulli, gaussianLikelihood, type Distribution } from "../distributions/index.js";
import type { LikelihoodOptions } from "./options.js";
import type { DataInfo, Params } from "./types.js";

export type PixelLikelihood = {
  /** p(x|z) from the decoder's output [N, C, H, W] (consumed); params borrowed. */
  of(params: Params, out: Array): Distribution;
  /** The mean image in [0, 1] of the decoder's output (consumed). */
  meanImage(params: Params, out: Array): Array;
  /** Its own parameters (a learned variance's logVar), merged into the model's at init. */
  init(): Params;
};

export function pixelLikelihood(options: LikelihoodOptions, info: DataInfo): PixelLikelihood {
  const learnedVariance = options.likelihood === "gaussian" && options.gaussianVariance === "learned";
  const of = (params: Params, out: Array): Distribution => {
    if (options.likelihood === "bernoulli") return new Bernoulli(out, { eventDims: 3 });
    const noise = learnedVariance ? { logVar: (params.logVar as Array).ref } : { variance: options.gaussianVariance as number };
    return gaussianLikelihood(out, noise, { eventDims: 3 });
  };
  return {
    of,
    meanImage(params, out) {
      const p = of(params, out);
      const m = p.mean;
      p.dispose();
      return options.likelihood === "gaussian" ? np.clip(m, 0, 1) : m;
    },
    init: (): Params => (learnedVariance ? { logVar: np.zeros([...info.imageShape]) } : {}),
  };
}

/** Σ_pixels (x̂ − x)² per example [B], both [B, C, H, W] consumed: the reconstruction error every model reports. */
export function squaredError(reconstruction: Array, x: Array): Array {
  return np.square(reconstruction.sub(x)).reshape([x.shape[0], -1]).sum(-1);
}
