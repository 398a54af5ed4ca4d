/**
 * Replacement capacity at the warning against cluster-autoscaler alone: the replacement
 * scenario's comparison (one spot reclaim of a full group, played twice on the same models and
 * seed), reduced to its figures.
 */
import { runReplacementComparison, type ReplacementRunReport } from "../simulate/replacement";
import { findScenario } from "../simulate/scenarios";

function figures(run: ReplacementRunReport) {
  return {
    pendingPodSeconds: run.pendingPodSeconds,
    p95PendingSeconds: run.p95PendingSeconds,
    secondsUntilAllRunning: run.secondsUntilAllRunning,
    peakExtraNodes: run.peakExtraNodes,
    extraNodeSeconds: run.extraNodeSeconds,
    nodesBeforeAndAtEnd: [run.nodesBefore, run.nodesAtEnd],
  };
}

export async function benchReplacement(options: { timeScale?: number } = {}) {
  const scenario = findScenario("replacement");
  if (!scenario) throw new Error("the replacement scenario is missing");
  const { comparison } = await runReplacementComparison(scenario, { timeScale: options.timeScale ?? 0.05, progress: () => undefined });
  return {
    scenario: "one spot node of a full managed node group reclaimed (4 pods with nowhere else to go), cluster-autoscaler only vs replacement at the warning",
    seed: comparison.seed,
    models: { bootSeconds: comparison.models.bootSeconds, autoscalerScanSeconds: comparison.models.autoscalerScanSeconds, scaleDownUnneededSeconds: comparison.models.scaleDownUnneededSeconds },
    caOnly: figures(comparison.caOnly),
    replacementAtWarning: { ...figures(comparison.replacementAtWarning), mechanism: comparison.replacementAtWarning.replacement?.mechanism ?? null, podsHeld: comparison.replacementAtWarning.podsHeld },
    pendingPodSecondsRatio: comparison.target.ratio,
    targets: { maxPendingPodSecondsRatio: comparison.target.maxPendingPodSecondsRatio },
    met: comparison.target.met,
  };
}
