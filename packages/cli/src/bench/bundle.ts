/**
 * The interruption handler as deployed: bundled with SST v2's esbuild and its settings for ESM
 * functions (minified, as the stacks deploy it), then imported cold in fresh Node processes.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import type * as esbuild from "esbuild";
import { percentile, round } from "./stats";

type Esbuild = typeof esbuild;

const run = promisify(execFile);
const HANDLER = fileURLToPath(new URL("../../../../functions/interruption.ts", import.meta.url));

/** SST v2 bundles with its own esbuild; resolve that one, not the newest in the tree. */
async function sstEsbuild(): Promise<Esbuild> {
  const fromSst = createRequire(createRequire(import.meta.url).resolve("sst/package.json"));
  return (await import(fromSst.resolve("esbuild"))) as Esbuild;
}

export async function benchBundle(options: { imports: number }) {
  const esbuild = await sstEsbuild();
  const dir = await mkdtemp(join(tmpdir(), "spot-manager-bundle-"));
  try {
    const outfile = join(dir, "interruption.mjs");
    await esbuild.build({
      entryPoints: [HANDLER],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "esnext",
      mainFields: ["module", "main"],
      keepNames: true,
      minify: true,
      logLevel: "silent",
      outfile,
      banner: {
        js: [
          "import { createRequire as topLevelCreateRequire } from 'module';",
          "const require = topLevelCreateRequire(import.meta.url);",
          'import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"',
          'const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))',
        ].join("\n"),
      },
    });
    const bytes = await readFile(outfile);
    const samples: number[] = [];
    for (let i = 0; i < options.imports; i += 1) {
      const { stdout } = await run(process.execPath, [
        "--input-type=module",
        "-e",
        `const t = performance.now(); const m = await import(${JSON.stringify(outfile)}); if (typeof m.handler !== "function") throw new Error("no handler"); console.log(performance.now() - t);`,
      ]);
      samples.push(Number(stdout.trim()));
    }
    return {
      esbuild: esbuild.version,
      settings: "SST v2 ESM function: bundle, minify, keepNames, target esnext, AWS SDK v3 included",
      bytes: bytes.length,
      gzipBytes: gzipSync(bytes).length,
      coldImportMs: { runs: samples.length, p50: round(percentile(samples, 50)), max: round(Math.max(...samples)) },
      targets: { bytesUnder: 1_500_000, coldImportUnderMs: 300 },
      met: bytes.length < 1_500_000 && percentile(samples, 50) < 300,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
