import { ConfigError } from "@spot-manager/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { imageRepositoryName, MAX_STAGE_LENGTH, physicalNames, STAGE_NAME_PATTERN, validateStageName } from "../../stacks/names";

/** Valid stage names: lower-case letters, digits, single inner hyphens, starting with a letter, at most MAX_STAGE_LENGTH. */
const stageName = fc
  .tuple(fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz"), fc.array(fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-"), { maxLength: MAX_STAGE_LENGTH - 1 }))
  .map(([first, rest]) => (first + rest.join("")).replace(/-+/g, "-").replace(/-$/, ""));

describe("stage names", () => {
  it("leave room for every physical name: the longest allowed stage fits, one more character does not", () => {
    expect(MAX_STAGE_LENGTH).toBe(32);
    expect(() => validateStageName("a".repeat(MAX_STAGE_LENGTH))).not.toThrow();
    expect(() => validateStageName("a".repeat(MAX_STAGE_LENGTH + 1))).toThrowError(ConfigError);
  });

  it("of any valid form fit every service's limit, and no two resources of a kind share a name", () => {
    fc.assert(
      fc.property(stageName, (stage) => {
        expect(STAGE_NAME_PATTERN.test(stage)).toBe(true);
        validateStageName(stage);
        const names = physicalNames(stage);
        for (const name of names) expect(name.value.length, `${name.what} ${name.value}`).toBeLessThanOrEqual(name.max);
        const keys = names.filter((n) => !n.what.startsWith("CloudWatch Logs")).map((n) => `${n.what}|${n.value}`);
        expect(new Set(keys).size).toBe(keys.length);
      }),
    );
  });

  it("of two different stages never give the same physical name", () => {
    fc.assert(
      fc.property(stageName, stageName, (a, b) => {
        fc.pre(a !== b);
        const ofA = new Set(physicalNames(a).map((n) => `${n.what}|${n.value}`));
        for (const n of physicalNames(b)) expect(ofA.has(`${n.what}|${n.value}`), `${n.what} ${n.value}`).toBe(false);
      }),
    );
  });

  it("are valid ECR repository path components", () => {
    fc.assert(
      fc.property(stageName, (stage) => {
        expect(imageRepositoryName(stage)).toMatch(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/);
      }),
    );
  });
});
