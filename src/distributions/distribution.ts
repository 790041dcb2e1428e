// The base of every distribution (torch.distributions' `Distribution`): batch shape vs event shape,
// `logProb`, `sample`, `rsample`, `entropy`, `mean`, `variance`.
//
// Shapes: a distribution of shape `[...batchShape, ...eventShape]` is `prod(batchShape)` independent
// distributions, each over an event of `eventShape`. `logProb(x)` takes `x` of shape
// `[...sampleShape, ...batchShape, ...eventShape]` and sums over the event dims, returning
// `[...sampleShape, ...batchShape]`; `entropy()` returns `batchShape`.
//
// Ownership: a distribution owns the arrays given to its constructor (`dispose()` frees them); its
// methods and getters borrow them, consume their array arguments (keys too), and return new arrays
// that the caller owns — `d.mean` is a new reference, to dispose or pass on.
import { lax, type Array } from "../engine/index.js";

export abstract class Distribution {
  /** The independent (not summed) dimensions. */
  readonly batchShape: number[];
  /** The dimensions of one event; `logProb` sums over them. */
  readonly eventShape: number[];
  /** Whether `rsample` (a sample differentiable wrt the parameters) exists. */
  readonly hasRsample: boolean = false;

  protected constructor(shape: number[], eventDims: number) {
    if (!Number.isInteger(eventDims) || eventDims < 0 || eventDims > shape.length) {
      throw new Error(`${new.target.name}: eventDims must be an integer in [0, ${shape.length}] for shape [${shape}], got ${eventDims}`);
    }
    this.batchShape = shape.slice(0, shape.length - eventDims);
    this.eventShape = shape.slice(shape.length - eventDims);
  }

  /** How many trailing dimensions form one event. */
  get eventDims(): number {
    return this.eventShape.length;
  }

  /** `[...batchShape, ...eventShape]`. */
  get shape(): number[] {
    return [...this.batchShape, ...this.eventShape];
  }

  /** log p(x), summed over the event dims; `x` (consumed) is `[...sampleShape, ...batchShape, ...eventShape]`. */
  abstract logProb(x: Array): Array;

  /** A sample of shape `[...sampleShape, ...batchShape, ...eventShape]`, differentiable wrt the parameters. */
  rsample(key: Array, sampleShape: number[] = []): Array {
    key.dispose();
    void sampleShape;
    throw new Error(`${this.constructor.name} has no reparameterised sample (rsample)`);
  }

  /** A sample of shape `[...sampleShape, ...batchShape, ...eventShape]`, with no gradient. */
  sample(key: Array, sampleShape: number[] = []): Array {
    return lax.stopGradient(this.rsample(key, sampleShape));
  }

  /** H[p] = −E_p[log p(x)], per batch element. */
  entropy(): Array {
    throw new Error(`${this.constructor.name} has no entropy`);
  }

  /** E[x], of shape `[...batchShape, ...eventShape]` (a new reference). */
  get mean(): Array {
    throw new Error(`${this.constructor.name} has no mean`);
  }

  /** Var[x], elementwise, of shape `[...batchShape, ...eventShape]` (a new reference). */
  get variance(): Array {
    throw new Error(`${this.constructor.name} has no variance`);
  }

  /** Frees the parameter arrays. The distribution must not be used afterwards. */
  abstract dispose(): void;

  /** Throws unless `x`'s trailing dims are this distribution's event shape. */
  protected checkEvent(x: Array, what = "logProb"): void {
    const k = this.eventDims;
    const trailing = x.shape.slice(x.ndim - k);
    if (x.ndim < k || trailing.some((n, i) => n !== this.eventShape[i])) {
      throw new Error(`${this.constructor.name}.${what}: x of shape [${x.shape}] does not end in the event shape [${this.eventShape}]`);
    }
  }
}

/** Σ over the last `eventDims` axes of `x` (consumed); `x` itself when `eventDims` is 0. */
export function sumEvent(x: Array, eventDims: number): Array {
  if (eventDims === 0) return x;
  const axes: number[] = [];
  for (let i = 1; i <= eventDims; i++) axes.push(-i);
  return x.sum(axes);
}

/** Throws unless `p` and `q` describe events of the same shape (for KL, which pairs them up). */
export function checkSameEvent(p: Distribution, q: Distribution): void {
  const same = p.eventDims === q.eventDims && p.eventShape.every((n, i) => n === q.eventShape[i]);
  if (!same) {
    throw new Error(`KL(${p.constructor.name}‖${q.constructor.name}): event shapes differ, [${p.eventShape}] vs [${q.eventShape}]`);
  }
}
