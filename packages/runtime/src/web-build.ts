// `resnetc compile --target web`: bundles the emitted model.ts with the browser page
// (browser/page.ts), this runtime's browser entry and TensorFlow.js into one script with esbuild,
// and gives the page's files: index.html, app.js and the wasm backend's .wasm binaries (loaded
// by tfjs at run time, so they cannot be inlined into the script).
// Takes: the emitted model.ts text. Gives: the files, for the CLI to write as one folder.
// Must not: write files itself (the CLI's atomic folder writer does), or let a node: module into
// the bundle (the two the shared kernels name are replaced by stubs that say "not here").
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** Stand-ins for the two Node modules simd.ts imports for its helper thread: in a browser the
 * kernels run on one thread (simd.ts falls back when the helper cannot start, and to its
 * JavaScript loops where its module cannot be instantiated). */
const NODE_STUBS: Record<string, string> = {
  "node:os": "export default { cpus: () => [] };",
  "node:worker_threads": 'export class Worker { constructor() { throw new Error("no worker_threads in a browser"); } }',
};

const WASM_FILES = ["tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm"];

function html(name: string): string {
  const title = name.replace(/[^A-Za-z0-9_.-]/g, "_");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>resnetc: train ${title}</title>
<style>
body { font: 14px system-ui, sans-serif; margin: 2em; }
pre { white-space: pre-wrap; word-break: break-all; max-height: 12em; overflow: auto; }
</style>
</head>
<body>
<script type="module" src="./app.js"></script>
</body>
</html>
`;
}

export async function buildWebPage(modelTs: string, modelName: string): Promise<Record<string, string | Uint8Array>> {
  const esbuild = await import("esbuild");
  const browserDir = join(here, "browser");
  const result = await esbuild.build({
    stdin: {
      contents: `import * as m from "resnetc-model"; import { startPage } from "./page.js"; startPage(m);`,
      resolveDir: browserDir,
      loader: "js",
    },
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    logLevel: "silent",
    // simd.ts reads two environment switches; a browser has no environment.
    define: { "process.env": "{}" },
    plugins: [
      {
        name: "resnetc-web",
        setup(b) {
          b.onResolve({ filter: /^resnetc-model$/ }, () => ({ path: "model.ts", namespace: "resnetc-model" }));
          b.onLoad({ filter: /.*/, namespace: "resnetc-model" }, () => ({
            contents: modelTs,
            loader: "ts",
            // Its imports (@tensorflow/tfjs) resolve from this package, as the page's do: one tfjs.
            resolveDir: browserDir,
          }));
          b.onResolve({ filter: /^@resnetc\/runtime$/ }, () => ({ path: join(browserDir, "index.js") }));
          b.onResolve({ filter: /^node:(os|worker_threads)$/ }, (a) => ({ path: a.path, namespace: "node-stub" }));
          b.onLoad({ filter: /.*/, namespace: "node-stub" }, (a) => ({ contents: NODE_STUBS[a.path]!, loader: "js" }));
        },
      },
    ],
  });
  const app = result.outputFiles[0]!.contents;
  const require = createRequire(import.meta.url);
  const wasmDir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"));
  const files: Record<string, string | Uint8Array> = { "index.html": html(modelName), "app.js": app };
  for (const f of WASM_FILES) files[f] = readFileSync(join(wasmDir, "dist", f));
  return files;
}
