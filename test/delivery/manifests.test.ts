/**
 * deploy/: every manifest validates against the Kubernetes and Argo schemas, `kubectl kustomize`
 * renders each overlay, and what matters for spot holds: the canary, the HPA on the Rollout, the
 * spot toleration and preference, the spread and the PodDisruptionBudget.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { IApplication } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1/Application";
import type { IRollout } from "@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout";
import { LABELS, SPOT_NODE_TAINT } from "@spot-manager/core";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import type { IService } from "kubernetes-models/v1/Service";
import { describe, expect, it } from "vitest";
import { notice } from "../quiet";
import { DEPLOY, hasKubectl, kustomize, readManifests, validateManifest, type Manifest } from "./manifests";

if (!hasKubectl) notice("kubectl not found on PATH: the `kubectl kustomize deploy/overlays/<env>` rendering tests are skipped");

const OVERLAYS = ["dev", "prod"] as const;
const BASE_FILES = readdirSync(join(DEPLOY, "base")).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
const APPLICATIONS = readdirSync(join(DEPLOY, "argocd")).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");

interface Kinds {
  Rollout: IRollout;
  Service: IService;
  HorizontalPodAutoscaler: IHorizontalPodAutoscaler;
  PodDisruptionBudget: IPodDisruptionBudget;
  Application: IApplication;
}

interface OverlayKustomization {
  namespace: string;
  images: { name: string; newName: string; newTag: string }[];
}

function one<K extends keyof Kinds>(manifests: Manifest[], kind: K): Kinds[K] {
  const found = manifests.filter((m) => m.kind === kind);
  expect(found, `exactly one ${kind}`).toHaveLength(1);
  return found[0] as unknown as Kinds[K];
}

function overlayKustomization(env: string): OverlayKustomization {
  return readManifests("overlays", env, "kustomization.yaml")[0] as unknown as OverlayKustomization;
}

describe("deploy/base and deploy/argocd against the schemas", () => {
  it.each(BASE_FILES)("base/%s validates", (file) => {
    for (const manifest of readManifests("base", file)) validateManifest(manifest);
  });

  it.each(APPLICATIONS)("argocd/%s: a valid Application with automated sync (prune, selfHeal) of an overlay here", (file) => {
    // Prepare
    const manifests = readManifests("argocd", file);
    const application = one(manifests, "Application");
    // Act / Assess
    validateManifest(manifests[0]!);
    expect(application.spec.syncPolicy?.automated).toEqual({ prune: true, selfHeal: true });
    const path = application.spec.source?.path ?? "";
    expect(path).toMatch(/^deploy\/overlays\/(dev|prod)$/);
    expect(existsSync(join(DEPLOY, "..", path, "kustomization.yaml"))).toBe(true);
    expect(application.spec.destination.namespace).toBe(overlayKustomization(path.split("/").pop()!).namespace);
  });

  it("a schema violation is caught (the check is not vacuous)", () => {
    const [hpa] = readManifests("base", "hpa.yaml");
    (hpa!.spec as { minReplicas: unknown }).minReplicas = "3";
    expect(() => validateManifest(hpa!)).toThrowError(/HorizontalPodAutoscaler sample-app: .*minReplicas must be integer/);
    const [rollout] = readManifests("base", "rollout.yaml") as unknown as IRollout[];
    (rollout!.spec.strategy!.canary!.steps![0] as { setWeight: unknown }).setWeight = "twenty";
    expect(() => validateManifest(rollout as unknown as Manifest)).toThrowError(/Rollout sample-app: .*setWeight must be integer/);
    expect(() => validateManifest({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "x" } })).toThrowError(/no schema for apps\/v1 Deployment/);
  });
});

describe.skipIf(!hasKubectl)("kubectl kustomize deploy/overlays/<env>", () => {
  it.each(OVERLAYS)("%s renders a Rollout, a Service, an HPA and a PDB, each valid, in the overlay's namespace", async (env) => {
    // Act
    const manifests = await kustomize(`overlays/${env}`);
    // Assess
    expect(manifests.map((m) => m.kind).sort()).toEqual(["HorizontalPodAutoscaler", "PodDisruptionBudget", "Rollout", "Service"]);
    for (const manifest of manifests) validateManifest(manifest);
    expect(new Set(manifests.map((m) => m.metadata.namespace))).toEqual(new Set([`sample-app-${env}`]));
  });

  it.each(OVERLAYS)("%s: the image is the overlay's (what the buildspec's `kustomize edit set image` rewrites)", async (env) => {
    const image = overlayKustomization(env).images.find((i) => i.name === "sample-app");
    const rollout = one(await kustomize(`overlays/${env}`), "Rollout");
    expect(rollout.spec.template?.spec?.containers.map((c) => c.image)).toEqual([`${image?.newName}:${image?.newTag}`]);
  });

  it.each(OVERLAYS)("%s: a canary with weights and pauses, no analysis, and no replica count for Argo CD to fight the HPA over", async (env) => {
    const rollout = one(await kustomize(`overlays/${env}`), "Rollout");
    const canary = rollout.spec.strategy?.canary;
    const steps = canary?.steps ?? [];
    const weights = steps.flatMap((s) => (s.setWeight === undefined ? [] : [s.setWeight]));
    expect(weights.length).toBeGreaterThanOrEqual(2);
    expect(weights).toEqual([...weights].sort((a, b) => a - b));
    expect(weights.every((w) => w > 0 && w < 100)).toBe(true);
    expect(steps.filter((s) => s.pause !== undefined)).toHaveLength(weights.length);
    expect(steps.some((s) => s.analysis !== undefined || s.experiment !== undefined)).toBe(false);
    expect(canary?.analysis).toBeUndefined();
    expect(canary?.maxUnavailable).toBe(0);
    expect(rollout.spec.replicas).toBeUndefined();
  });

  it.each(OVERLAYS)("%s: the HPA scales the Rollout on CPU", async (env) => {
    const manifests = await kustomize(`overlays/${env}`);
    const hpa = one(manifests, "HorizontalPodAutoscaler");
    const rollout = one(manifests, "Rollout");
    expect(hpa.spec?.scaleTargetRef).toEqual({ apiVersion: "argoproj.io/v1alpha1", kind: "Rollout", name: rollout.metadata?.name });
    expect(hpa.spec?.metrics).toContainEqual({ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: expect.any(Number) } } });
    expect(hpa.spec?.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec?.maxReplicas).toBeGreaterThan(hpa.spec?.minReplicas ?? 0);
  });

  it.each(OVERLAYS)("%s: pods tolerate the spot taint, prefer spot nodes and spread over zones and nodes", async (env) => {
    const rollout = one(await kustomize(`overlays/${env}`), "Rollout");
    const pod = rollout.spec.template?.spec;
    expect(pod?.tolerations).toContainEqual({ key: SPOT_NODE_TAINT.key, operator: "Equal", value: SPOT_NODE_TAINT.value, effect: SPOT_NODE_TAINT.effect });
    expect(pod?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution).toContainEqual({
      weight: expect.any(Number),
      preference: { matchExpressions: [{ key: LABELS.lifecycle, operator: "In", values: [SPOT_NODE_TAINT.value] }] },
    });
    // a preference, never a requirement: on-demand nodes must still take the pods when spot is short
    expect(pod?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution).toBeUndefined();
    const spread = pod?.topologySpreadConstraints ?? [];
    expect(spread.map((c) => c.topologyKey).sort()).toEqual([LABELS.hostname, LABELS.zone].sort());
    for (const constraint of spread) expect(constraint.labelSelector?.matchLabels).toEqual(rollout.spec.selector?.matchLabels);
    // the drain has two minutes on a spot interruption; the pod must be able to stop well within them
    expect(pod?.terminationGracePeriodSeconds).toBeLessThanOrEqual(90);
  });

  it.each(OVERLAYS)("%s: the PDB and the Service select the Rollout's pods; the PDB lets drains make progress", async (env) => {
    const manifests = await kustomize(`overlays/${env}`);
    const labels = one(manifests, "Rollout").spec.template?.metadata?.labels ?? {};
    const pdb = one(manifests, "PodDisruptionBudget");
    const service = one(manifests, "Service");
    const selects = (selector: Record<string, string> | undefined) => selector !== undefined && Object.entries(selector).every(([k, v]) => labels[k] === v);
    expect(selects(pdb.spec?.selector?.matchLabels)).toBe(true);
    expect(selects(service.spec?.selector)).toBe(true);
    expect(pdb.spec?.minAvailable).toBeUndefined();
    expect(pdb.spec?.maxUnavailable).not.toBe(0);
  });

  it("deploy/argocd renders both Applications", async () => {
    const applications = await kustomize("argocd");
    expect(applications.map((a) => a.metadata.name).sort()).toEqual(["sample-app-dev", "sample-app-prod"]);
    for (const application of applications) validateManifest(application);
  });
});
