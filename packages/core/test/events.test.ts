import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MalformedEventError, SkipError, UnsupportedEventError } from "../src/errors";
import { parseMessage, parseMessageBody } from "../src/events";
import { fixture, FIXTURE_DIR, FIXTURES } from "../../../test/fixtures";

describe("parsing the EventBridge samples", () => {
  it("spot interruption warning: instance, action, deadline two minutes after the event", () => {
    const parsed = parseMessage(fixture("spotInterruption"));
    expect(parsed).toEqual({
      type: "signal",
      events: [
        {
          kind: "spot-interruption",
          eventId: "3f4c2e8a-9d1b-4b6e-8f0a-2c7d5e1b9a34",
          instanceId: "i-1234567890abcdef0",
          time: new Date("2024-05-14T18:21:07Z"),
          deadline: new Date("2024-05-14T18:23:07Z"),
          region: "us-west-2",
          account: "123456789012",
          source: "aws.ec2",
          detailType: "EC2 Spot Instance Interruption Warning",
          spotAction: "terminate",
        },
      ],
    });
  });

  it("rebalance recommendation: no deadline", () => {
    const parsed = parseMessage(fixture("rebalance"));
    expect(parsed.type === "signal" && parsed.events[0]).toMatchObject({ kind: "rebalance-recommendation", instanceId: "i-1234567890abcdef0" });
    expect(parsed.type === "signal" && parsed.events[0]?.deadline).toBeUndefined();
  });

  it("ASG terminate and launch lifecycle actions carry the hook details", () => {
    const terminate = parseMessage(fixture("asgTerminate"));
    const launch = parseMessage(fixture("asgLaunch"));
    expect(terminate.type === "signal" && terminate.events[0]).toMatchObject({
      kind: "asg-terminate",
      instanceId: "i-1234567890abcdef0",
      lifecycle: {
        hookName: "my-termination-lifecycle-hook",
        asgName: "my-asg",
        token: "87654321-4321-4321-4321-210987654321",
        transition: "autoscaling:EC2_INSTANCE_TERMINATING",
        metadata: "additional-info",
        origin: "AutoScalingGroup",
        destination: "EC2",
      },
    });
    expect(launch.type === "signal" && launch.events[0]).toMatchObject({ kind: "asg-launch", instanceId: "i-0598c7d356eba48d7", time: new Date("2024-05-14T18:25:43.117Z") });
  });

  it.each([
    ["stateShuttingDown", "shutting-down"],
    ["stateStopping", "stopping"],
    ["stateTerminated", "terminated"],
  ] as const)("instance state change %s -> state %s", (name, state) => {
    const parsed = parseMessage(fixture(name));
    expect(parsed.type === "signal" && parsed.events[0]).toMatchObject({ kind: "state-change", state, instanceId: "i-1234567890abcdef0" });
  });

  it("AWS Health scheduled change: one event per affected instance, deadline at the start time", () => {
    const event = fixture("healthScheduledChange");
    const detail = event["detail"] as { affectedEntities: { entityValue: string }[] };
    detail.affectedEntities.push({ entityValue: "i-0fedcba9876543210" }, { entityValue: "vol-0123456789abcdef0" });
    const parsed = parseMessage(event);
    expect(parsed.type === "signal" && parsed.events.map((e) => e.instanceId)).toEqual(["i-1234567890abcdef0", "i-0fedcba9876543210"]);
    expect(parsed.type === "signal" && parsed.events[0]).toMatchObject({
      kind: "scheduled-change",
      deadline: new Date("2024-05-28T09:00:00Z"),
      scheduled: { eventTypeCode: "AWS_EC2_INSTANCE_REBOOT_MAINTENANCE_SCHEDULED", startTime: new Date("2024-05-28T09:00:00Z"), endTime: new Date("2024-05-28T11:00:00Z") },
    });
  });

  it("the SQS record body is the spot warning serialized", () => {
    const record = fixture<{ Records: { body: string }[] }>("sqsRecord").Records[0]!;
    expect(parseMessageBody(record.body)).toEqual(parseMessage(fixture("spotInterruption")));
  });

  it("the copied samples are identical to the shared set when it is beside the repository", () => {
    const shared = join(FIXTURE_DIR, "..", "..", "..", "..", "shared", "fixtures", "events");
    if (!existsSync(shared)) return;
    for (const file of Object.values(FIXTURES)) {
      expect(readFileSync(join(FIXTURE_DIR, file), "utf8"), file).toBe(readFileSync(join(shared, file), "utf8"));
    }
  });
});

describe("rejecting what cannot be handled", () => {
  it("names the field and value of a malformed detail", () => {
    const event = fixture("spotInterruption");
    (event["detail"] as Record<string, unknown>)["instance-id"] = "not-an-instance";
    expect(() => parseMessage(event)).toThrowError(MalformedEventError);
    expect(() => parseMessage(event)).toThrowError(/detail\.instance-id: must be an EC2 instance id .* \(got "not-an-instance"\)/);
  });

  it("names a missing envelope field", () => {
    const event = fixture("rebalance");
    delete event["time"];
    expect(() => parseMessage(event)).toThrowError(/EventBridge event: time/);
  });

  it("a body that is not JSON is malformed, with the start of the body in the message", () => {
    expect(() => parseMessageBody("{nope")).toThrowError(/record body is not JSON/);
  });

  it("an unknown detail-type is unsupported, and a Health event of another service too", () => {
    const codebuild = fixture("codebuildStateChange");
    const rds = fixture("healthScheduledChange");
    (rds["detail"] as Record<string, unknown>)["service"] = "RDS";
    expect(() => parseMessage(codebuild)).toThrowError(UnsupportedEventError);
    expect(() => parseMessage(rds)).toThrowError(/not EC2\/scheduledChange/);
  });

  it("a launch detail-type carrying a terminating transition is malformed", () => {
    const event = fixture("asgLaunch");
    (event["detail"] as Record<string, unknown>)["LifecycleTransition"] = "autoscaling:EC2_INSTANCE_TERMINATING";
    expect(() => parseMessage(event)).toThrowError(/LifecycleTransition/);
  });
});

describe("direct Auto Scaling notifications (hook -> SQS without EventBridge)", () => {
  it("parses the flat lifecycle message", () => {
    const parsed = parseMessage({
      Origin: "AutoScalingGroup",
      LifecycleHookName: "drain-hook",
      Destination: "EC2",
      AccountId: "123456789012",
      RequestId: "9a4c5b3e-0000-4000-8000-000000000001",
      LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
      AutoScalingGroupName: "my-asg",
      Service: "AWS Auto Scaling",
      Time: "2024-05-14T18:23:11.000Z",
      EC2InstanceId: "i-1234567890abcdef0",
      LifecycleActionToken: "87654321-4321-4321-4321-210987654321",
      AutoScalingGroupARN: "arn:aws:autoscaling:us-west-2:123456789012:autoScalingGroup:042cba90:autoScalingGroupName/my-asg",
    });
    expect(parsed.type === "signal" && parsed.events[0]).toMatchObject({ kind: "asg-terminate", region: "us-west-2", eventId: "9a4c5b3e-0000-4000-8000-000000000001" });
  });

  it("skips the test notification a new hook sends", () => {
    const call = () => parseMessage({ Event: "autoscaling:TEST_NOTIFICATION", AutoScalingGroupName: "my-asg", Service: "AWS Auto Scaling" });
    expect(call).toThrowError(SkipError);
    expect(call).toThrowError(/test notification/);
  });
});
