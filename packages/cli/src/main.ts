/** The `spot-manager` command. */
import { ConfigError } from "@spot-manager/core";
import { Command, CommanderError } from "commander";
import { registerBench } from "./commands/bench";
import { registerChaos } from "./commands/chaos";
import { registerDrain } from "./commands/drain";
import { registerDrill } from "./commands/drill";
import { registerKubeLocal } from "./commands/kube-local";
import { registerPlanCapacity } from "./commands/plan-capacity";
import { registerSynth } from "./commands/synth";
import { registerSimulate } from "./commands/simulate";
import { CommandFailedError, UsageError } from "./options";

export function buildProgram(): Command {
  const program = new Command("spot-manager")
    .description("Serverless spot and scaling manager for Amazon EKS: local simulation, drills, drains and benchmarks")
    .showHelpAfterError()
    .exitOverride();
  registerSimulate(program);
  registerBench(program);
  registerChaos(program);
  registerDrain(program);
  registerDrill(program);
  registerSynth(program);
  registerPlanCapacity(program);
  registerKubeLocal(program);
  return program;
}

/** Runs the command line and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof CommandFailedError) {
      console.error(`spot-manager: ${error.message}`);
      return 1;
    }
    if (error instanceof UsageError || error instanceof ConfigError) {
      console.error(`spot-manager: ${error.message}`);
      return 2;
    }
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    return 1;
  }
}
