import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateScheduleCommand, SchedulerClient, type CreateScheduleCommandInput } from "@aws-sdk/client-scheduler";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AwsContractError, assertNoContractFailures, mockClient, MODELS_ENV, takeContractFailures } from "../src";

const CREDENTIALS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const scheduler = () => new SchedulerClient({ region: "us-west-2", credentials: CREDENTIALS });

const schedule = (name: string): CreateScheduleCommandInput => ({
  Name: name,
  ScheduleExpression: "at(2024-05-14T10:00:00)",
  FlexibleTimeWindow: { Mode: "OFF" },
  Target: { Arn: "arn:aws:sqs:us-west-2:123456789012:queue", RoleArn: "arn:aws:iam::123456789012:role/scheduler" },
});

describe("mockClient held to AWS's contracts", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("answers a request AWS would refuse as AWS does, records it, and never runs the fake for it", async () => {
    // Prepare
    const stub = mockClient(SchedulerClient);
    const fake = vi.fn(() => ({ ScheduleArn: "arn:aws:scheduler:us-west-2:123456789012:schedule/default/x" }));
    stub.on(CreateScheduleCommand).callsFake(fake);

    // Act
    const error = await scheduler()
      .send(new CreateScheduleCommand(schedule("n".repeat(65))))
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(AwsContractError);
    expect(error).toMatchObject({ name: "ValidationException", $fault: "client", $metadata: { httpStatusCode: 400 }, service: "Scheduler", operation: "CreateSchedule" });
    expect((error as Error).message).toBe(
      `Scheduler CreateSchedule: 1 validation error detected: Value '${"n".repeat(65)}' at 'Name' failed to satisfy constraint: Member must have length less than or equal to 64`,
    );
    expect(fake).not.toHaveBeenCalled();
    const [failure, ...others] = takeContractFailures();
    expect(others).toEqual([]);
    expect(failure?.violations).toMatchObject([{ path: "Name", rule: "length", value: "n".repeat(65) }]);
    stub.restore();
  });

  it("passes a request that keeps the contract to the configured fake, which records it as usual", async () => {
    const stub = mockClient(SchedulerClient);
    stub.on(CreateScheduleCommand).resolves({ ScheduleArn: "arn:aws:scheduler:us-west-2:123456789012:schedule/default/ok" });

    const output = await scheduler().send(new CreateScheduleCommand(schedule("ok")));

    expect(output.ScheduleArn).toContain("schedule/default/ok");
    expect(stub).toReceiveCommandWith(CreateScheduleCommand, { Name: "ok" });
    expect(takeContractFailures()).toEqual([]);
    stub.restore();
  });

  it("keeps checking after reset(), on instance mocks too, and restore() gives the real send back", async () => {
    const client = new SQSClient({ region: "us-west-2", credentials: CREDENTIALS });
    const realSend = client.send;
    const stub = mockClient(client);
    stub.reset();
    stub.on(SendMessageCommand).resolves({ MessageId: "1" });

    await expect(client.send(new SendMessageCommand({ QueueUrl: "https://sqs.us-west-2.amazonaws.com/123456789012/q" } as never))).rejects.toThrowError(
      "SQS SendMessage: 1 validation error detected: Value null at 'MessageBody' failed to satisfy constraint: Member must not be null",
    );
    expect(takeContractFailures()).toHaveLength(1);
    await expect(client.send(new SendMessageCommand({ QueueUrl: "https://sqs.us-west-2.amazonaws.com/123456789012/q", MessageBody: "{}" }))).resolves.toEqual({ MessageId: "1" });

    stub.restore();
    expect(client.send).toBe(realSend);
    expect(Object.hasOwn(client, "send")).toBe(false);
  });

  it("fails the test that sent a refused request even when the code under test swallowed the error", async () => {
    const stub = mockClient(SchedulerClient);
    await scheduler()
      .send(new CreateScheduleCommand(schedule("")))
      .catch(() => undefined);

    expect(() => assertNoContractFailures()).toThrowError(/AWS would have rejected 1 request sent here:\n {2}- Scheduler CreateSchedule: 2 validation errors detected: Value '' at 'Name'/);
    expect(() => assertNoContractFailures()).not.toThrow();
    stub.restore();
  });

  it("refuses requests to a service no model is set up for, naming it", async () => {
    const client = { config: { serviceId: "Pinpoint" }, send: async () => ({}) };
    const stub = mockClient(client as never);
    class PutEventsCommand {
      input = {};
    }

    await expect((client.send as (c: unknown) => Promise<unknown>)(new PutEventsCommand())).rejects.toThrowError(/no AWS API model is set up for the service "Pinpoint"/);
    expect(takeContractFailures()).toHaveLength(1);
    stub.restore();
  });

  it("without the models, fails every request saying what to install; the simulation may choose to go unchecked", async () => {
    vi.stubEnv(MODELS_ENV, mkdtempSync(join(tmpdir(), "no-models-")));
    const required = mockClient(SchedulerClient);
    await expect(scheduler().send(new CreateScheduleCommand(schedule("ok")))).rejects.toThrowError(/AWS API models not found .*apt-get install python3-botocore/);
    expect(takeContractFailures()).toHaveLength(1);

    const lenient = mockClient(SchedulerClient, { models: "when-available" });
    lenient.on(CreateScheduleCommand).resolves({ ScheduleArn: "arn" });
    await expect(scheduler().send(new CreateScheduleCommand(schedule("n".repeat(65))))).resolves.toEqual({ ScheduleArn: "arn" });
    expect(takeContractFailures()).toEqual([]);
    required.restore();
    lenient.restore();
  });
});
