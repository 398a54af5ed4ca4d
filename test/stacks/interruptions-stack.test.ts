import { Match } from "aws-cdk-lib/assertions";
import { CLUSTER_ROLE_RULES, DEFAULT_POLICY, HANDLED_SIGNALS } from "@spot-manager/core";
import { beforeAll, describe, expect, it } from "vitest";
import { SIGNAL_RULES } from "../../stacks/rules";
import { fixture, type FixtureName } from "../fixtures";
import { matchesPattern } from "./event-pattern";
import { rendered, statements, synth } from "./synth";

let dev: Awaited<ReturnType<typeof synth>>;
beforeAll(async () => {
  dev = await synth("dev");
}, 120_000);

const SAMPLES: Record<string, FixtureName[]> = {
  SpotInterruptionWarning: ["spotInterruption"],
  RebalanceRecommendation: ["rebalance"],
  AsgTerminateLifecycleAction: ["asgTerminate"],
  AsgLaunchLifecycleAction: ["asgLaunch"],
  InstanceStateChange: ["stateShuttingDown", "stateStopping", "stateTerminated"],
  HealthScheduledChange: ["healthScheduledChange"],
};

/** The samples name their hook my-termination-lifecycle-hook; ours carry the spot-manager- prefix. */
function asOurHook(event: Record<string, unknown>): Record<string, unknown> {
  const detail = event["detail"] as Record<string, unknown>;
  if (typeof detail["LifecycleHookName"] === "string") detail["LifecycleHookName"] = `spot-manager-${String(detail["LifecycleHookName"])}`;
  return event;
}

describe("EventBridge rules", () => {
  it("one rule per signal the function handles, each matching its sample event and no other", () => {
    expect(SIGNAL_RULES.map((r) => `${r.pattern.source[0]}|${r.pattern["detail-type"][0]}`).sort()).toEqual(HANDLED_SIGNALS.map((s) => `${s.source}|${s.detailType}`).sort());
    const all = Object.values(SAMPLES).flat();
    for (const rule of SIGNAL_RULES) {
      for (const name of all) {
        const expected = SAMPLES[rule.id]!.includes(name);
        expect(matchesPattern(rule.pattern as never, asOurHook(fixture(name))), `${rule.id} vs ${name}`).toBe(expected);
      }
      expect(matchesPattern(rule.pattern as never, fixture("codebuildStateChange")), rule.id).toBe(false);
    }
  });

  it("leaves out what the function would only acknowledge: other teams' hooks, running instances, other Health services", () => {
    const byId = (id: string) => SIGNAL_RULES.find((r) => r.id === id)!.pattern as never;
    const running = fixture("stateStopping");
    (running["detail"] as Record<string, string>)["state"] = "running";
    const rds = fixture("healthScheduledChange");
    (rds["detail"] as Record<string, string>)["service"] = "RDS";
    const issue = fixture("healthScheduledChange");
    (issue["detail"] as Record<string, string>)["eventTypeCategory"] = "issue";
    expect(matchesPattern(byId("AsgTerminateLifecycleAction"), fixture("asgTerminate"))).toBe(false);
    expect(matchesPattern(byId("InstanceStateChange"), running)).toBe(false);
    expect(matchesPattern(byId("HealthScheduledChange"), rds)).toBe(false);
    expect(matchesPattern(byId("HealthScheduledChange"), issue)).toBe(false);
  });

  it("the template carries exactly these patterns, each targeting the interruption queue", () => {
    const template = dev.template("Interruptions");
    for (const rule of SIGNAL_RULES) {
      template.hasResourceProperties("AWS::Events::Rule", {
        EventPattern: rule.pattern,
        State: "ENABLED",
        Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("^InterruptionQueue"), "Arn"] } })],
      });
    }
    template.resourceCountIs("AWS::Events::Rule", SIGNAL_RULES.length);
  });
});

describe("queue and dead-letter queue", () => {
  it("encrypts both, sends to the DLQ after 5 receives, and keeps messages invisible longer than the function runs", () => {
    const template = dev.template("Interruptions");
    template.hasResourceProperties("AWS::SQS::Queue", {
      QueueName: "spot-manager-dev-interruptions",
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 1800,
      MessageRetentionPeriod: 4 * 24 * 3600,
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [Match.stringLikeRegexp("^InterruptionDlq"), "Arn"] }, maxReceiveCount: 5 },
    });
    template.hasResourceProperties("AWS::SQS::Queue", { QueueName: "spot-manager-dev-interruptions-dlq", SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    template.hasResourceProperties("AWS::Lambda::Function", { FunctionName: "spot-manager-dev-interruption", Timeout: 300 });
  });

  it("lets only EventBridge rules of this stack send, and refuses anything without TLS", () => {
    const template = dev.template("Interruptions");
    const policies = template.findResources("AWS::SQS::QueuePolicy", { Properties: { Queues: [{ Ref: Match.stringLikeRegexp("^InterruptionQueue") }] } });
    const [policy] = Object.values(policies) as { Properties: { PolicyDocument: { Statement: { Effect: string; Principal: unknown; Action: unknown; Condition?: Record<string, unknown> }[] } } }[];
    const allows = policy!.Properties.PolicyDocument.Statement.filter((s) => s.Effect === "Allow");
    const denies = policy!.Properties.PolicyDocument.Statement.filter((s) => s.Effect === "Deny");
    expect(allows).toHaveLength(SIGNAL_RULES.length);
    for (const allow of allows) {
      expect(allow.Principal).toEqual({ Service: "events.amazonaws.com" });
      expect([allow.Action].flat().sort()).toEqual(["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"]);
      expect(allow.Condition).toEqual({ ArnEquals: { "aws:SourceArn": { "Fn::GetAtt": [expect.any(String), "Arn"] } } });
    }
    expect(denies).toEqual([expect.objectContaining({ Principal: { AWS: "*" }, Action: "sqs:*", Condition: { Bool: { "aws:SecureTransport": "false" } } })]);
  });
});

