import { describe, expect, it } from "vitest";
import { signPayload, verifySignature } from "../src/delivery/signature";
import { WebhookSignatureError } from "../src/delivery/errors";

// GitHub's own test vector: https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
const DOC_SECRET = "It's a Secret to Everybody";
const DOC_BODY = Buffer.from("Hello, World!");
const DOC_SIGNATURE = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

function problemOf(action: () => void): string | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookSignatureError);
    return (error as WebhookSignatureError).problem;
  }
}

describe("X-Hub-Signature-256", () => {
  it("signs and verifies GitHub's documented example", () => {
    // Prepare / Act
    const signature = signPayload(DOC_SECRET, DOC_BODY);
    // Assess
    expect(signature).toBe(DOC_SIGNATURE);
    expect(problemOf(() => verifySignature(DOC_SECRET, DOC_BODY, DOC_SIGNATURE))).toBeUndefined();
    expect(problemOf(() => verifySignature(DOC_SECRET, DOC_BODY, DOC_SIGNATURE.toUpperCase().replace("SHA256=", "sha256=")))).toBeUndefined();
  });

  it("rejects the body changed by a single byte, and the right body with another secret", () => {
    const altered = Buffer.from(DOC_BODY);
    altered[altered.length - 1] = altered[altered.length - 1]! ^ 0x01;
    expect(problemOf(() => verifySignature(DOC_SECRET, altered, DOC_SIGNATURE))).toBe("mismatch");
    expect(problemOf(() => verifySignature("another secret", DOC_BODY, DOC_SIGNATURE))).toBe("mismatch");
  });

  it.each([
    ["no header", undefined, "missing"],
    ["an empty header", "", "missing"],
    ["the SHA-1 form", "sha1=0a1b2c3d4e5f60718293a4b5c6d7e8f901234567", "malformed"],
    ["a truncated digest", DOC_SIGNATURE.slice(0, 40), "malformed"],
    ["a digest without the prefix", DOC_SIGNATURE.slice("sha256=".length), "malformed"],
    ["non-hex digits", `sha256=${"z".repeat(64)}`, "malformed"],
  ])("names the problem with %s", (_, header, problem) => {
    expect(problemOf(() => verifySignature(DOC_SECRET, DOC_BODY, header))).toBe(problem);
  });
});
