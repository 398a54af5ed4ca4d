import { describe, expect, it } from "vitest";
import { raw, startHarness } from "./harness";

// Status codes as kube-apiserver gives them for the same mistakes.
describe("bad requests", () => {
  it("malformed JSON on create -> 400 BadRequest", async () => {
    const { kube } = await startHarness({ seed: "demo" });
    const response = await raw(kube, "POST", "/api/v1/namespaces/shop/pods", { contentType: "application/json", body: "{not json" });
    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ kind: "Status", reason: "BadRequest", code: 400 });
    expect(response.json.message).toContain("json parse error");
  });

  it("an object of another kind on create -> 400", async () => {
    const { kube } = await startHarness({ seed: "demo" });
    const response = await raw(kube, "POST", "/api/v1/namespaces/shop/pods", { contentType: "application/json", body: JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: "x" } }) });
    expect(response.status).toBe(400);
  });

  it("unknown resource or group version -> 404 NotFound Status", async () => {
    const { kube } = await startHarness({ seed: "demo" });
    for (const path of ["/api/v1/widgets", "/apis/apps/v1/namespaces/shop/statefulsets", "/apis/batch/v1/jobs", "/api/v2/pods", "/api/v1/namespaces/shop/pods/x/log"]) {
      const response = await raw(kube, "GET", path);
      expect(response.status, path).toBe(404);
      expect(response.json, path).toMatchObject({ kind: "Status", reason: "NotFound", message: "the server could not find the requested resource", code: 404 });
    }
  });

  it("unknown patch content type -> 415 UnsupportedMediaType", async () => {
    const { kube } = await startHarness({ seed: "demo" });
    const response = await raw(kube, "PATCH", "/api/v1/nodes/ip-10-0-1-11.us-west-2.compute.internal", { contentType: "application/json", body: "{}" });
    expect(response.status).toBe(415);
    expect(response.json).toMatchObject({ reason: "UnsupportedMediaType" });
    expect(response.json.message).toContain("application/strategic-merge-patch+json");
  });

  it("malformed patch bodies -> 400, an inapplicable JSON patch -> 422", async () => {
    const { kube } = await startHarness({ seed: "demo" });
    const node = "/api/v1/nodes/ip-10-0-1-11.us-west-2.compute.internal";
    for (const contentType of ["application/strategic-merge-patch+json", "application/merge-patch+json", "application/json-patch+json"]) {
      const response = await raw(kube, "PATCH", node, { contentType, body: "{oops" });
      expect(response.status, contentType).toBe(400);
    }
    const inapplicable = await raw(kube, "PATCH", node, { contentType: "application/json-patch+json", body: JSON.stringify([{ op: "replace", path: "/spec/nothing/here", value: 1 }]) });
    expect(inapplicable.status).toBe(422);
  });

  it("stale resourceVersion on update -> 409 Conflict", async () => {
    const { kube } = await startHarness({ seed: "demo" });
    const path = "/api/v1/nodes/ip-10-0-1-11.us-west-2.compute.internal";
    const node = (await raw(kube, "GET", path)).json as { metadata: { resourceVersion: string; labels: Record<string, string> } };
    await raw(kube, "PUT", path, { contentType: "application/json", body: JSON.stringify({ ...node, metadata: { ...node.metadata, labels: { a: "1" } } }) });
    const response = await raw(kube, "PUT", path, { contentType: "application/json", body: JSON.stringify({ ...node, metadata: { ...node.metadata, labels: { a: "2" } } }) });
    expect(response.status).toBe(409);
    expect(response.json).toMatchObject({ reason: "Conflict", details: { name: "ip-10-0-1-11.us-west-2.compute.internal", kind: "nodes" } });
  });

  it("name mismatch between URL and body on update -> 400; unsupported verb -> 405", async () => {
    const { kube } = await startHarness({ seed: "demo" });
    const path = "/api/v1/nodes/ip-10-0-1-11.us-west-2.compute.internal";
    const node = (await raw(kube, "GET", path)).json as { metadata: Record<string, unknown> };
    const mismatch = await raw(kube, "PUT", path, { contentType: "application/json", body: JSON.stringify({ ...node, metadata: { ...node.metadata, name: "other" } }) });
    const post = await raw(kube, "POST", path, { contentType: "application/json", body: "{}" });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.message).toBe("the name of the object (other) does not match the name on the URL (ip-10-0-1-11.us-west-2.compute.internal)");
    expect(post.status).toBe(405);
  });
});
