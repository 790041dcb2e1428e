// Contractive autoencoder (Rifai et al. 2011): the code h = f(x) is made insensitive to the input by
//
//   penalty = λ mean_batch ‖J_f(x)‖²_F,   J_f(x) = ∂h/∂x   [d, D]
//
// with a sigmoid code layer h = σ(W_L a_{L−1} + b_L) over hidden layers a_k = φ(W_k a_{k−1} + b_k).
// One layer (hidden = []), the closed form:  ‖J‖²_F = Σ_j (h_j (1 − h_j))² Σ_i W_ji².
// Deeper, the chain rule J = diag(s_L) W_L diag(s_{L−1}) W_{L−1} ··· diag(s_1) W_1, multiplied from
// the code down (cost B·d·Σ_k n_k n_{k−1}), with s_k = φ'(pre-activation) from the engine's jvp,
// so any activation works.
import { np, jvp, type Array } from "../engine/index.js";
import { sigmoid } from "../distributions/stable.js";
import { activation } from "../nn/activations.js";
import { linear, type LinearParams } from "../nn/linear.js";
import type { MlpParams } from "../nn/mlp.js";
import { activationSpec } from "./nets.js";
import { makeAutoencoder, mlpAeNets } from "./ae.js";
import type { ModelFamily } from "./types.js";
import { z } from "zod";
import { aeOptions } from "./ae.js";

/** φ(a) and φ'(a) elementwise (a forward-mode derivative with tangent 1). Consumes a. */
function withSlope(phi: (a: Array) => Array, a: Array): [Array, Array] {
  const [y, dy] = jvp(phi, [a.ref], [np.onesLike(a)]) as unknown as [Array, Array];
  return [y, dy];
}

/**
 * The code h = f(x) [B, d] and ‖J_f(x)‖²_F per example [B] of an MLP encoder whose last layer is
 * sigmoid and whose hidden layers use `hiddenActivation`. x [B, D] consumed, enc borrowed.
 */
export function contractiveTerms(enc: MlpParams, x: Array, hiddenActivation: (a: Array) => Array): { code: Array; frobenius: Array } {
  const layers: LinearParams[] = Object.keys(enc).map(Number).sort((a, b) => a - b).map((k) => enc[String(k)]);
  const B = x.shape[0];
  const slopes: Array[] = [];
  let h = x;
  for (const l of layers.slice(0, -1)) {
    const [y, s] = withSlope(hiddenActivation, linear(l, h));
    slopes.push(s);
    h = y;
  }
  const top = layers[layers.length - 1];
  const code = sigmoid(linear(top, h));
  const sTop = code.ref.mul(np.subtract(1, code.ref)); // σ' = h (1 − h)   [B, d]
  const d = code.shape[1];
  if (layers.length === 1) {
    // Σ_j s_j² Σ_i W_ji²
    const rowNorms = np.square(top.weight.ref).sum(1); // [d]
    return { code, frobenius: np.square(sTop).mul(rowNorms).sum(1) };
  }
  let m = sTop.reshape([B, d, 1]).mul(top.weight.ref.reshape([1, ...top.weight.shape])); // [B, d, n_{L−1}]
  for (let k = layers.length - 2; k >= 0; k--) {
    const s = slopes[k]; // [B, n_k]
    const [n, nIn] = layers[k].weight.shape;
    m = m.mul(s.reshape([B, 1, n])).reshape([B * d, n]);
    m = np.matmul(m, layers[k].weight.ref).reshape([B, d, nIn]); // 2-D matmul (see nn/linear.ts)
  }
  return { code, frobenius: np.square(m).sum([1, 2]) };
}

export const contractiveAeOptions = z.object({
  ...aeOptions.shape,
  contractiveWeight: z.number().min(0).default(0.1).describe("λ of the contractive penalty λ‖J_f(x)‖²_F"),
});

export const contractiveAeFamily: ModelFamily<typeof contractiveAeOptions> = {
  name: "contractive-ae",
  options: contractiveAeOptions,
  description: "contractive autoencoder: sigmoid code, penalty λ‖J_f(x)‖²_F on the encoder's Jacobian (closed form for one layer)",
  presets: {
    "cae-1layer": { hidden: [], latent: 256, contractiveWeight: 0.1, likelihood: "bernoulli" },
  },
  create: (options, info) => {
    const D = info.imageShape[0] * info.imageShape[1] * info.imageShape[2];
    const phi = activation(activationSpec(options.encoderActivation, options));
    return makeAutoencoder({
      family: "contractive-ae", options, info, nets: mlpAeNets(options, info, sigmoid),
      penalty: (params, x, code) => {
        code.dispose();
        const t = contractiveTerms(params.encoder as MlpParams, x.reshape([x.shape[0], D]), phi);
        t.code.dispose();
        const jac = t.frobenius.mean();
        return { value: jac.ref.mul(options.contractiveWeight), metrics: { jacobian: jac } };
      },
    });
  },
};
