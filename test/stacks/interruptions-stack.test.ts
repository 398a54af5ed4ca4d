import { Match } from "aws-cdk-lib/assertions";
import { CLUSTER_ROLE_RULES, DEFAULT_POLICY, HANDLED_SIGNALS, parseCapacityPolicy } from "@spot-manager/core";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_STAGE_LENGTH, resourceNames, SIGNAL_RULE_SUFFIXES } from "../../stacks/names";
import { SIGNAL_RULES } from "../../stacks/rules";
import { fixture, type FixtureName } from "../fixtures";
import { matchesPattern } from "./event-pattern";
import { rendered, statements } from "./synth";
import { synthVariant, type SynthesizedVariant } from "./variants";

let dev: SynthesizedVariant;
beforeAll(async () => {
  dev = await synthVariant("dev");
}, 420_000);

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

  it("the template carries exactly these patterns, each targeting the interruption queue with retries, then the undelivered-events queue", () => {
    const template = dev.template("Interruptions");
    for (const rule of SIGNAL_RULES) {
      template.hasResourceProperties("AWS::Events::Rule", {
        Name: `spot-manager-dev-${SIGNAL_RULE_SUFFIXES[rule.id]}`,
        EventPattern: rule.pattern,
        State: "ENABLED",
        Targets: [
          Match.objectLike({
            Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("^InterruptionQueue"), "Arn"] },
            DeadLetterConfig: { Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("^UndeliveredEvents"), "Arn"] } },
            RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: rule.id === "HealthScheduledChange" ? 86_400 : 3600 },
          }),
        ],
      });
    }
    template.resourceCountIs("AWS::Events::Rule", SIGNAL_RULES.length);
  });

  it("names every rule within EventBridge's 64 characters, even for the longest stage name", () => {
    const names = SIGNAL_RULES.map((r) => resourceNames("a".repeat(MAX_STAGE_LENGTH)).signalRule(r.id));
    for (const name of names) expect(name.length).toBeLessThanOrEqual(64);
    expect(new Set(names).size).toBe(SIGNAL_RULES.length);
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
    // the DLQ is data (kept in prod): its name is CloudFormation's, so a redeploy after a removal never collides with it
    const [dlq] = Object.values(template.findResources("AWS::SQS::Queue", { Properties: { RedrivePolicy: Match.absent(), MessageRetentionPeriod: 14 * 24 * 3600 } })) as { Properties: Record<string, unknown> }[];
    expect(dlq?.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    expect(dlq?.Properties).not.toHaveProperty("QueueName");
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
  it("runs nodejs24.x, ESM, without reserved concurrency, with its configuration and partial batch responses", () => {
    const template = dev.template("Interruptions");
    template.hasResourceProperties("AWS::Lambda::Function", {
      FunctionName: "spot-manager-dev-interruption",
      Runtime: "nodejs24.x",
      Handler: "functions/interruption.handler",
      ReservedConcurrentExecutions: Match.absent(),
      VpcConfig: Match.absent(),
      MemorySize: 512,
      Environment: {
        Variables: Match.objectLike({
          CLUSTER_NAME: "spot-manager-dev",
          SPOT_MANAGER_POLICY: JSON.stringify(DEFAULT_POLICY),
          NOTIFICATION_TOPIC_ARN: Match.anyValue(),
          QUEUE_URL: Match.anyValue(),
          DEAD_LETTER_QUEUE_URL: { Ref: Match.stringLikeRegexp("^InterruptionDlq") },
          SCHEDULER_GROUP_NAME: "spot-manager-dev-follow-ups",
        }),
      },
    });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", { BatchSize: 10, FunctionResponseTypes: ["ReportBatchItemFailures"], ScalingConfig: { MaximumConcurrency: 10 } });
    // its log group: this stage's retention, removed with the stage
    template.hasResourceProperties("Custom::LogRetention", { LogGroupName: "/aws/lambda/spot-manager-dev-interruption", RetentionInDays: 30, RemovalPolicy: "destroy" });
  });

  it("is allowed exactly what it does, with no wildcard actions and resources scoped where AWS allows", () => {
    const ours = statements(dev.template("Interruptions")).filter((s) => s.Sid !== undefined || JSON.stringify(s.Action).includes("sns:Publish") || JSON.stringify(s.Action).includes("kms:"));
    const actions = ours.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
    expect(actions).toEqual(
      [
        "autoscaling:CompleteLifecycleAction",
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeScalingActivities",
        "autoscaling:DetachInstances",
        "autoscaling:RecordLifecycleActionHeartbeat",
        "autoscaling:SetDesiredCapacity",
        "ec2:DescribeInstances",
        "ec2:TerminateInstances",
        "ec2:TerminateInstances",
        "eks:DescribeCluster",
        "eks:DescribeNodegroup",
        "events:PutEvents",
        "iam:PassRole",
        "kms:Decrypt",
        "kms:GenerateDataKey*",
        "scheduler:CreateSchedule",
        "sns:Publish",
        "sqs:ChangeMessageVisibility",
        "sqs:SendMessage",
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
    // the DLQ only for records a dependency refused for good, sent there at once
    expect(bySid["PermanentFailuresToDlq"]?.Resource).toEqual({ "Fn::GetAtt": [expect.stringMatching(/^InterruptionDlq/), "Arn"] });
    // replacement at the warning: reads where AWS has no resource scope; changes only on this cluster's groups, as cluster-autoscaler's
    expect(bySid["DescribeGroups"]?.Resource).toBe("*");
    expect(rendered(bySid["ReplacementInThisClustersGroups"]?.Resource)).toBe("arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:*:autoScalingGroupName/*");
    expect(bySid["ReplacementInThisClustersGroups"]?.Condition).toEqual({ StringEquals: { "aws:ResourceTag/k8s.io/cluster-autoscaler/spot-manager-dev": "owned" } });
    expect(rendered(bySid["DescribeNodeGroups"]?.Resource)).toBe("arn:aws:eks:us-west-2:123456789012:nodegroup/spot-manager-dev/*/*");
    // a detached instance EC2 never reclaimed: only this cluster's instances
    expect(rendered(bySid["EndUnreclaimedDetachedInstances"]?.Resource)).toBe("arn:aws:ec2:us-west-2:123456789012:instance/*");
    expect(bySid["EndUnreclaimedDetachedInstances"]?.Condition).toEqual({ StringEquals: { "aws:ResourceTag/eks:cluster-name": "spot-manager-dev" } });
    expect(bySid["EndUnreclaimedDetachedClusterInstances"]?.Condition).toEqual({ StringEquals: { "aws:ResourceTag/kubernetes.io/cluster/spot-manager-dev": "owned" } });
  });

  it("gets the capacity policy's fallback rules, the part replacement at the warning reads", () => {
    const functions = dev.template("Interruptions").findResources("AWS::Lambda::Function", { Properties: { FunctionName: "spot-manager-dev-interruption" } });
    const [fn] = Object.values(functions) as { Properties: { Environment: { Variables: Record<string, string> } } }[];
    const policy = parseCapacityPolicy(JSON.parse(fn!.Properties.Environment.Variables["CAPACITY_POLICY"]!));
    expect(Object.keys(policy.groups).sort()).toEqual(["base-on-demand", "spot-general"]);
    expect(policy.fallbacks).toEqual([expect.objectContaining({ onDemandGroup: "base-on-demand", spotGroups: ["spot-general"] })]);
    // Lambda holds at most 4 KB of environment
    expect(JSON.stringify(fn!.Properties.Environment.Variables).length).toBeLessThan(4096);
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

describe("alarms (every stage, dev included)", () => {
  it("the DLQ, waiting events, undelivered events and failed rule invocations notify the topic", () => {
    const template = dev.template("Interruptions");
    const topic = { "Fn::ImportValue": Match.stringLikeRegexp("Notifications") };
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "spot-manager-dev-interruptions-dlq-not-empty",
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [Match.stringLikeRegexp("^InterruptionDlq"), "QueueName"] } }],
      Threshold: 1,
      AlarmActions: [topic],
    });
    // the oldest message counts only while events wait: a drain in flight or a delayed follow-up is not a backlog
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "spot-manager-dev-interruptions-waiting",
      Threshold: 60,
      ComparisonOperator: "GreaterThanThreshold",
      EvaluationPeriods: 2,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: "IF(visible > 0, age, 0)", ReturnData: true }),
        Match.objectLike({ Id: "age", MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: "ApproximateAgeOfOldestMessage" }), Stat: "Maximum", Period: 60 }), ReturnData: false }),
        Match.objectLike({ Id: "visible", MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: "ApproximateNumberOfMessagesVisible" }) }), ReturnData: false }),
      ]),
      AlarmActions: [topic],
    });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmName: "spot-manager-dev-interruptions-undelivered-events", MetricName: "ApproximateNumberOfMessagesVisible", AlarmActions: [topic] });
    const [failed] = Object.values(template.findResources("AWS::CloudWatch::Alarm", { Properties: { AlarmName: "spot-manager-dev-interruptions-rule-failed-invocations" } })) as { Properties: { Metrics: { MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string; Value: unknown }[] } } }[] } }[];
    const watched = failed!.Properties.Metrics.filter((m) => m.MetricStat).map((m) => m.MetricStat!.Metric);
    expect(watched.map((m) => m.MetricName)).toEqual(SIGNAL_RULES.map(() => "FailedInvocations"));
    expect(watched.map((m) => m.Dimensions[0]?.Value).sort()).toEqual(SIGNAL_RULES.map((r) => ({ Ref: expect.stringMatching(new RegExp(`^${r.id}`)) })).sort());
    template.hasResourceProperties("AWS::CloudWatch::Alarm", { AlarmName: "spot-manager-dev-interruption-errors", MetricName: "Errors" });
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: "spot-manager-dev-interruption-deadline-misses",
      Namespace: "SpotManager",
      MetricName: "DeadlineMisses",
      Dimensions: Match.arrayWith([{ Name: "cluster", Value: "spot-manager-dev" }, { Name: "service", Value: "spot-manager-interruption" }]),
    });
    // alarms watch exact metrics: CloudWatch does not alarm on SEARCH expressions
    for (const alarm of Object.values(template.findResources("AWS::CloudWatch::Alarm"))) expect(JSON.stringify(alarm)).not.toContain("SEARCH(");
  });
});

