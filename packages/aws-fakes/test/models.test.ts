import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { compileJavaPattern } from "../src/java-pattern";
import { loadServiceModel, SERVICES } from "../src/models";

const ROOT = join(import.meta.dirname, "../../..");
const require = createRequire(import.meta.url);

/** TypeScript sources of the product (not its tests): what actually talks to AWS. */
function productSources(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name === "node_modules" || name === "test") continue;
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith(".ts") && !name.endsWith(".test.ts")) files.push(path);
    }
  };
  for (const dir of ["functions", "stacks", "packages/core/src", "packages/cli/src", "packages/kube-local/src"]) walk(join(ROOT, dir));
  return files;
}

describe("the AWS API models the fakes hold requests to", () => {
  it.each(SERVICES.map((s) => [s.serviceId, s] as const))("%s: the model is installed, for the service and API version the SDK client speaks", (_, entry) => {
    const model = loadServiceModel(entry);
    expect(model.metadata.serviceId).toBe(entry.serviceId);
    expect(model.metadata.apiVersion).toBe(entry.apiVersion);
    const sdk = require(entry.sdkPackage) as Record<string, new (config: object) => { config: { apiVersion?: string; serviceId?: string } }>;
    const clientClass = Object.entries(sdk).find(([name]) => /^[A-Z][A-Za-z0-9]*Client$/.test(name))?.[1];
    const client = new (clientClass as NonNullable<typeof clientClass>)({ region: "us-west-2" });
    expect(client.config.serviceId).toBe(entry.serviceId);
    expect(client.config.apiVersion).toBe(entry.apiVersion);
  });

  it("every pattern in those models translates to JavaScript (none goes unchecked)", () => {
    const failures: string[] = [];
    let patterns = 0;
    for (const entry of SERVICES) {
      for (const [name, shape] of Object.entries(loadServiceModel(entry).shapes)) {
        if (shape.pattern === undefined) continue;
        patterns += 1;
        try {
          compileJavaPattern(shape.pattern);
        } catch (error) {
          failures.push(`${entry.serviceId} ${name}: ${(error as Error).message}`);
        }
      }
    }
    expect(patterns).toBeGreaterThan(100);
    expect(failures).toEqual([]);
  });

  it("covers every AWS SDK client the project depends on", () => {
    const packages = ["package.json", ...readdirSync(join(ROOT, "packages")).map((p) => `packages/${p}/package.json`)];
    const clients = new Set<string>();
    for (const file of packages) {
      const manifest = JSON.parse(readFileSync(join(ROOT, file), "utf8")) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
      for (const name of Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })) if (name.startsWith("@aws-sdk/client-")) clients.add(name);
    }
    const modelled = new Set(SERVICES.map((s) => s.sdkPackage));
    expect([...clients].filter((c) => !modelled.has(c))).toEqual([]);
  });

  it("knows every operation the product sends, so none passes unchecked as newer than the model", () => {
    const unknown: string[] = [];
    let operations = 0;
    for (const file of productSources()) {
      const text = readFileSync(file, "utf8");
      for (const match of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*"(@aws-sdk\/client-[a-z0-9-]+)"/g)) {
        const entry = SERVICES.find((s) => s.sdkPackage === match[2]);
        const commands = (match[1] as string)
          .split(",")
          .map((name) => name.trim().replace(/^type\s+/, ""))
          .filter((name) => /^[A-Z]\w*Command$/.test(name));
        for (const command of commands) {
          if (!new RegExp(`new ${command}\\(`).test(text)) continue;
          operations += 1;
          const operation = command.replace(/Command$/, "");
          if (!entry) unknown.push(`${relative(ROOT, file)}: ${match[2]} has no model`);
          else if (!loadServiceModel(entry).operations[operation]) unknown.push(`${relative(ROOT, file)}: ${entry.serviceId} ${operation}`);
        }
      }
    }
    expect(operations).toBeGreaterThan(20);
    expect(unknown).toEqual([]);
  });
});
