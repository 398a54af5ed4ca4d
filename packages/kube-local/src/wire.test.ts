import { describe, expect, it } from "vitest";
import { clone } from "./wire";

describe("clone", () => {
  it("copies objects and arrays deeply, sharing nothing with the original", () => {
    const original = { metadata: { name: "a", labels: { app: "web" } }, spec: { containers: [{ name: "c", ports: [80] }] }, status: null };
    const copy = clone(original);
    copy.metadata.labels.app = "changed";
    copy.spec.containers[0]!.ports.push(443);
    expect(copy).not.toBe(original);
    expect(original).toEqual({ metadata: { name: "a", labels: { app: "web" } }, spec: { containers: [{ name: "c", ports: [80] }] }, status: null });
  });

  it("keeps a __proto__ key parsed from JSON as data, never as the copy's prototype", () => {
    const parsed = JSON.parse('{"metadata":{"annotations":{"__proto__":{"polluted":"yes"}}}}') as { metadata: { annotations: Record<string, unknown> } };
    const copy = clone(parsed);
    expect(Object.getPrototypeOf(copy.metadata.annotations)).toBe(Object.prototype);
    expect(Object.keys(copy.metadata.annotations)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
    expect(JSON.stringify(copy)).toBe(JSON.stringify(parsed));
  });

  it("copies values that are not plain data, such as a Date, as structuredClone does", () => {
    const at = new Date("2026-11-27T00:00:00Z");
    const copy = clone({ at });
    expect(copy.at).toBeInstanceOf(Date);
    expect(copy.at).not.toBe(at);
    expect(copy.at.getTime()).toBe(at.getTime());
  });
});