describe("a private API endpoint", () => {
  let privateStage: SynthesizedVariant;
  beforeAll(async () => {
    privateStage = await synthVariant("private");
  }, 420_000);

  it("runs the function in the cluster's private subnets, in the security group the cluster admits on 443", () => {
    const fn = Object.values(privateStage.template("Interruptions").findResources("AWS::Lambda::Function", { Properties: { FunctionName: "spot-manager-private-interruption" } }))[0] as {
      Properties: { VpcConfig: { SubnetIds: { "Fn::ImportValue": string }[]; SecurityGroupIds: { "Fn::ImportValue": string }[] } };
    };
    expect(fn.Properties.VpcConfig.SubnetIds).toHaveLength(3);
    for (const subnet of fn.Properties.VpcConfig.SubnetIds) expect(subnet["Fn::ImportValue"]).toMatch(/VpcprivateSubnet\d/);
    expect(fn.Properties.VpcConfig.SecurityGroupIds).toEqual([{ "Fn::ImportValue": expect.stringMatching(/KubernetesClients/) }]);
    const cluster = privateStage.template("Cluster");
    cluster.hasResourceProperties("AWS::EC2::SecurityGroupIngress", {
      IpProtocol: "tcp",
      FromPort: 443,
      ToPort: 443,
      GroupId: { "Fn::GetAtt": [Match.stringLikeRegexp("^Eks"), "ClusterSecurityGroupId"] },
      SourceSecurityGroupId: { "Fn::GetAtt": [Match.stringLikeRegexp("^KubernetesClients"), "GroupId"] },
    });
    cluster.hasResourceProperties("Custom::AWSCDK-EKS-Cluster", { Config: Match.objectLike({ resourcesVpcConfig: Match.objectLike({ endpointPublicAccess: false, endpointPrivateAccess: true }) }) });
  });

  it("reaches the AWS APIs it calls through interface endpoints admitting only its security group", () => {
    const cluster = privateStage.template("Cluster");
    const endpoints = Object.values(cluster.findResources("AWS::EC2::VPCEndpoint")) as { Properties: { ServiceName: unknown; PrivateDnsEnabled: boolean; VpcEndpointType: string } }[];
    const services = endpoints.map((e) => JSON.stringify(e.Properties.ServiceName).match(/\.(ec2|autoscaling|eks|sqs|sns|scheduler|events)"/)?.[1]).sort();
    expect(services).toEqual(["autoscaling", "ec2", "eks", "events", "scheduler", "sns", "sqs"]);
    for (const e of endpoints) expect(e.Properties).toMatchObject({ PrivateDnsEnabled: true, VpcEndpointType: "Interface" });
    cluster.hasResourceProperties("AWS::EC2::SecurityGroupIngress", {
      FromPort: 443,
      GroupId: { "Fn::GetAtt": [Match.stringLikeRegexp("^AwsApiEndpoints"), "GroupId"] },
      SourceSecurityGroupId: { "Fn::GetAtt": [Match.stringLikeRegexp("^KubernetesClients"), "GroupId"] },
    });
    // only that group: no rule opens the endpoints to the VPC's CIDR
    const [endpointGroup] = Object.values(cluster.findResources("AWS::EC2::SecurityGroup", { Properties: { GroupDescription: Match.stringLikeRegexp("Interface endpoints") } })) as { Properties: Record<string, unknown> }[];
    expect(endpointGroup?.Properties["SecurityGroupIngress"]).toBeUndefined();
    const ingress = Object.values(cluster.findResources("AWS::EC2::SecurityGroupIngress", { Properties: { GroupId: { "Fn::GetAtt": [Match.stringLikeRegexp("^AwsApiEndpoints"), "GroupId"] } } }));
    expect(ingress).toHaveLength(1);
  });

  it("reserves concurrency only because the stage asks, and never delivers more batches than it reserved", () => {
    const template = privateStage.template("Interruptions");
    template.hasResourceProperties("AWS::Lambda::Function", { FunctionName: "spot-manager-private-interruption", ReservedConcurrentExecutions: 20 });
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", { ScalingConfig: { MaximumConcurrency: 10 } });
    const role = Object.keys(template.findResources("AWS::IAM::Role")).find((id) => id.startsWith("InterruptionFunctionServiceRole"));
    const suppressions = (template.toJSON()["Resources"] as Record<string, { Metadata?: { cdk_nag?: { rules_to_suppress: { id: string; applies_to?: string[] }[] } } }>)[role!]?.Metadata?.cdk_nag?.rules_to_suppress;
    expect(suppressions?.find((r) => r.id === "AwsSolutions-IAM4")?.applies_to).toEqual([
      "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
      "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
    ]);
  });
});
