import { afterEach, describe, expect, it, vi } from "vitest";
import { readInterruptionConfig } from "../../functions/lib/env";
import { createLogger, EmfMetrics } from "../../functions/lib/powertools";
import { handler, queueUrlOf } from "../../functions/interruption";

const ENV = {
  CLUSTER_NAME: "prod-eks",
  AWS_REGION: "us-west-2",
  QUEUE_URL: "https://sqs.us-west-2.amazonaws.com/123456789012/q",
  QUEUE_ARN: "arn:aws:sqs:us-west-2:123456789012:q",
  SCHEDULER_ROLE_ARN: "arn:aws:iam::123456789012:role/s",
  SCHEDULER_GROUP_NAME: "spot-manager",
  NOTIFICATION_TOPIC_ARN: "arn:aws:sns:us-west-2:123456789012:t",
  SPOT_MANAGER_POLICY: JSON.stringify({ taintStyle: "nth", spotInterruption: { drainPolicy: { atDeadline: "delete" } } }),
};

afterEach(() => vi.restoreAllMocks());

describe("interruption function configuration", () => {
  it("reads the environment once into a typed config with the policy's defaults filled in", () => {
    const config = readInterruptionConfig(ENV);
    expect(config).toMatchObject({
      clusterName: "prod-eks",
      region: "us-west-2",
      topicArn: ENV.NOTIFICATION_TOPIC_ARN,
      queueUrl: ENV.QUEUE_URL,
      scheduler: { queueArn: ENV.QUEUE_ARN, roleArn: ENV.SCHEDULER_ROLE_ARN, groupName: "spot-manager" },
      policy: { taintStyle: "nth", spotInterruption: { drainPolicy: { atDeadline: "delete", parallelism: 32 } }, rebalanceRecommendation: { removeTaintAfterSeconds: 900 } },
    });
  });

  it("names the missing or bad variable", () => {
    expect(() => readInterruptionConfig({ ...ENV, CLUSTER_NAME: undefined })).toThrowError(/invalid environment: CLUSTER_NAME/);
    expect(() => readInterruptionConfig({ ...ENV, QUEUE_URL: "not a url" })).toThrowError(/QUEUE_URL/);
    expect(() => readInterruptionConfig({ ...ENV, SPOT_MANAGER_POLICY: "{" })).toThrowError(/SPOT_MANAGER_POLICY is not JSON/);
    expect(() => readInterruptionConfig({ ...ENV, SPOT_MANAGER_POLICY: JSON.stringify({ spotInterruption: { safetyMarginSeconds: 500 } }) })).toThrowError(
      /SPOT_MANAGER_POLICY\.spotInterruption\.safetyMarginSeconds: Too big: expected number to be <=110 \(got 500\)/,
    );
  });

  it("the deployed handler fails its invocation with the configuration error, and builds again next time", async () => {
    vi.stubEnv("CLUSTER_NAME", "");
    const context = { getRemainingTimeInMillis: () => 60_000, awsRequestId: "r-1" };
    await expect(handler({}, context)).rejects.toThrowError(/CLUSTER_NAME/);
    await expect(handler({}, context)).rejects.toThrowError(/CLUSTER_NAME/);
    vi.unstubAllEnvs();
  });

  it("derives the queue URL from a record's eventSourceARN", () => {
    expect(queueUrlOf("arn:aws:sqs:us-west-2:123456789012:spot-manager-interruptions")).toBe("https://sqs.us-west-2.amazonaws.com/123456789012/spot-manager-interruptions");
    expect(queueUrlOf("arn:aws-cn:sqs:cn-north-1:123456789012:q")).toBe("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q");
    expect(queueUrlOf("nonsense")).toBeUndefined();
  });
});

describe("Powertools behind the ports", () => {
  it("writes EMF documents: plain points together, dimensioned points on their own", () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (lines.push(String(chunk)), true));
    const metrics = new EmfMetrics("spot-manager-interruption", { cluster: "prod-eks" });
    metrics.add("EventsReceived", "Count", 1, { kind: "spot-interruption" });
    metrics.add("DrainSeconds", "Seconds", 3.5);
    metrics.flush();
    const documents = lines
      .flatMap((l) => l.split("\n"))
      .filter((l) => l.includes("_aws"))
      .map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] } });
    const byMetric = (name: string) => documents.find((d) => d._aws.CloudWatchMetrics[0]?.Metrics.some((m) => m.Name === name));
    expect(byMetric("EventsReceived")).toMatchObject({ kind: "spot-interruption", cluster: "prod-eks", EventsReceived: 1 });
    expect(byMetric("EventsReceived")?._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: "SpotManager", Metrics: [{ Name: "EventsReceived", Unit: "Count" }] });
    expect(byMetric("EventsReceived")?._aws.CloudWatchMetrics[0]?.Dimensions[0]).toEqual(expect.arrayContaining(["kind", "cluster"]));
    expect(byMetric("DrainSeconds")).toMatchObject({ DrainSeconds: 3.5, cluster: "prod-eks" });
  });

  it("logs JSON lines with the fields passed", () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (lines.push(String(chunk)), true));
    vi.spyOn(console, "info").mockImplementation((line: unknown) => void lines.push(String(line)));
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
    createLogger("spot-manager-interruption").info("drain finished", { eventId: "e-1", instanceId: "i-1", node: "n-1" });
    const line = JSON.parse(lines.join("").trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
    expect(line).toMatchObject({ level: "INFO", message: "drain finished", service: "spot-manager-interruption", eventId: "e-1", instanceId: "i-1", node: "n-1" });
  });
});
