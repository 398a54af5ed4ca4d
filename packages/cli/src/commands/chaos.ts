/**
 * `spot-manager chaos`: randomized schedules against kube-local with the real handler in several
 * concurrent containers (signals, duplicates, late events, time limits, API faults, permanent
 * eviction failures), checking the invariants after every step. A violation names the seed that
 * replays it.
 */
import type { Command } from "commander";
import { chaos, type RunResult } from "../chaos";
import { CommandFailedError, positiveNumber } from "../options";

interface ChaosFlags {
  runs: number;
  seed: number;
  parallel: number;
  json?: boolean;
}

export function registerChaos(program: Command): void {
  program
    .command("chaos")
    .description("Play randomized bad-day schedules through the real interruption handler and check the invariants (exit 1 on a violation)")
    .option("--runs <n>", "schedules to play", positiveNumber("--runs", { integer: true }), 20)
    .option("--seed <n>", "seed of the first schedule (the n-th plays seed + n)", positiveNumber("--seed", { integer: true, allowZero: true }), 1)
    .option("--parallel <n>", "schedules played side by side (each with its own cluster)", positiveNumber("--parallel", { integer: true }), 1)
    .option("--json", "print { runs, violations, figures } as JSON")
    .action(async (flags: ChaosFlags) => {
      const printRun = (result: RunResult) => {
        if (flags.json) return;
        const stories = Object.values(result.stories).join(", ");
        const verdict = result.violations.length ? `${result.violations.length} VIOLATION(S)` : "ok";
        console.log(`seed ${result.seed}: ${verdict} (${stories}; ${result.figures.invocations} invocations, ${result.figures.evictions} evictions, ${result.figures.wallSeconds} s)`);
        for (const v of result.violations) console.log(`  [${v.invariant}] step ${v.step} at ${v.at}: ${v.detail} (replay: spot-manager chaos --runs 1 --seed ${result.seed})`);
      };
      const summary = await chaos(flags.runs, flags.seed, printRun, { parallel: flags.parallel });
      if (flags.json) console.log(JSON.stringify(summary, null, 2));
      else console.log(`\n${summary.runs} runs, ${summary.violations.length} violations, ${summary.figures.wallSeconds} s (${summary.figures.meanRunSeconds} s per run)`);
      if (summary.violations.length > 0) throw new CommandFailedError(`${summary.violations.length} invariant violations; replay each with --runs 1 --seed <its seed>`);
    });
}
