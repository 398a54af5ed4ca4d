/**
 * What every variant of a stage must hold before `sst deploy`, checked on the templates that
 * sst.config.ts produces when loaded as `sst deploy` loads it (stacks/synthesize.ts): a fresh
 * account's concurrency, a Kubernetes version in support with the matching kubectl layer and
 * cluster-autoscaler, data-only retention, alarms and target dead-letter queues everywhere, node
 * groups without a desired size, physical names within their limits, and cdk-nag suppressions
 * that name exactly what they cover.
 */
import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { ACTIONS_WITHOUT_RESOURCE_SCOPE } from "../../stacks/permissions";
import { DATA_RESOURCE_TYPES } from "../../stacks/retention";
import { KUBERNETES_RELEASES, supportNotice } from "../../stacks/kubernetes";
import { STACK_IDS } from "../../stacks/names";
import { synthVariant, VARIANTS, type SynthesizedVariant, type VariantName } from "./variants";

interface Resource {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  Metadata?: { cdk_nag?: { rules_to_suppress: { id: string; reason: string; applies_to?: unknown[] }[] } };
}

function resourcesOf(template: Template): [string, Resource][] {
  return Object.entries((template.toJSON()["Resources"] ?? {}) as Record<string, Resource>);
}

function allResources(variant: SynthesizedVariant): { stack: string; id: string; resource: Resource }[] {
  return [...variant.templates()].flatMap(([stack, template]) => resourcesOf(template).map(([id, resource]) => ({ stack, id, resource })));
}

/** What each variant was configured with, that the invariants depend on. */
const EXPECTED: Record<VariantName, { version: keyof typeof KUBERNETES_RELEASES; retains: boolean; reserved: { interruption?: number; capacity?: number }; created: boolean }> = {
  dev: { version: "1.35", retains: false, reserved: {}, created: true },
  prod: { version: "1.35", retains: true, reserved: {}, created: true },
  import: { version: "1.35", retains: true, reserved: {}, created: false },
  selfManaged: { version: "1.34", retains: false, reserved: {}, created: true },
  private: { version: "1.35", retains: false, reserved: { interruption: 20, capacity: 1 }, created: true },
  delivery: { version: "1.35", retains: true, reserved: {}, created: true },
};

/** Physical-name properties by resource type, with the service's limit. */
const NAME_LIMITS: Record<string, { property: string; max: number }> = {
  "AWS::Lambda::Function": { property: "FunctionName", max: 64 },
  "AWS::SQS::Queue": { property: "QueueName", max: 80 },
  "AWS::Events::Rule": { property: "Name", max: 64 },
  "AWS::CloudWatch::Alarm": { property: "AlarmName", max: 255 },
  "AWS::SNS::Topic": { property: "TopicName", max: 256 },
  "AWS::Scheduler::ScheduleGroup": { property: "Name", max: 64 },
  "AWS::CodeBuild::Project": { property: "Name", max: 150 },
  "AWS::CloudWatch::Dashboard": { property: "DashboardName", max: 255 },
  "AWS::ECR::Repository": { property: "RepositoryName", max: 256 },
  "AWS::SecretsManager::Secret": { property: "Name", max: 512 },
  "AWS::EKS::Nodegroup": { property: "NodegroupName", max: 63 },
  "AWS::AutoScaling::AutoScalingGroup": { property: "AutoScalingGroupName", max: 255 },
  "Custom::LogRetention": { property: "LogGroupName", max: 512 },
};

