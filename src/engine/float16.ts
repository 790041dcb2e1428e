// Declarations a consumer's compiler may lack, so that latentkit's types check without skipLibCheck:
// the engine's declarations name Float16Array (absent from Node 20's typings and TypeScript's libs
// before ES2025), and TrainedModel is Disposable (Symbol.dispose: lib esnext or Node's typings). Each
// merges with the real declaration where it exists (as Node's own typings do) and stands in where not.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unused-vars
  interface Float16Array<TArrayBuffer extends ArrayBufferLike = ArrayBufferLike> {}
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}
export {};
