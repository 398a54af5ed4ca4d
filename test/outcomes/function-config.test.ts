/** OUTCOME_EVENT_BUS, read once at each publishing function's edge, typed, the variable named when it is wrong. */
import { describe, expect, it } from "vitest";
import { readNotifyConfig } from "../../functions/lib/delivery-env";
import { readInterruptionConfig } from "../../functions/lib/env";

const INTERRUPTION = { CLUSTER_NAME: "prod-eks", AWS_REGION: "us-west-2" };
const NOTIFY = { AWS_REGION: "us-west-2", NOTIFICATION_TOPIC_ARN: "arn:aws:sns:us-west-2:123456789012:t" };

describe("the outcome bus in the functions' environment", () => {
  it("takes a bus name, `default`, or a bus ARN; without it the function publishes no outcome events", () => {
    expect(readInterruptionConfig({ ...INTERRUPTION, OUTCOME_EVENT_BUS: "default" }).eventBus).toBe("default");
    expect(readInterruptionConfig({ ...INTERRUPTION, OUTCOME_EVENT_BUS: "arn:aws:events:us-west-2:123456789012:event-bus/platform" }).eventBus).toBe("arn:aws:events:us-west-2:123456789012:event-bus/platform");
    expect(readInterruptionConfig(INTERRUPTION)).not.toHaveProperty("eventBus");
    expect(readNotifyConfig({ ...NOTIFY, OUTCOME_EVENT_BUS: "platform-events" }).eventBus).toBe("platform-events");
    expect(readNotifyConfig(NOTIFY)).not.toHaveProperty("eventBus");
  });

  it("names the variable when it is not a bus", () => {
    expect(() => readInterruptionConfig({ ...INTERRUPTION, OUTCOME_EVENT_BUS: "arn:aws:sqs:us-west-2:123456789012:q" })).toThrowError(/invalid environment: OUTCOME_EVENT_BUS: must be an event bus name or ARN/);
    expect(() => readNotifyConfig({ ...NOTIFY, OUTCOME_EVENT_BUS: "my bus" })).toThrowError(/OUTCOME_EVENT_BUS: must be an event bus name or ARN/);
  });
});
