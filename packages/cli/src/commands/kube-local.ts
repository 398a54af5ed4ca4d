import type { Command } from "commander";
import { demoCluster, startKubeLocal } from "@spot-manager/kube-local";
import { positiveNumber, UsageError } from "../options";

interface KubeLocalFlags {
  seed: string;
  port: number;
  kubeconfigOut?: string;
  token?: string;
  timeScale: number;
  latencyMs: number;
  simulation: boolean;
}

/** `spot-manager kube-local`: serves the embedded API server in the foreground until interrupted. */
export function registerKubeLocal(program: Command): void {
  program
    .command("kube-local")
    .description("Serve the embedded Kubernetes API server in the foreground (for kubectl and other clients)")
    .option("--seed <name>", "cluster to seed: demo or none", "demo")
    .option("--port <port>", "port on 127.0.0.1 (0 picks a free one)", positiveNumber("--port", { allowZero: true }), 0)
    .option("--kubeconfig-out <file>", "write a kubeconfig for this server to FILE")
    .option("--token <token>", "admin bearer token (random when absent)")
    .option("--time-scale <factor>", "speed of the simulated kubelet: 0.1 runs grace periods ten times faster", positiveNumber("--time-scale"), 1)
    .option("--latency-ms <ms>", "latency added to every request", positiveNumber("--latency-ms", { allowZero: true }), 0)
    .option("--no-simulation", "turn off the simulated kubelet, scheduler and controllers")
    .action(async (flags: KubeLocalFlags) => {
      if (flags.seed !== "demo" && flags.seed !== "none") throw new UsageError(`--seed must be "demo" or "none", got "${flags.seed}"`);
      const kube = await startKubeLocal({
        port: flags.port,
        latencyMs: flags.latencyMs,
        ...(flags.token ? { token: flags.token } : {}),
        simulation: flags.simulation ? { timeScale: flags.timeScale } : false,
      });
      if (flags.seed === "demo") await kube.seed(demoCluster());
      if (flags.kubeconfigOut) await kube.writeKubeconfig(flags.kubeconfigOut);
      console.log(`kube-local serving at ${kube.url}`);
      console.log(flags.kubeconfigOut ? `kubeconfig: ${flags.kubeconfigOut}  (kubectl --kubeconfig ${flags.kubeconfigOut} get nodes)` : `token: ${kube.token}`);
      await new Promise<void>((resolve) => {
        process.once("SIGINT", resolve);
        process.once("SIGTERM", resolve);
      });
      await kube.stop();
    });
}