describe("the interruption function", () => {
  it("runs nodejs22.x, ESM, with reserved concurrency, its configuration and partial batch responses", () => {
    const template = dev.template("Interruptions");
    template.hasResourceProperties("AWS::Lambda::Function", {
      FunctionName: "spot-manager-dev-interruption",
      Runtime: "nodejs22.x",
      Handler: "functions/interruption.handler",
      ReservedConcurrentExecutions: 10,
      MemorySize: 512,
      Environment: {
        Variables: Match.objectLike({
          CLUSTER_NAME: "spot-manager-dev",
          SPOT_MANAGER_POLICY: JSON.stringify(DEFAULT_POLICY),
          NOTIFICATION_TOPIC_ARN: Match.anyValue(),
          QUEUE_URL: Match.anyValue(),
          SCHEDULER_GROUP_NAME: "spot-manager-dev-follow-ups",
        }),
      },
    });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", { BatchSize: 10, FunctionResponseTypes: ["ReportBatchItemFailures"], ScalingConfig: { MaximumConcurrency: 10 } });
  });

  it("is allowed exactly what it does, with no wildcard actions and resources scoped where AWS allows", () => {
    const ours = statements(dev.template("Interruptions")).filter((s) => s.Sid !== undefined || JSON.stringify(s.Action).includes("sns:Publish") || JSON.stringify(s.Action).includes("kms:"));
    const actions = ours.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
    expect(actions).toEqual(
      [
        "autoscaling:CompleteLifecycleAction",
        "autoscaling:RecordLifecycleActionHeartbeat",
        "ec2:DescribeInstances",
        "eks:DescribeCluster",
        "iam:PassRole",
        "kms:Decrypt",
        "kms:GenerateDataKey*",
        "scheduler:CreateSchedule",
        "sns:Publish",
        "sqs:ChangeMessageVisibility",
        "sqs:SendMessage",
      ].sort(),
    );
    for (const s of statements(dev.template("Interruptions"))) {
      for (const action of Array.isArray(s.Action) ? s.Action : [s.Action]) expect(action, JSON.stringify(s)).not.toMatch(/^\*$|:\*$/);
    }
    const bySid = Object.fromEntries(ours.filter((s) => s.Sid).map((s) => [s.Sid, s]));
    expect(bySid["DescribeInstances"]?.Resource).toBe("*");
    expect(bySid["LifecycleActionsOfThisCluster"]?.Condition).toEqual({ StringEquals: { "aws:ResourceTag/kubernetes.io/cluster/spot-manager-dev": "owned" } });
    expect(rendered(bySid["DescribeCluster"]?.Resource)).toBe("arn:aws:eks:us-west-2:123456789012:cluster/spot-manager-dev");
    expect(rendered(bySid["FollowUpsViaScheduler"]?.Resource)).toBe("arn:aws:scheduler:us-west-2:123456789012:schedule/spot-manager-dev-follow-ups/*");
    expect(bySid["PassSchedulerRole"]?.Condition).toEqual({ StringEquals: { "iam:PassedToService": "scheduler.amazonaws.com" } });
  });

  it("gets an EKS access entry in the spot-manager group, bound to the least-privilege ClusterRole", () => {
    const template = dev.template("Interruptions");
    template.hasResourceProperties("AWS::EKS::AccessEntry", {
      ClusterName: "spot-manager-dev",
      Type: "STANDARD",
      KubernetesGroups: ["spot-manager"],
      PrincipalArn: { "Fn::GetAtt": [Match.stringLikeRegexp("^InterruptionFunctionServiceRole"), "Arn"] },
    });
    const manifests = template.findResources("Custom::AWSCDK-EKS-KubernetesResource");
    const [manifest] = Object.values(manifests) as { Properties: { Manifest: string } }[];
    const objects = JSON.parse(manifest!.Properties.Manifest) as { kind: string; rules?: unknown; subjects?: unknown; roleRef?: unknown }[];
    expect(objects.find((o) => o.kind === "ClusterRole")?.rules).toEqual(CLUSTER_ROLE_RULES);
    expect(objects.find((o) => o.kind === "ClusterRoleBinding")).toMatchObject({ roleRef: { kind: "ClusterRole", name: "spot-manager" }, subjects: [{ kind: "Group", name: "spot-manager" }] });
    expect(JSON.stringify(objects)).not.toContain("cluster-admin");
  });
});

describe("cdk-nag", () => {
  it("finds no AwsSolutions error in the dev stage, and every suppression carries a reason", () => {
    expect(dev.errors).toEqual([]);
    for (const s of dev.stacks) {
      const resources = (s.template.toJSON()["Resources"] ?? {}) as Record<string, { Metadata?: { cdk_nag?: { rules_to_suppress: { id: string; reason: string }[] } } }>;
      for (const resource of Object.values(resources)) {
        for (const rule of resource.Metadata?.cdk_nag?.rules_to_suppress ?? []) expect(rule.reason.length, `${rule.id} in ${s.name}`).toBeGreaterThan(20);
      }
    }
  });
});
