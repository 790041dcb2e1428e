// The costliest kernels of one call, from jax-js's kernel tracer (each kernel a performance
// measure with its expression): used by bench/conv.ts and bench/model-step.ts (`--profile N`).
import { profiler } from "@jax-js/jax";

export interface KernelTime { ms: number; reduction: boolean; label: string }

/** Runs `run` (which must finish its kernels before it resolves) under the tracer. */
export async function traceKernels(run: () => Promise<void>): Promise<KernelTime[]> {
  performance.clearMeasures();
  profiler.startTrace();
  await run();
  profiler.stopTrace();
  return performance.getEntriesByType("measure").map((m) => {
    const props = Object.fromEntries((m as { detail?: { devtools?: { properties?: [string, string][] } } })
      .detail?.devtools?.properties ?? []);
    const reduction = !!props.reduction;
    return { ms: m.duration, reduction, label: `${m.name} ${reduction ? `reduce ${props.reduction} ` : ""}${String(props.exp ?? props.inputShapes ?? "").slice(0, Number(process.env.LABEL_CHARS ?? 150))}` };
  });
}

/** Prints the total, the share in matmuls and reductions, and the `top` costliest kernels. */
export function printKernels(what: string, kernels: KernelTime[], top: number, onlyElementwise = false): void {
  const total = kernels.reduce((a, k) => a + k.ms, 0);
  const inRed = kernels.filter((k) => k.reduction).reduce((a, k) => a + k.ms, 0);
  console.log(`${what}: ${kernels.length} kernels, ${total.toFixed(1)} ms in kernels ` +
    `(${inRed.toFixed(1)} in matmuls and reductions, ${(total - inRed).toFixed(1)} elementwise/data movement); the costliest:`);
  for (const k of kernels.filter((k) => !onlyElementwise || !k.reduction).sort((a, b) => b.ms - a.ms).slice(0, top)) {
    console.log(`  ${k.ms.toFixed(2).padStart(8)} ms  ${k.label}`);
  }
}