describe.each(Object.keys(VARIANTS) as VariantName[])("the %s variant, loaded as sst deploy loads sst.config.ts", (name) => {
  let variant: SynthesizedVariant;
  const expected = EXPECTED[name];
  beforeAll(async () => {
    variant = await synthVariant(name);
  }, 420_000);

  const ourFunctions = () =>
    allResources(variant).filter(({ resource }) => resource.Type === "AWS::Lambda::Function" && String(resource.Properties?.["FunctionName"] ?? "").startsWith(`spot-manager-${variant.stage}-`));

  it("synthesizes every stack, in dependency order, with no cdk-nag error", () => {
    expect(variant.stackNames.filter((s) => !s.includes("NestedStack") && s.startsWith(`${variant.stage}-`))).toEqual(STACK_IDS.map((id) => `${variant.stage}-spot-manager-${id}`));
    expect(variant.errors).toEqual([]);
  });

  it("reserves no concurrency unless the stage asks; the event source's maximum concurrency caps the interruption function", () => {
    const reserved = Object.fromEntries(ourFunctions().map(({ resource }) => [resource.Properties!["FunctionName"], resource.Properties!["ReservedConcurrentExecutions"]]));
    for (const [fn, value] of Object.entries(reserved)) {
      const wanted = fn.endsWith("-interruption") ? expected.reserved.interruption : fn.endsWith("-capacity") ? expected.reserved.capacity : undefined;
      expect(value, fn).toBe(wanted);
    }
    variant.template("Interruptions").hasResourceProperties("AWS::Lambda::EventSourceMapping", { ScalingConfig: { MaximumConcurrency: 10 } });
  });

  it("runs every function on nodejs24.x, arm64", () => {
    expect(ourFunctions().length).toBeGreaterThanOrEqual(2);
    for (const { resource } of ourFunctions()) expect(resource.Properties, String(resource.Properties!["FunctionName"])).toMatchObject({ Runtime: "nodejs24.x", Architectures: ["arm64"] });
  });

  it("runs a Kubernetes version EKS supports, with the kubectl layer and cluster-autoscaler of that minor version", () => {
    const release = KUBERNETES_RELEASES[expected.version];
    const cluster = variant.template("Cluster");
    const layers = resourcesOf(cluster).filter(([, r]) => r.Type === "AWS::Lambda::LayerVersion");
    expect(layers.map(([, r]) => r.Properties!["Description"])).toEqual([expect.stringMatching(new RegExp(`^/opt/kubectl/kubectl ${expected.version.replace(".", "\\.")}\\.\\d+;`))]);
    const notice = supportNotice(expected.version, new Date());
    if (notice) expect(variant.notices).toContainEqual({ stack: `${variant.stage}-spot-manager-Cluster`, level: notice.level, message: notice.message });
    if (!expected.created) return;
    const [eks] = resourcesOf(cluster).filter(([, r]) => r.Type === "Custom::AWSCDK-EKS-Cluster");
    expect((eks![1].Properties!["Config"] as { version: string }).version).toBe(expected.version);
    const [chart] = resourcesOf(cluster).filter(([, r]) => r.Type === "Custom::AWSCDK-EKS-HelmChart" && r.Properties!["Chart"] === "cluster-autoscaler");
    expect(chart![1].Properties!["Version"]).toBe(release.clusterAutoscaler.chartVersion);
    expect(JSON.parse(String(chart![1].Properties!["Values"]))).toMatchObject({ image: { tag: release.clusterAutoscaler.imageTag } });
  });

  it("retains only data when the stage keeps its data, and nothing retained blocks a redeploy", () => {
    const all = allResources(variant);
    const retained = all.filter(({ resource }) => resource.DeletionPolicy === "Retain");
    const isDeadLetterQueue = (id: string) => /Dlq|UndeliveredEvents/.test(id);
    for (const { id, resource } of retained) {
      expect(DATA_RESOURCE_TYPES.has(resource.Type) || (resource.Type === "AWS::SQS::Queue" && isDeadLetterQueue(id)), `${resource.Type} ${id} is retained`).toBe(true);
      // a retained resource with a fixed name would collide with a redeploy's; the ECR repository
      // and the secrets keep theirs on purpose (delivery.adoptRetained takes them over)
      const limit = NAME_LIMITS[resource.Type];
      if (limit && resource.Properties?.[limit.property] !== undefined) expect(["AWS::ECR::Repository", "AWS::SecretsManager::Secret"], `${id} keeps a fixed name`).toContain(resource.Type);
    }
    const data = all.filter(({ id, resource }) => DATA_RESOURCE_TYPES.has(resource.Type) || (resource.Type === "AWS::SQS::Queue" && isDeadLetterQueue(id)));
    expect(data.length).toBeGreaterThan(0);
    const logRetention = all.filter(({ resource }) => resource.Type === "Custom::LogRetention");
    expect(logRetention.length).toBeGreaterThan(0);
    if (expected.retains) {
      expect(retained.map((r) => r.id).sort()).toEqual(data.map((r) => r.id).sort());
      for (const { resource } of logRetention) expect(resource.Properties!["RemovalPolicy"]).toBe("retain");
    } else {
      expect(retained).toEqual([]);
      for (const { resource } of logRetention) expect(resource.Properties!["RemovalPolicy"]).toBe("destroy");
    }
  });

  it("alarms on the DLQ, on waiting events and on failed rule invocations, to the notification topic", () => {
    const alarms = allResources(variant).filter(({ resource }) => resource.Type === "AWS::CloudWatch::Alarm");
    const byName = new Map(alarms.map(({ resource }) => [String(resource.Properties!["AlarmName"]), resource.Properties!]));
    const prefix = `spot-manager-${variant.stage}`;
    expect(byName.get(`${prefix}-interruptions-dlq-not-empty`)).toMatchObject({ MetricName: "ApproximateNumberOfMessagesVisible", Namespace: "AWS/SQS", Threshold: 1 });
    const age = byName.get(`${prefix}-interruptions-waiting`) as { Metrics: { Id: string; MetricStat?: { Metric: { MetricName: string } } }[]; Threshold: number };
    expect(age.Threshold).toBe(60);
    expect(age.Metrics.map((m) => m.MetricStat?.Metric.MetricName).filter(Boolean).sort()).toEqual(["ApproximateAgeOfOldestMessage", "ApproximateNumberOfMessagesVisible"]);
    for (const stack of ["interruptions", "capacity", ...(name === "delivery" || name === "import" ? ["delivery"] : [])]) {
      expect(byName.has(`${prefix}-${stack}-rule-failed-invocations`), stack).toBe(true);
      expect(byName.has(`${prefix}-${stack}-undelivered-events`), stack).toBe(true);
    }
    for (const [alarm, props] of byName) expect((props["AlarmActions"] as unknown[])?.length, alarm).toBe(1);
  });

  it("gives every EventBridge target a dead-letter queue and a retry policy", () => {
    const rules = allResources(variant).filter(({ resource }) => resource.Type === "AWS::Events::Rule");
    expect(rules.length).toBeGreaterThanOrEqual(7);
    for (const { id, resource } of rules) {
      for (const target of resource.Properties!["Targets"] as Record<string, unknown>[]) {
        expect(target, id).toMatchObject({ DeadLetterConfig: { Arn: expect.anything() }, RetryPolicy: { MaximumRetryAttempts: expect.any(Number), MaximumEventAgeInSeconds: expect.any(Number) } });
      }
    }
  });

  it("leaves the node groups' desired size to the autoscalers", () => {
    for (const { id, resource } of allResources(variant)) {
      if (resource.Type === "AWS::EKS::Nodegroup") expect(resource.Properties!["ScalingConfig"], id).not.toHaveProperty("DesiredSize");
      if (resource.Type === "AWS::AutoScaling::AutoScalingGroup") expect(resource.Properties, id).not.toHaveProperty("DesiredCapacity");
    }
  });

  it("keeps every physical name within its service's limit, and distinct", () => {
    const seen = new Map<string, string>();
    for (const { id, resource } of allResources(variant)) {
      const limit = NAME_LIMITS[resource.Type];
      const value = limit ? resource.Properties?.[limit.property] : undefined;
      if (typeof value !== "string") continue;
      expect(value.length, `${resource.Type} ${value}`).toBeLessThanOrEqual(limit!.max);
      const key = `${resource.Type}|${value}`;
      expect(seen.get(key), `${key} is used by ${id} and ${seen.get(key)}`).toBeUndefined();
      seen.set(key, id);
    }
    expect(seen.size).toBeGreaterThan(10);
  });

  it("names in every cdk-nag suppression of an IAM finding the exact findings it covers; Resource::* only on policies of actions without resource-level permissions", () => {
    for (const { id, resource } of allResources(variant)) {
      for (const rule of resource.Metadata?.cdk_nag?.rules_to_suppress ?? []) {
        expect(rule.reason.length, `${rule.id} on ${id}`).toBeGreaterThan(20);
        if (rule.id === "AwsSolutions-IAM4" || rule.id === "AwsSolutions-IAM5") {
          expect(rule.applies_to?.length, `${rule.id} on ${id} names what it covers`).toBeGreaterThan(0);
        }
        if (rule.id === "AwsSolutions-IAM5" && rule.applies_to?.includes("Resource::*") && resource.Type === "AWS::IAM::Policy" && !/^(LogRetention|EksCreationRole|Eks)/.test(id)) {
          const statements = (resource.Properties!["PolicyDocument"] as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement;
          for (const statement of statements) {
            expect(statement.Resource, id).toBe("*");
            for (const action of [statement.Action].flat()) expect(ACTIONS_WITHOUT_RESOURCE_SCOPE.has(action), `${action} in ${id}`).toBe(true);
          }
        }
      }
    }
  });

  it("grants a wildcard resource only through those policies", () => {
    for (const { id, resource } of allResources(variant)) {
      if (resource.Type !== "AWS::IAM::Policy" || /^(LogRetention[a-f0-9]{32}|EksCreationRole|EksKubectlHandlerRole|CustomResourceHandler)/.test(id)) continue;
      const statements = (resource.Properties!["PolicyDocument"] as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement;
      for (const statement of statements) {
        if ([statement.Resource].flat().includes("*")) for (const action of [statement.Action].flat()) expect(ACTIONS_WITHOUT_RESOURCE_SCOPE.has(action), `${action} on "*" in ${id}`).toBe(true);
      }
    }
  });
});
