// src/io/errors.ts names NodeJS.ErrnoException in a type position only; the page's type check runs
// without Node's types (so Node globals such as Buffer cannot slip into the page's code).
declare namespace NodeJS {
  interface ErrnoException extends Error {
    code?: string;
  }
}
