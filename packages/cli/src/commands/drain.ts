/**
 * `spot-manager drain`: the drain engine against any cluster, for operators, with kubectl drain's
 * manners: it cordons, refuses (evicting nothing) when pods without a controller or with emptyDir
 * data are there and not allowed by --force / --delete-emptydir-data, shows each eviction, refusal
 * and retry as it happens, and exits 0 only when no pod that had to leave is left.
 */
import type { Command } from "commander";
import { changeNode, classifyPod, DEFAULT_DRAIN_POLICY, drainNode, KubeApi, KubeGateway, podRef, type DrainProgress, type DrainReport, type Log, type Pod } from "@spot-manager/core";
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
  deleteEmptydirData?: boolean;
  force?: boolean;
  ignoreDaemonsets?: boolean;
  json?: boolean;
}

const name = (p: { namespace: string; name: string }) => `${p.namespace}/${p.name}`;

/** kubectl drain's words for what it will not evict without a flag. */
export function refusals(pods: readonly Pod[], policy: { forceUnmanaged: boolean; deleteEmptyDirData: boolean }): string[] {
  const unmanaged: string[] = [];
  const localStorage: string[] = [];
  for (const pod of pods) {
    const disposition = classifyPod(pod, policy);
    if (disposition.action !== "refuse") continue;
    (disposition.reason === "unmanaged" ? unmanaged : localStorage).push(name(podRef(pod)));
  }
  return [
    ...(unmanaged.length ? [`cannot delete Pods that declare no controller (use --force to override): ${unmanaged.join(", ")}`] : []),
    ...(localStorage.length ? [`cannot delete Pods with local storage (use --delete-emptydir-data to override): ${localStorage.join(", ")}`] : []),
  ];
}

/** One line per progress event, as kubectl drain prints them. */
export function progressLine(event: DrainProgress): string {
  switch (event.type) {
    case "evicting":
      return `evicting pod ${name(event.pod)}`;
    case "evicted":
      return `pod/${event.pod.name} evicted`;
    case "gone":
      return `pod/${event.pod.name} already gone`;
    case "blocked":
      return `error when evicting pods/"${event.pod.name}" -n "${event.pod.namespace}" (will retry after ${(event.retryInMs / 1000).toFixed(1)}s): ${event.message}`;
    case "retrying":
      return `error when evicting pods/"${event.pod.name}" -n "${event.pod.namespace}" (will retry after ${(event.retryInMs / 1000).toFixed(1)}s): ${event.message}`;
    case "refused":
      return `error when evicting pods/"${event.pod.name}" -n "${event.pod.namespace}" (will not retry): ${event.message}`;
    case "waiting":
      return `waiting for ${event.pods} pod${event.pods === 1 ? "" : "s"} to terminate`;
    case "force-deleted":
      return `pod/${event.pod.name} deleted with grace 0 at the timeout`;
    case "held":
      return `keeping pod ${name(event.pod)} until another node has room for it (at most until ${new Date(event.until).toISOString()})`;
    case "released":
      return `pod ${name(event.pod)} let go: ${event.by === "room" ? "room found" : event.by === "time" ? "time is up" : "no replacement is coming"}`;
  }
}

function summary(report: DrainReport): string {
  const lines = [
    `${report.dryRun ? "would evict" : "evicted"}: ${report.dryRun ? report.remaining.length : report.evicted.length}`,
    ...(report.dryRun ? report.remaining.map((p) => `  ${name(p)}`) : []),
    ...(report.forceDeleted.length ? [`deleted at the deadline: ${report.forceDeleted.map(name).join(", ")}`] : []),
    ...(report.skipped.length ? [`left alone: ${report.skipped.map((s) => `${name(s.pod)} (${s.reason})`).join(", ")}`] : []),
    ...(report.blockedByPdb ? [`PodDisruptionBudget refusals: ${report.blockedByPdb} (${report.pdbBlockedPods.map(name).join(", ")})`] : []),
    ...(!report.dryRun && report.left.length ? ["still on the node:", ...report.left.map((l) => `  ${name(l.pod)}: ${l.why}`)] : []),
    `${((report.finishedAt - report.startedAt) / 1000).toFixed(1)} s, ${report.apiRequests} API requests`,
  ];
  return lines.join("\n");
}

