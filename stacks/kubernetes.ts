/**
 * The Kubernetes versions a stage may run, each with what must match it: EKS's end of standard
 * support (extended support costs more per cluster hour), the kubectl/helm Lambda layer the CDK's
 * kubectl provider runs, and cluster-autoscaler's release for that minor version (upstream tests
 * each CA minor only against the same Kubernetes minor) with the Helm chart that carries it.
 */
import { KubectlV33Layer } from "@aws-cdk/lambda-layer-kubectl-v33";
import { KubectlV34Layer } from "@aws-cdk/lambda-layer-kubectl-v34";
import { KubectlV35Layer } from "@aws-cdk/lambda-layer-kubectl-v35";
import { KubectlV36Layer } from "@aws-cdk/lambda-layer-kubectl-v36";
import type { ILayerVersion } from "aws-cdk-lib/aws-lambda";
import type { Construct } from "constructs";

export interface KubernetesRelease {
  /** First day EKS bills extended support for this version (UTC), from the EKS release calendar. */
  endOfStandardSupport: string;
  /** The kubectl and helm binaries of the same minor version, as a Lambda layer. */
  kubectlLayer: (scope: Construct, id: string) => ILayerVersion;
  /** cluster-autoscaler of the same minor version, and the chart release that installs it. */
  clusterAutoscaler: { chartVersion: string; imageTag: string };
}

/**
 * Chart versions are the first releases whose appVersion is that CA minor (its RBAC is written
 * for that image). No chart defaults to CA 1.36 yet, so 1.36 sets the image on the newest chart.
 */
export const KUBERNETES_RELEASES = {
  "1.33": {
    endOfStandardSupport: "2026-07-29",
    kubectlLayer: (scope, id) => new KubectlV33Layer(scope, id),
    clusterAutoscaler: { chartVersion: "9.51.0", imageTag: "v1.33.0" },
  },
  "1.34": {
    endOfStandardSupport: "2026-12-02",
    kubectlLayer: (scope, id) => new KubectlV34Layer(scope, id),
    clusterAutoscaler: { chartVersion: "9.53.0", imageTag: "v1.34.2" },
  },
  "1.35": {
    endOfStandardSupport: "2027-03-27",
    kubectlLayer: (scope, id) => new KubectlV35Layer(scope, id),
    clusterAutoscaler: { chartVersion: "9.59.0", imageTag: "v1.35.0" },
  },
  "1.36": {
    endOfStandardSupport: "2027-08-02",
    kubectlLayer: (scope, id) => new KubectlV36Layer(scope, id),
    clusterAutoscaler: { chartVersion: "9.59.0", imageTag: "v1.36.1" },
  },
} as const satisfies Record<string, KubernetesRelease>;

export type KubernetesVersion = keyof typeof KUBERNETES_RELEASES;

export const KUBERNETES_VERSIONS = Object.keys(KUBERNETES_RELEASES) as [KubernetesVersion, ...KubernetesVersion[]];

/** The version new stages get: in EKS standard support, with a cluster-autoscaler chart built for it. */
export const DEFAULT_KUBERNETES_VERSION: KubernetesVersion = "1.35";

/** Standard support ending within this many days is worth a notice at synth. */
const NOTICE_DAYS = 60;

/** What an operator should hear about the stage's version on the given day (UTC), if anything. */
export function supportNotice(version: KubernetesVersion, today: Date): { level: "warning" | "info"; message: string } | undefined {
  const end = new Date(`${KUBERNETES_RELEASES[version].endOfStandardSupport}T00:00:00Z`);
  const days = Math.ceil((end.getTime() - today.getTime()) / 86_400_000);
  const minor = (v: string) => Number(v.split(".")[1]);
  const newer = KUBERNETES_VERSIONS.filter((v) => minor(v) > minor(version));
  const upgrade = newer.length ? ` Upgrade one minor version at a time (next: ${newer[0]}).` : "";
  if (days <= 0) {
    return {
      level: "warning",
      message: `Kubernetes ${version} left EKS standard support on ${KUBERNETES_RELEASES[version].endOfStandardSupport}: the cluster is billed for extended support.${upgrade}`,
    };
  }
  if (days <= NOTICE_DAYS) {
    return { level: "info", message: `Kubernetes ${version} leaves EKS standard support on ${KUBERNETES_RELEASES[version].endOfStandardSupport} (in ${days} days).${upgrade}` };
  }
  return undefined;
}
