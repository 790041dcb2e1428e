// The WebAssembly bound of this machine: the FLOP rate of one core running nothing but independent
// f32x4 multiply-adds (SIMD128 has no fused multiply-add: a mul and an add, 8 FLOPs per pair of
// instructions), from a module written here byte by byte. A step's speed divided by this rate is the
// share of the core's arithmetic it used: how far a kernel is from what WebAssembly allows.

const CHAINS = 12; // independent accumulators: enough to hide the mul and add latencies

/** LEB128 of an unsigned integer. */
const leb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const f32x4Const = (v: number) => [0xfd, 0x0c, ...Array.from({ length: 4 }, () => [...new Uint8Array(new Float32Array([v]).buffer)]).flat()];

/** run(iterations: i32) -> f32: CHAINS accumulators, each acc = acc * m + a per iteration. */
function moduleBytes(): Uint8Array<ArrayBuffer> {
  const m = CHAINS + 1, a = CHAINS + 2; // locals: 0 the count, 1..CHAINS the chains, then m and a
  const body: number[] = [1, CHAINS + 2, 0x7b]; // one local group: CHAINS + 2 v128
  for (let i = 1; i <= CHAINS; i++) body.push(...f32x4Const(1 + i / 64), 0x21, i);
  body.push(...f32x4Const(0.999), 0x21, m, ...f32x4Const(1e-3), 0x21, a);
  body.push(0x02, 0x40, 0x03, 0x40); // block, loop
  body.push(0x20, 0, 0x45, 0x0d, 1); // if count == 0 break
  for (let i = 1; i <= CHAINS; i++) body.push(0x20, i, 0x20, m, 0xfd, ...leb(0xe6), 0x20, a, 0xfd, ...leb(0xe4), 0x21, i);
  body.push(0x20, 0, 0x41, 1, 0x6b, 0x21, 0, 0x0c, 0, 0x0b, 0x0b); // count -= 1; continue; end loop, block
  // The sum of the chains' first lanes, so that no chain is dead code.
  body.push(0x20, 1, 0xfd, 0x1f, 0);
  for (let i = 2; i <= CHAINS; i++) body.push(0x20, i, 0xfd, 0x1f, 0, 0x92);
  body.push(0x0b);
  const code = [1, ...leb(body.length), ...body];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 1, 0x7f, 1, 0x7d]),
    ...section(3, [1, 0]),
    ...section(7, [1, 3, 0x72, 0x75, 0x6e, 0x00, 0]),
    ...section(10, code),
  ]);
}

/** GFLOP/s of one core at f32x4 multiply-adds: the best of `rounds` timed runs of about 0.1 s each. */
export function wasmBoundGflops(rounds = 5): number {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()));
  const run = instance.exports.run as (n: number) => number;
  const flopsPerIteration = CHAINS * 8;
  run(1e5); // compile and tier up
  let iterations = 1e6;
  let best = 0;
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    run(iterations);
    const seconds = (performance.now() - start) / 1000;
    best = Math.max(best, (iterations * flopsPerIteration) / seconds / 1e9);
    if (seconds < 0.05) iterations *= 4; // aim at about 0.1 s a round
  }
  return best;
}
