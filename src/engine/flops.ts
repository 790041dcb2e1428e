// The floating-point operations of a computation, counted from its traced program (jaxpr): the
// matrix products and convolutions, 2 per multiply-add, as papers and profilers count a step's FLOPs.
// Elementwise work (activations, the optimizer) is left out: it is memory-bound and small beside them.
import { makeJaxpr, type Array } from "@jax-js/jax";

type Shaped = { aval: { shape: number[] } };
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * FLOPs of `f(...args)` (traced, not run; the args are consumed as a call would consume them).
 * dot: 2·|out|·k (k the contracted length); conv: 2·|out|·(C_in/groups)·|kernel window|.
 */
export function countFlops(f: (...args: any[]) => unknown, ...args: unknown[]): number {
  const { jaxpr } = makeJaxpr(f as (...a: any[]) => any)(...(args as Array[]));
  let total = 0;
  for (const eqn of jaxpr.jaxpr.flatten().eqns) {
    const out = (eqn.outBinders[0] as unknown as Shaped).aval.shape;
    if (eqn.primitive === "dot") {
      const x = (eqn.inputs[0] as unknown as Shaped).aval.shape;
      total += 2 * size(out) * x[x.length - 1];
    } else if (eqn.primitive === "conv") {
      const w = (eqn.inputs[1] as unknown as Shaped).aval.shape;
      total += 2 * size(out) * size(w.slice(1));
    }
  }
  jaxpr.dispose();
  return total;
}
