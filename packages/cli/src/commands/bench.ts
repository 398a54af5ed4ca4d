import { cpus } from "node:os";
import type { Command } from "commander";
import { benchBundle } from "../bench/bundle";
import { benchCordonLatency } from "../bench/cordon-latency";
import { benchDrain110 } from "../bench/drain-node";
import { benchMassReclaim, MASS_RECLAIM_50, MASS_RECLAIM_500 } from "../bench/mass-reclaim";
import { positiveNumber, UsageError } from "../options";

const PARTS = ["cordon", "drain", "mass-reclaim", "mass-reclaim-500", "bundle"] as const;

interface BenchFlags {
  only?: string;
  runs: number;
}

/** `spot-manager bench`: performance figures, printed as one JSON document. */
export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("Measure spot-manager against the embedded cluster and print the figures as JSON")
    .option("--only <parts>", `comma-separated subset of: ${PARTS.join(", ")}`)
    .option("--runs <n>", "event -> cordon runs", positiveNumber("--runs", { integer: true }), 200)
    .action(async (flags: BenchFlags) => {
      const chosen = flags.only ? flags.only.split(",").map((s) => s.trim()) : [...PARTS];
      const unknown = chosen.filter((p) => !(PARTS as readonly string[]).includes(p));
      if (unknown.length) throw new UsageError(`unknown bench part(s) ${unknown.join(", ")}; choose from ${PARTS.join(", ")}`);
      const out: Record<string, unknown> = { machine: { node: process.version, cpus: cpus().length, platform: `${process.platform}/${process.arch}` } };
      const step = (name: string) => process.stderr.write(`bench: ${name}...\n`);
      if (chosen.includes("cordon")) {
        step("event -> cordon");
        out["eventToCordon"] = await benchCordonLatency({ runs: flags.runs, latencyMs: 20 });
      }
      if (chosen.includes("drain")) {
        step("drain of one node with 110 pods, and kubectl drain");
        out["drainOneNode"] = await benchDrain110();
      }
      if (chosen.includes("mass-reclaim")) {
        step("mass reclaim of 50 nodes x 30 pods");
        out["massReclaim"] = await benchMassReclaim(MASS_RECLAIM_50);
      }
      if (chosen.includes("mass-reclaim-500")) {
        step("mass reclaim of 500 nodes x 30 pods, ten containers at once");
        out["massReclaim500"] = await benchMassReclaim(MASS_RECLAIM_500);
      }
      if (chosen.includes("bundle")) {
        step("handler bundle and cold import");
        out["bundle"] = await benchBundle({ imports: 10 });
      }
      console.log(JSON.stringify(out, null, 2));
    });
}
