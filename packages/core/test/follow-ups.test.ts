import { CreateScheduleCommand, SchedulerClient } from "@aws-sdk/client-scheduler";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { AwsContractError, mockClient, takeContractFailures } from "@spot-manager/aws-fakes";
import fc from "fast-check";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { QueueFollowUps } from "../src/aws/follow-ups";
import { MalformedEventError, PermanentError } from "../src/errors";
import { followUpEnvelope, parseFollowUp } from "../src/events/follow-up";
import type { FollowUp } from "../src/events/types";

const CREDENTIALS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const NOW = Date.parse("2024-05-14T09:30:20Z");
const QUEUE_URL = "https://sqs.us-west-2.amazonaws.com/123456789012/spot-manager-interruptions";
const SCHEDULER = {
  queueArn: "arn:aws:sqs:us-west-2:123456789012:spot-manager-interruptions",
  roleArn: "arn:aws:iam::123456789012:role/spot-manager-scheduler",
  groupName: "spot-manager",
};

const sqs = new SQSClient({ region: "us-west-2", credentials: CREDENTIALS });
const schedulerClient = new SchedulerClient({ region: "us-west-2", credentials: CREDENTIALS });
const sqsStub = mockClient(sqs);
const schedulerStub = mockClient(schedulerClient);
afterAll(() => {
  sqsStub.restore();
  schedulerStub.restore();
});

beforeEach(() => {
  sqsStub.reset();
  schedulerStub.reset();
  sqsStub.on(SendMessageCommand).resolves({ MessageId: "m-1" });
  schedulerStub.on(CreateScheduleCommand).callsFake((input: { Name?: string }) => ({ ScheduleArn: `arn:aws:scheduler:us-west-2:123456789012:schedule/spot-manager/${input.Name}` }));
});

/** A maintenance drain due `hours` from now, for an event with the given ids. */
function maintenanceFollowUp(hours: number, eventId = "7bf73129-1428-4cd3-a780-95db273d1602", instanceId = "i-1234567890abcdef0"): FollowUp {
  return {
    action: "drain-for-maintenance",
    attempt: 1,
    due: new Date(NOW + hours * 3_600_000),
    event: {
      kind: "scheduled-change",
      eventId,
      instanceId,
      time: new Date(NOW),
      region: "us-west-2",
      account: "123456789012",
      source: "aws.health",
      detailType: "AWS Health Event",
    },
  };
}

const followUps = (scheduler: Partial<typeof SCHEDULER> = {}) =>
  new QueueFollowUps(sqs, { queueUrl: QUEUE_URL, now: () => NOW, scheduler: { client: schedulerClient, ...SCHEDULER, ...scheduler } });

