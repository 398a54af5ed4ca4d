import type { Command } from "commander";
import { changeNode, DEFAULT_DRAIN_POLICY, drainNode, KubeApi, KubeGateway, type DrainReport, type Log } from "@spot-manager/core";
import { endpointFromKubeconfig } from "../kubeconfig-endpoint";
import { CommandFailedError, positiveNumber, UsageError } from "../options";

interface DrainFlags {
  kubeconfig: string;
  node: string;
  context?: string;
  dryRun?: boolean;
  timeout: number;
  parallelism: number;
  atDeadline: string;
  gracePeriod?: number;
  deleteEmptydirData: boolean;
  force: boolean;
  json?: boolean;
}

const name = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

function summary(report: DrainReport): string {
  const lines = [
    `${report.dryRun ? "would evict" : "evicted"}: ${report.dryRun ? report.remaining.length : report.evicted.length}`,
    ...(report.dryRun ? report.remaining.map((p) => `  ${name(p)}`) : []),
    ...(report.forceDeleted.length ? [`deleted at the deadline: ${report.forceDeleted.map(name).join(", ")}`] : []),
    ...(report.skipped.length ? [`left alone: ${report.skipped.map((s) => `${name(s.pod)} (${s.reason})`).join(", ")}`] : []),
    ...(report.refused.length ? [`not evicted by policy: ${report.refused.map((s) => `${name(s.pod)} (${s.reason})`).join(", ")}`] : []),
    ...(report.failed.length ? [`failed: ${report.failed.map((f) => `${name(f.pod)}: ${f.message}`).join("; ")}`] : []),
    ...(report.blockedByPdb ? [`PodDisruptionBudget refusals: ${report.blockedByPdb} (${report.pdbBlockedPods.map(name).join(", ")})`] : []),
    ...(!report.dryRun && report.remaining.length ? [`still on the node: ${report.remaining.map(name).join(", ")}`] : []),
    `${((report.finishedAt - report.startedAt) / 1000).toFixed(1)} s, ${report.apiRequests} API requests`,
  ];
  return lines.join("\n");
}

/** `spot-manager drain`: the drain engine against any cluster, for operators. */
export function registerDrain(program: Command): void {
  program
    .command("drain")
    .description("Cordon and drain a node of any cluster with the spot-manager drain engine (Eviction API, PDB-aware)")
    .requiredOption("--kubeconfig <file>", "kubeconfig of the cluster")
    .requiredOption("--node <name>", "node to drain")
    .option("--context <name>", "kubeconfig context (default: the current one)")
    .option("--dry-run", "list what would be evicted; change nothing")
    .option("--timeout <seconds>", "give up (or apply --at-deadline) after this long", positiveNumber("--timeout"), 300)
    .option("--parallelism <n>", "evictions in flight at once", positiveNumber("--parallelism", { integer: true }), DEFAULT_DRAIN_POLICY.parallelism)
    .option("--at-deadline <what>", "at the timeout: leave the rest, or delete it with grace 0", "leave")
    .option("--grace-period <seconds>", "override the pods' termination grace period", positiveNumber("--grace-period", { allowZero: true, integer: true }))
    .option("--no-delete-emptydir-data", "refuse to evict pods with emptyDir volumes")
    .option("--no-force", "refuse to evict pods no controller owns")
    .option("--json", "print the drain report as JSON")
    .action(async (flags: DrainFlags) => {
      if (flags.atDeadline !== "leave" && flags.atDeadline !== "delete") throw new UsageError(`--at-deadline must be "leave" or "delete", got "${flags.atDeadline}"`);
      const { endpoint } = await endpointFromKubeconfig(flags.kubeconfig, flags.context);
      const gateway = new KubeGateway(endpoint);
      const kube = new KubeApi(gateway);
      const say = (line: string) => (flags.json ? process.stderr : process.stdout).write(`${line}\n`);
      const log: Log = {
        debug: () => undefined,
        info: () => undefined,
        warn: (message, extra) => say(`warning: ${message} ${JSON.stringify(extra ?? {})}`),
        error: (message, extra) => say(`error: ${message} ${JSON.stringify(extra ?? {})}`),
      };
      try {
        const node = await kube.getNode(flags.node);
        if (!node) throw new UsageError(`node "${flags.node}" not found`);
        if (!flags.dryRun) {
          const cordon = await changeNode(kube, node, { unschedulable: true });
          say(`node/${flags.node} ${cordon.changed ? "cordoned" : "already cordoned"}`);
        }
        const report = await drainNode(
          { kube, now: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)), random: Math.random, log },
          {
            node: flags.node,
            deadline: Date.now() + flags.timeout * 1000,
            dryRun: Boolean(flags.dryRun),
            policy: {
              ...DEFAULT_DRAIN_POLICY,
              parallelism: flags.parallelism,
              atDeadline: flags.atDeadline,
              deleteEmptyDirData: flags.deleteEmptydirData,
              forceUnmanaged: flags.force,
              ...(flags.gracePeriod !== undefined ? { gracePeriodSeconds: flags.gracePeriod } : {}),
            },
          },
        );
        if (flags.json) console.log(JSON.stringify(report, null, 2));
        else console.log(summary(report));
        if (!report.dryRun && !report.complete) throw new CommandFailedError(`node/${flags.node} not fully drained: ${report.remaining.length} pods left, ${report.failed.length} failed`);
        if (!report.dryRun) say(`node/${flags.node} drained`);
      } finally {
        gateway.close();
      }
    });
}