/** `spot-manager drain`: the drain engine against any cluster, for operators. */
export function registerDrain(program: Command): void {
  program
    .command("drain")
    .description("Cordon and drain a node of any cluster with the spot-manager drain engine (Eviction API, PDB-aware), as kubectl drain does")
    .requiredOption("--kubeconfig <file>", "kubeconfig of the cluster")
    .requiredOption("--node <name>", "node to drain")
    .option("--context <name>", "kubeconfig context (default: the current one)")
    .option("--dry-run", "list what would be evicted (and what would be refused); change nothing")
    .option("--timeout <seconds>", "give up (or apply --at-deadline) after this long", positiveNumber("--timeout"), 300)
    .option("--parallelism <n>", "evictions in flight at once", positiveNumber("--parallelism", { integer: true }), DEFAULT_DRAIN_POLICY.parallelism)
    .option("--at-deadline <what>", "at the timeout: leave the rest, or delete it with grace 0", "leave")
    .option("--grace-period <seconds>", "override the pods' termination grace period", positiveNumber("--grace-period", { allowZero: true, integer: true }))
    .option("--delete-emptydir-data", "evict pods with emptyDir volumes (their data is lost), as kubectl's flag")
    .option("--force", "evict pods no controller owns (they are not recreated), as kubectl's flag")
    .option("--ignore-daemonsets", "accepted for kubectl's sake: DaemonSet pods are always left in place")
    .option("--json", "print progress as JSON lines on stderr and the drain report as JSON on stdout")
    .action(async (flags: DrainFlags) => {
      if (flags.atDeadline !== "leave" && flags.atDeadline !== "delete") throw new UsageError(`--at-deadline must be "leave" or "delete", got "${flags.atDeadline}"`);
      const { endpoint } = await endpointFromKubeconfig(flags.kubeconfig, flags.context);
      const gateway = new KubeGateway(endpoint);
      const kube = new KubeApi(gateway);
      // the human story goes to stdout; with --json, stdout holds only the report and the story goes to stderr as JSON lines
      const say = (line: string, event?: Record<string, unknown>) =>
        flags.json ? process.stderr.write(`${JSON.stringify(event ?? { type: "message", message: line })}\n`) : process.stdout.write(`${line}\n`);
      const log: Log = {
        debug: () => undefined,
        info: () => undefined,
        warn: () => undefined,
        error: (message, extra) => process.stderr.write(`error: ${message} ${JSON.stringify(extra ?? {})}\n`),
      };
      const policy = {
        ...DEFAULT_DRAIN_POLICY,
        parallelism: flags.parallelism,
        atDeadline: flags.atDeadline,
        deleteEmptyDirData: Boolean(flags.deleteEmptydirData),
        forceUnmanaged: Boolean(flags.force),
        ...(flags.gracePeriod !== undefined ? { gracePeriodSeconds: flags.gracePeriod } : {}),
      } as const;
      try {
        const node = await kube.getNode(flags.node);
        if (!node) throw new UsageError(`node "${flags.node}" not found`);
        if (!flags.dryRun) {
          const cordon = await changeNode(kube, node, { unschedulable: true });
          say(`node/${flags.node} ${cordon.changed ? "cordoned" : "already cordoned"}`, { type: "cordoned", node: flags.node, changed: cordon.changed });
        }
        const pods = await kube.podsOnNode(flags.node);
        const refused = refusals(pods, policy);
        if (refused.length > 0) {
          // kubectl evicts nothing when any pod needs a flag it was not given
          for (const line of refused) say(`${flags.dryRun ? "would refuse: " : "error: "}${line}`, { type: "refused", message: line });
          if (!flags.dryRun) throw new CommandFailedError(`node/${flags.node} not drained: ${refused.join("; ")}`);
        }
        const report = await drainNode(
          {
            kube,
            now: Date.now,
            sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
            random: Math.random,
            log,
            onProgress: (event) => say(progressLine(event), { ...event }),
          },
          { node: flags.node, deadline: Date.now() + flags.timeout * 1000, dryRun: Boolean(flags.dryRun), policy, pods },
        );
        if (flags.json) console.log(JSON.stringify(report, null, 2));
        else console.log(summary(report));
        if (!report.dryRun && !report.complete) {
          throw new CommandFailedError(`node/${flags.node} not fully drained: ${report.left.length} pod${report.left.length === 1 ? "" : "s"} left (${report.left.map((l) => `${name(l.pod)}: ${l.reason}`).join(", ")})`);
        }
        if (!report.dryRun) say(`node/${flags.node} drained`, { type: "drained", node: flags.node });
      } finally {
        gateway.close();
      }
    });
}
