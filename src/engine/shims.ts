// Shims for what jax-js 0.1.25 expects of its host but Node 20 lacks.
// - Float16Array: jax-js checks `instanceof Float16Array` when building arrays from JS data; Node < 24
//   has no such global, so the check throws ReferenceError. An empty class makes the check false.
// - Iterator helpers (`iter.map`, `.filter`, `.toArray`, ...): jax-js's einsum parser calls them on
//   regexp iterators; V8 ships them from Node 22. Installed on %IteratorPrototype%, non-enumerable.
// - `navigator`: absent on Node 20; jax-js's `init()` without arguments probes `navigator.gpu`.
//   We never call that form, so no shim is needed (init always names its devices).

function installShims(): void {
  const g = globalThis as Record<string, unknown>;
  if (typeof g.Float16Array === "undefined") {
    g.Float16Array = class Float16Array {};
  }
  const iteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
  const helpers: Record<string, (this: Iterator<unknown>, ...args: any[]) => unknown> = {
    *map(fn: (v: unknown, i: number) => unknown) {
      let i = 0;
      for (const v of { [Symbol.iterator]: () => this }) yield fn(v, i++);
    },
    *filter(fn: (v: unknown, i: number) => boolean) {
      let i = 0;
      for (const v of { [Symbol.iterator]: () => this }) if (fn(v, i++)) yield v;
    },
    toArray() {
      return [...{ [Symbol.iterator]: () => this }];
    },
    forEach(fn: (v: unknown, i: number) => void) {
      let i = 0;
      for (const v of { [Symbol.iterator]: () => this }) fn(v, i++);
    },
    some(fn: (v: unknown, i: number) => boolean) {
      let i = 0;
      for (const v of { [Symbol.iterator]: () => this }) if (fn(v, i++)) return true;
      return false;
    },
    every(fn: (v: unknown, i: number) => boolean) {
      let i = 0;
      for (const v of { [Symbol.iterator]: () => this }) if (!fn(v, i++)) return false;
      return true;
    },
    reduce(fn: (acc: unknown, v: unknown) => unknown, ...init: unknown[]) {
      let acc = init[0];
      let first = init.length === 0;
      for (const v of { [Symbol.iterator]: () => this }) {
        if (first) { acc = v; first = false; } else acc = fn(acc, v);
      }
      return acc;
    },
  };
  for (const [name, fn] of Object.entries(helpers)) {
    if (!(name in iteratorPrototype)) {
      Object.defineProperty(iteratorPrototype, name, { value: fn, writable: true, configurable: true });
    }
  }
}

installShims();
