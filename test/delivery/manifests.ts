/**
 * The sample workload's manifests, read and checked against the Kubernetes and Argo schemas
 * (kubernetes-models and its Argo CD / Argo Rollouts packages validate with their JSON schemas).
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Application } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1";
import { Rollout } from "@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Namespace, Service } from "kubernetes-models/v1";
import { parseAllDocuments } from "yaml";

const run = promisify(execFile);

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const DEPLOY = join(REPO_ROOT, "deploy");

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: unknown;
  [field: string]: unknown;
}

interface Validating {
  validate(): void;
}

/** The schema for each kind the workload uses; anything else is a finding in itself. */
const MODELS: Record<string, (data: never) => Validating> = {
  "v1/Service": (data) => new Service(data),
  "v1/Namespace": (data) => new Namespace(data),
  "autoscaling/v2/HorizontalPodAutoscaler": (data) => new HorizontalPodAutoscaler(data),
  "policy/v1/PodDisruptionBudget": (data) => new PodDisruptionBudget(data),
  "argoproj.io/v1alpha1/Rollout": (data) => new Rollout(data),
  "argoproj.io/v1alpha1/Application": (data) => new Application(data),
};

/** Throws with the schema's complaint (e.g. `data/spec/minReplicas must be integer`) or when no schema knows the kind. */
export function validateManifest(manifest: Manifest): void {
  const model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
  if (!model) throw new Error(`no schema for ${manifest.apiVersion} ${manifest.kind} (${manifest.metadata?.name})`);
  try {
    model(manifest as never).validate();
  } catch (error) {
    throw new Error(`${manifest.kind} ${manifest.metadata?.name}: ${(error as Error).message}`, { cause: error });
  }
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join("; "));
      return doc.toJS() as Manifest | null;
    })
    .filter((m): m is Manifest => m !== null);
}

export function readManifests(...path: string[]): Manifest[] {
  return parseManifests(readFileSync(join(DEPLOY, ...path), "utf8"));
}

export const hasKubectl = await run("kubectl", ["version", "--client", "-o", "json"]).then(
  () => true,
  () => false,
);

/** `kubectl kustomize deploy/<path>`, parsed. */
export async function kustomize(path: string): Promise<Manifest[]> {
  const { stdout } = await run("kubectl", ["kustomize", join(DEPLOY, path)], { maxBuffer: 16 * 1024 * 1024 });
  return parseManifests(stdout);
}
