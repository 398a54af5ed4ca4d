import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { Command } from "commander";
import { contractFailures, modelsDirectory } from "@spot-manager/aws-fakes";
import { CommandFailedError, positiveNumber, UsageError } from "../options";
import { renderSimulationPage, type PictureScenario } from "../simulate/html";
import { formatScenario, scenarioReport, type ScenarioReport } from "../simulate/report";
import { runScenario } from "../simulate/run";
import { findScenario, SCENARIOS, type Scenario } from "../simulate/scenarios";

interface SimulateFlags {
  scenario: string;
  json?: boolean;
  timeScale: number;
  dryRun?: boolean;
  html?: string;
}

/** `spot-manager simulate`: the local simulation, the README's main command. */
export function registerSimulate(program: Command): void {
  program
    .command("simulate")
    .description("Play real EventBridge samples through the real interruption handler against the embedded demo cluster (AWS faked in memory) and report per node")
    .option("--scenario <name>", `scenario to run: all, ${SCENARIOS.map((s) => s.name).join(", ")}`, "all")
    .option("--json", "print the report as one JSON document (progress goes to stderr)")
    .option("--time-scale <factor>", "simulated time runs 1/factor times faster than the wall clock", positiveNumber("--time-scale"), 0.05)
    .option("--dry-run", "let the handler only report what it would do")
    .option("--html <file>", "also write a picture of each scenario to FILE: one self-contained HTML page (a lane per node, pods Pending and Running over time)")
    .addHelpText("after", `\nScenarios:\n${SCENARIOS.map((s) => `  ${s.name.padEnd(28)} ${s.description}`).join("\n")}`)
    .action(async (flags: SimulateFlags) => {
      let chosen: Scenario[];
      if (flags.scenario === "all") chosen = SCENARIOS;
      else {
        const found = findScenario(flags.scenario);
        if (!found) throw new UsageError(`unknown scenario "${flags.scenario}"; choose one of: all, ${SCENARIOS.map((s) => s.name).join(", ")}`);
        chosen = [found];
      }
      const progress = (line: string) => (flags.json ? process.stderr : process.stdout).write(`${line}\n`);
      const reports: ScenarioReport[] = [];
      const pictures: PictureScenario[] = [];
      if (modelsDirectory() === undefined) progress("note: AWS requests are not checked against AWS's API models here (apt-get install python3-botocore to check them)");
      const refusedBefore = contractFailures().length;
      for (const scenario of chosen) {
        progress(`\n>> ${scenario.name}: ${scenario.description}`);
        const run = await runScenario(scenario, { timeScale: flags.timeScale, progress, ...(flags.dryRun ? { policy: { dryRun: true } } : {}) });
        const report = scenarioReport(run);
        reports.push(report);
        pictures.push({ name: scenario.name, description: scenario.description, runs: [run.timeline] });
        if (!flags.json) console.log(formatScenario(report));
      }
      if (flags.json) console.log(JSON.stringify({ timeScale: flags.timeScale, scenarios: reports }, null, 2));
      if (flags.html) {
        await writeFile(flags.html, renderSimulationPage(pictures, { timeScale: flags.timeScale }));
        progress(`\npicture of the simulation written to ${resolve(flags.html)}`);
      }
      // A request AWS would have refused is a defect even where the handler coped with the error.
      const refused = contractFailures().slice(refusedBefore);
      for (const failure of refused) progress(`AWS would have rejected: ${failure.error.message}`);
      if (refused.length > 0) throw new CommandFailedError(`${refused.length} AWS request${refused.length === 1 ? "" : "s"} broke the service's API contract`);
    });
}
