// The package's version, recorded in every run's config.json (a test checks it against package.json).
export const PACKAGE_VERSION = "0.2.0";
