import { describe, expect, it } from "vitest";
import { MalformedEventError } from "../src/errors";
import { decodeWebhookBody, parsePingEvent, parsePushEvent } from "../src/delivery/github-events";
import { payload, PUSHED_COMMIT } from "../../../test/delivery/github";

describe("GitHub push and ping payloads", () => {
  it("a branch push: repository, branch, the pushed commit and its head commit", () => {
    const push = parsePushEvent(payload("github-push"));
    expect(push).toEqual({
      repository: "example-org/sample-app",
      ref: "refs/heads/main",
      branch: "main",
      commit: PUSHED_COMMIT,
      before: "9f2c4b1e7a3d5c6b8e0f1a2b3c4d5e6f7a8b9c0d",
      created: false,
      deleted: false,
      forced: false,
      headCommit: {
        id: PUSHED_COMMIT,
        message: "Answer /healthz before the listener is busy\n\nKeeps readiness green under load.",
        url: `https://github.com/example-org/sample-app/commit/${PUSHED_COMMIT}`,
        author: "octodev",
      },
      pusher: "octodev",
      compareUrl: "https://github.com/example-org/sample-app/compare/9f2c4b1e7a3d...a1b2c3d4e5f6",
    });
  });

  it("a tag deletion: a tag, deleted, no head commit", () => {
    const body = payload("github-push");
    Object.assign(body, { ref: "refs/tags/v1.2.0", after: "0".repeat(40), deleted: true, head_commit: null, commits: [] });
    const push = parsePushEvent(body);
    expect(push).toMatchObject({ tag: "v1.2.0", deleted: true });
    expect(push.branch).toBeUndefined();
    expect(push.headCommit).toBeUndefined();
  });

  it("names the field that is wrong", () => {
    const body = payload("github-push");
    body["after"] = "a1b2c3";
    expect(() => parsePushEvent(body)).toThrowError(MalformedEventError);
    expect(() => parsePushEvent(body)).toThrowError(/GitHub push payload: after: must be a full commit id/);
    expect(() => parsePushEvent({ ...payload("github-push"), repository: {} })).toThrowError(/repository\.full_name/);
  });

  it("a ping: zen, hook id and the events the hook sends", () => {
    expect(parsePingEvent(payload("github-ping"))).toEqual({
      zen: "Design for failure.",
      hookId: 481516234,
      events: ["push"],
      contentType: "json",
      repository: "example-org/sample-app",
    });
  });

  it("decodes JSON bodies and form-encoded ones (payload=<JSON>)", () => {
    const json = JSON.stringify(payload("github-push"));
    expect(decodeWebhookBody(Buffer.from(json), "application/json")).toEqual(JSON.parse(json));
    expect(decodeWebhookBody(Buffer.from(`payload=${encodeURIComponent(json)}`), "application/x-www-form-urlencoded")).toEqual(JSON.parse(json));
    expect(() => decodeWebhookBody(Buffer.from("{"), "application/json")).toThrowError(/webhook body is not JSON/);
    expect(() => decodeWebhookBody(Buffer.from("other=1"), "application/x-www-form-urlencoded")).toThrowError(/no payload field/);
  });
});
