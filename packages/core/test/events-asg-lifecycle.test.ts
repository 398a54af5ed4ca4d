import { describe, expect, it } from "vitest";
import { MalformedEventError } from "../src/errors";
import { parseMessage } from "../src/events";
import { fixture } from "../../../test/fixtures";

/** The terminate sample with one detail field replaced. */
function terminateWith(field: string, value: unknown): Record<string, unknown> {
  const event = fixture("asgTerminate");
  (event["detail"] as Record<string, unknown>)[field] = value;
  return event;
}

describe("lifecycle messages hold Auto Scaling's own limits on what CompleteLifecycleAction takes", () => {
  it.each([
    ["LifecycleHookName", "autoscaling:TEST_NOTIFICATIONmy-termination-lifecycle-hook", /LifecycleHookName.*lifecycle hook name/],
    ["LifecycleHookName", "drain hook", /LifecycleHookName/],
    ["LifecycleHookName", "h".repeat(256), /LifecycleHookName/],
    ["AutoScalingGroupName", "group\u0007", /AutoScalingGroupName.*no control characters/],
    ["LifecycleActionToken", "t-1", /LifecycleActionToken.*36 characters/],
  ])("%s %j is malformed, the field named", (field, value, message) => {
    expect(() => parseMessage(terminateWith(field, value))).toThrowError(MalformedEventError);
    expect(() => parseMessage(terminateWith(field, value))).toThrowError(message);
  });

  it("accepts what Auto Scaling sends: path-like hook names, group names with spaces and non-ASCII letters", () => {
    const parsed = parseMessage(terminateWith("LifecycleHookName", "team/drain_hook-1"));
    expect(parsed.type === "signal" && parsed.events[0]?.lifecycle?.hookName).toBe("team/drain_hook-1");
    expect(parseMessage(terminateWith("AutoScalingGroupName", "web tier – zoë 😀")).type).toBe("signal");
  });
});
