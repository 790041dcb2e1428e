// Bundles the latent space explorer (src/web/) into dist/web/, and the lab into dist/web/lab/: app.js (the page's TypeScript with
// the project's model code and jax-js inside: nothing is fetched from the internet at run time),
// app.css and index.html. Run by `npm run build` and `npm install` (the prepare script).
// A Node module reaching the bundle fails the build, naming the importer. `--out DIR` writes elsewhere
// (the tests bundle the current sources into a temporary folder).
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const root = fileURLToPath(new URL("..", import.meta.url));
const at = process.argv.indexOf("--out");
const out = at > 0 ? process.argv[at + 1] : join(root, "dist", "web");

const noNodeModules = {
  name: "no-node-modules",
  setup(b) {
    b.onResolve({ filter: /^(node:|(fs|path|os|crypto|zlib|child_process|url|http|net|worker_threads)$)/ }, (args) => ({
      errors: [{ text: `${args.importer} imports ${args.path}: the web page cannot use Node modules` }],
    }));
  },
};

/** esbuild's options for a page's scripts: one ES module each, every import bundled, minified. */
const pageBuild = {
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome120", "firefox121", "safari17"],
  minify: true,
  legalComments: "eof",
  plugins: [noNodeModules],
  logLevel: "warning",
  metafile: true,
};

mkdirSync(out, { recursive: true });
const result = await build({ ...pageBuild, entryPoints: [join(root, "src", "web", "main.ts")], outfile: join(out, "app.js") });
copyFileSync(join(root, "src", "web", "index.html"), join(out, "index.html"));
copyFileSync(join(root, "src", "web", "style.css"), join(out, "app.css"));
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.error(`built ${out} (app.js ${(bytes / 1024).toFixed(0)} KiB)`);

// The lab (`latentkit lab`, `serve` without a run): its page and its training worker, in out/lab/.
const labOut = join(out, "lab");
mkdirSync(labOut, { recursive: true });
const lab = await build({
  ...pageBuild,
  entryPoints: { lab: join(root, "src", "web", "lab.ts"), "lab-worker": join(root, "src", "web", "lab-worker.ts") },
  outdir: labOut,
});
copyFileSync(join(root, "src", "web", "lab.html"), join(labOut, "index.html"));
copyFileSync(join(root, "src", "web", "lab.css"), join(labOut, "lab.css"));
// the explorer beside it, for the lab's Explore button (explorer.html#from-lab)
copyFileSync(join(root, "src", "web", "index.html"), join(labOut, "explorer.html"));
copyFileSync(join(out, "app.js"), join(labOut, "app.js"));
copyFileSync(join(root, "src", "web", "style.css"), join(labOut, "app.css"));
const labBytes = Object.values(lab.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.error(`built ${labOut} (lab.js + lab-worker.js ${(labBytes / 1024).toFixed(0)} KiB)`);