describe("follow-ups sent to AWS keep its contracts", () => {
  it("a follow-up beyond 15 minutes becomes a one-time schedule whose name fits Scheduler's 64 characters", async () => {
    // Prepare: the longest ids an event brings make a 78-character raw name.
    const followUp = maintenanceFollowUp(23, "7bf73129-1428-4cd3-a780-95db273d1602", "i-0123456789abcdef0");

    // Act
    const result = await followUps().schedule(followUp);

    // Assess
    expect(result.via).toBe("scheduler");
    expect(result.scheduleName).toHaveLength(64);
    expect(schedulerStub).toReceiveCommandWith(CreateScheduleCommand, { Name: result.scheduleName, GroupName: "spot-manager", ActionAfterCompletion: "DELETE" });
    expect(takeContractFailures()).toEqual([]);
  });

  it("whatever the event and instance ids, the schedule AWS is asked for keeps Scheduler's contract", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 120, unit: "binary" }), fc.stringMatching(/^i-[0-9a-f]{8,17}$/), async (eventId, instanceId) => {
        await followUps().schedule(maintenanceFollowUp(2, eventId, instanceId));
        expect(takeContractFailures()).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  it("a schedule group name of 65 characters is refused as Scheduler refuses it, and the check records it", async () => {
    // Prepare: a deliberately broken configuration; the real scheduling code sends what it is given.
    const broken = followUps({ groupName: "g".repeat(65) });

    // Act
    const error = await broken.schedule(maintenanceFollowUp(5)).catch((e: unknown) => e);

    // Assess: the product sees AWS's answer (a validation error: permanent, so the record goes to the DLQ) ...
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).code).toBe("ValidationException");
    const cause = (error as PermanentError).cause;
    expect(cause).toBeInstanceOf(AwsContractError);
    expect((cause as AwsContractError).message).toBe(
      `Scheduler CreateSchedule: 1 validation error detected: Value '${"g".repeat(65)}' at 'GroupName' failed to satisfy constraint: Member must have length less than or equal to 64`,
    );
    // ... the fake never created the schedule, and the test suite would fail on it (here, taken on purpose).
    expect(schedulerStub.commandCalls(CreateScheduleCommand)).toHaveLength(0);
    expect(takeContractFailures().flatMap((f) => f.violations.map((v) => `${f.service} ${f.operation} ${v.rule} ${v.path}`))).toEqual(["Scheduler CreateSchedule length GroupName"]);
  });

  it("a scheduler role that is not an IAM role ARN breaks the pattern AWS holds RoleArn to", async () => {
    const error = await followUps({ roleArn: "spot-manager-scheduler" })
      .schedule(maintenanceFollowUp(5))
      .catch((e: unknown) => e);

    expect((error as PermanentError).cause).toMatchObject({ name: "ValidationException", violations: [{ path: "Target.RoleArn", rule: "pattern", value: "spot-manager-scheduler" }] });
    expect(takeContractFailures()).toHaveLength(1);
  });

  it("a follow-up due within 15 minutes goes to the queue with its delay", async () => {
    const result = await followUps().schedule(maintenanceFollowUp(0.25));

    expect(result).toEqual({ via: "queue", delaySeconds: 900 });
    expect(sqsStub).toReceiveCommandWith(SendMessageCommand, { QueueUrl: QUEUE_URL, DelaySeconds: 900 });
  });
});

describe("a follow-up read back from the queue", () => {
  const lifecycleFollowUp = (hookName: string): FollowUp => ({
    action: "continue-drain",
    attempt: 1,
    due: new Date(NOW),
    event: {
      kind: "asg-terminate",
      eventId: "c1d35b2c-5c26-4a56-8a33-0a2a8a3fb0a1",
      instanceId: "i-1234567890abcdef0",
      time: new Date(NOW),
      region: "us-west-2",
      account: "123456789012",
      source: "aws.autoscaling",
      detailType: "EC2 Instance-terminate Lifecycle Action",
      lifecycle: { hookName, asgName: "spot-workers", token: "87654321-4321-4321-4321-210987654321", transition: "autoscaling:EC2_INSTANCE_TERMINATING" },
    },
  });

  it("round-trips a lifecycle continuation through its envelope", () => {
    const followUp = lifecycleFollowUp("spot-manager-drain");
    const envelope = JSON.parse(JSON.stringify(followUpEnvelope(followUp, new Date(NOW)))) as { id: string; detail: unknown };
    expect(parseFollowUp(envelope.detail, envelope.id)).toEqual(followUp);
  });

  it("refuses a lifecycle hook name Auto Scaling would never accept, naming the field, before anything is completed with it", () => {
    const envelope = JSON.parse(JSON.stringify(followUpEnvelope(lifecycleFollowUp("Tue, 28 May 2024 09:00:00 GMT"), new Date(NOW)))) as { id: string; detail: unknown };
    expect(() => parseFollowUp(envelope.detail, envelope.id)).toThrow(MalformedEventError);
    expect(() => parseFollowUp(envelope.detail, envelope.id)).toThrow(/detail\.event\.lifecycle\.hookName/);
  });
});
