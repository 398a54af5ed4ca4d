import { describe, expect, it } from "vitest";
import { closestKey, editDistance } from "../src/strict-object";

describe("closest known key", () => {
  it.each([
    ["priorty", "priority", 1],
    ["shortfallMinute", "shortfallMinutes", 1],
    ["timezone", "timeZone", 0],
    ["mni", "min", 1],
    ["", "max", 3],
  ])("%s is %i edit(s) from %s", (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });

  it("picks the nearest, the first listed among equals, and nothing when nothing is known", () => {
    expect(closestKey("shortfallMinute", ["onDemandGroup", "spotGroups", "shortfallMinutes", "healthyMinutes"])).toBe("shortfallMinutes");
    expect(closestKey("mx", ["min", "max"])).toBe("max");
    expect(closestKey("zz", ["min", "max"])).toBe("min");
    expect(closestKey("x", [])).toBeUndefined();
  });
});
