import type { Command } from "commander";

/**
 * Commands whose part of the product is not built yet: they say so and exit non-zero rather than
 * pretend to work.
 */
const PENDING: [name: string, description: string][] = [
  ["simulate", "Run the interruption handler against the embedded demo cluster and report per node"],
  ["bench", "Print performance figures as JSON"],
  ["drain", "Drain a node of any cluster with the spot-manager drain engine"],
  ["drill", "Invoke the deployed interruption Lambda with a synthetic event"],
  ["plan-capacity", "Run the capacity planner offline on a node-group state snapshot"],
  ["synth", "Synthesize the CloudFormation templates of a stage and run cdk-nag"],
];

export class NotAvailableError extends Error {
  override readonly name = "NotAvailableError";
}

export function registerPending(program: Command, implemented: ReadonlySet<string>): void {
  for (const [name, description] of PENDING) {
    if (implemented.has(name)) continue;
    program
      .command(name)
      .description(`${description} (not available yet)`)
      .allowUnknownOption()
      .action(() => {
        throw new NotAvailableError(`"${name}" is not available in this version of spot-manager yet`);
      });
  }
}
