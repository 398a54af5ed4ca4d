import { describe, expect, it } from "vitest";
import { sdkEnumValues } from "../src/contract";
import { loadServiceModel, serviceEntry, type ServiceEntry, type ServiceModel } from "../src/models";
import { validateInput } from "../src/validate";

const entry = (serviceId: string) => serviceEntry(serviceId) as ServiceEntry;
const model = (serviceId: string) => loadServiceModel(entry(serviceId));
const check = (serviceId: string, operation: string, input: unknown) =>
  validateInput(model(serviceId), operation, input, { newerEnumValues: (shape) => sdkEnumValues(entry(serviceId), shape) });
const rules = (violations: ReturnType<typeof check>) => violations.map((v) => `${v.rule} ${v.path}`);

const schedule = (overrides: Record<string, unknown> = {}) => ({
  Name: "spot-manager-follow-up",
  ScheduleExpression: "at(2024-05-14T10:00:00)",
  FlexibleTimeWindow: { Mode: "OFF" },
  Target: { Arn: "arn:aws:sqs:us-west-2:123456789012:queue", RoleArn: "arn:aws:iam::123456789012:role/scheduler" },
  ...overrides,
});

describe("a request held to its operation's input shape", () => {
  it("accepts a request that keeps every rule, and an idempotency token the SDK fills itself", () => {
    expect(check("Scheduler", "CreateSchedule", schedule())).toEqual([]);
  });

  it("a missing required member, top level and nested: 'Member must not be null' at its path", () => {
    const violations = check("Scheduler", "CreateSchedule", schedule({ ScheduleExpression: undefined, Target: { Arn: "arn:aws:sqs:us-west-2:123456789012:queue" } }));
    expect(rules(violations)).toEqual(["required ScheduleExpression", "required Target.RoleArn"]);
    expect(violations[1]?.message).toBe("Value null at 'Target.RoleArn' failed to satisfy constraint: Member must not be null");
  });

  it("a string too long or too short, counted in code points", () => {
    const long = check("Scheduler", "CreateSchedule", schedule({ Name: "n".repeat(65) }));
    expect(long.map((v) => v.message)).toEqual([`Value '${"n".repeat(65)}' at 'Name' failed to satisfy constraint: Member must have length less than or equal to 64`]);
    expect(rules(check("Scheduler", "CreateSchedule", schedule({ Name: "" })))).toEqual(["length Name", "pattern Name"]);
    expect(check("Scheduler", "CreateSchedule", schedule({ Description: "😀".repeat(512) }))).toEqual([]);
  });

  it("a pattern mismatch names the model's pattern", () => {
    const [violation] = check("Scheduler", "CreateSchedule", schedule({ Name: "follow up/1" }));
    expect(violation).toMatchObject({ rule: "pattern", path: "Name", value: "follow up/1" });
    expect(violation?.constraint).toBe("Member must satisfy regular expression pattern: ^[0-9a-zA-Z-_.]+$");
  });

  it("a number below the minimum or above the maximum", () => {
    const below = check("Scheduler", "CreateSchedule", schedule({ FlexibleTimeWindow: { Mode: "FLEXIBLE", MaximumWindowInMinutes: 0 } }));
    expect(below.map((v) => v.message)).toEqual(["Value '0' at 'FlexibleTimeWindow.MaximumWindowInMinutes' failed to satisfy constraint: Member must have value greater than or equal to 1"]);
    const above = check("Scheduler", "CreateSchedule", schedule({ Target: { ...schedule().Target, RetryPolicy: { MaximumRetryAttempts: 186 } } }));
    expect(above.map((v) => `${v.path}: ${v.constraint}`)).toEqual(["Target.RetryPolicy.MaximumRetryAttempts: Member must have value less than or equal to 185"]);
  });

  it("a value not in the enum lists the values the model allows", () => {
    const [violation] = check("Scheduler", "CreateSchedule", schedule({ FlexibleTimeWindow: { Mode: "SOMETIMES" } }));
    expect(violation?.message).toBe("Value 'SOMETIMES' at 'FlexibleTimeWindow.Mode' failed to satisfy constraint: Member must satisfy enum value set: [OFF, FLEXIBLE]");
  });

  it("an enum value newer than the model is accepted when the SDK's own enum lists it; an unknown one is not", () => {
    // As the 2022 models know it: AMI types before AL2023.
    const eks = model("EKS");
    const older: ServiceModel = { ...eks, shapes: { ...eks.shapes, AMITypes: { type: "string", enum: ["AL2_x86_64", "AL2_ARM_64", "CUSTOM"] } } };
    const nodegroup = { clusterName: "c", nodegroupName: "spot", subnets: ["subnet-1"], nodeRole: "arn:aws:iam::123456789012:role/node" };
    const olderCheck = (input: unknown) => validateInput(older, "CreateNodegroup", input, { newerEnumValues: (shape) => sdkEnumValues(entry("EKS"), shape) });
    expect(olderCheck({ ...nodegroup, amiType: "AL2023_x86_64_STANDARD" })).toEqual([]);
    expect(rules(olderCheck({ ...nodegroup, amiType: "AL2099_x86_64" }))).toEqual(["enum amiType"]);
  });

  it("a member the model does not know (newer than the model) passes unchecked", () => {
    // As the 2022 models know it: CreateSchedule before ActionAfterCompletion.
    const scheduler = model("Scheduler");
    const input = scheduler.shapes["CreateScheduleInput"] as NonNullable<ServiceModel["shapes"][string]>;
    const { ActionAfterCompletion: _newer, ...members } = input.members ?? {};
    const older: ServiceModel = { ...scheduler, shapes: { ...scheduler.shapes, CreateScheduleInput: { ...input, members } } };
    expect(validateInput(older, "CreateSchedule", schedule({ ActionAfterCompletion: "DELETE" }))).toEqual([]);
  });

  it("a list too short or too long, and a map of the wrong size, with its keys checked", () => {
    expect(rules(check("EKS", "UntagResource", { resourceArn: "arn", tagKeys: [] }))).toEqual(["size tagKeys"]);
    const tooMany = Array.from({ length: 51 }, (_, i) => `key-${i}`);
    expect(check("EKS", "UntagResource", { resourceArn: "arn", tagKeys: tooMany }).map((v) => v.constraint)).toEqual(["Member must have length less than or equal to 50"]);
    expect(rules(check("EKS", "TagResource", { resourceArn: "arn", tags: {} }))).toEqual(["size tags"]);
    expect(rules(check("EKS", "TagResource", { resourceArn: "arn", tags: { ["k".repeat(129)]: "v" } }))).toEqual([`length tags["${"k".repeat(129)}"] (key)`]);
  });

  it("reports the full path of a rule broken deep inside lists and structures", () => {
    const query = (dimensions: unknown[]) => ({
      StartTime: new Date(0),
      EndTime: new Date(60_000),
      MetricDataQueries: [
        { Id: "ok", Expression: "SUM(METRICS())" },
        { Id: "m1", MetricStat: { Metric: { Namespace: "AWS/AutoScaling", MetricName: "GroupInServiceInstances", Dimensions: dimensions }, Period: 60, Stat: "Average" } },
      ],
    });
    const violations = check("CloudWatch", "GetMetricData", query([{ Name: "AutoScalingGroupName", Value: "asg" }, { Name: "", Value: "x" }]));
    expect(rules(violations)).toEqual(["length MetricDataQueries[1].MetricStat.Metric.Dimensions[1].Name"]);
    expect(rules(check("CloudWatch", "GetMetricData", query([{ Name: "AutoScalingGroupName" }])))).toEqual(["required MetricDataQueries[1].MetricStat.Metric.Dimensions[0].Value"]);
  });

  it("a value of the wrong type is refused, and null list entries are left out as the SDK does", () => {
    expect(rules(check("Scheduler", "CreateSchedule", schedule({ FlexibleTimeWindow: { Mode: "FLEXIBLE", MaximumWindowInMinutes: "15" } })))).toEqual(["type FlexibleTimeWindow.MaximumWindowInMinutes"]);
    expect(rules(check("Scheduler", "CreateSchedule", schedule({ StartDate: new Date("not a date") })))).toEqual(["type StartDate"]);
    expect(rules(check("EKS", "UntagResource", { resourceArn: "arn", tagKeys: [null, "team"] }))).toEqual([]);
  });

  it("never shows a sensitive value in the message", () => {
    const [violation] = check("Secrets Manager", "PutSecretValue", { SecretId: "webhook", SecretString: "s".repeat(65_537) });
    expect(violation).toMatchObject({ rule: "length", path: "SecretString", sensitive: true });
    expect(violation?.message).toBe("Value (sensitive, not shown) at 'SecretString' failed to satisfy constraint: Member must have length less than or equal to 65536");
  });

  it("a union with other than exactly one member set", () => {
    const unionModel: ServiceModel = {
      metadata: { apiVersion: "2024-01-01", protocol: "json", serviceId: "Example" },
      operations: { Put: { name: "Put", input: { shape: "PutInput" } } },
      shapes: {
        PutInput: { type: "structure", required: ["Value"], members: { Value: { shape: "Choice" } } },
        Choice: { type: "structure", union: true, members: { Text: { shape: "Text" }, Number: { shape: "Number" } } },
        Text: { type: "string" },
        Number: { type: "integer" },
      },
    };
    expect(validateInput(unionModel, "Put", { Value: { Text: "a" } })).toEqual([]);
    expect(validateInput(unionModel, "Put", { Value: { Text: "a", Number: 1 } }).map((v) => `${v.rule} ${v.path}`)).toEqual(["union Value"]);
    expect(validateInput(unionModel, "Put", { Value: {} }).map((v) => v.constraint)).toEqual(["Member must have exactly one of [Text, Number] set, found 0"]);
  });
});
