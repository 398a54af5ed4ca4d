import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  MAX_JSON_PATCH_OPERATIONS,
  metadataSchema,
  PATCH_SCHEMAS,
  PatchError,
  podSpecSchema,
  type Json,
  type JsonObject,
  type ListStrategy,
  type PatchSchema,
} from "./patch";

/** Runs `fn` and returns the PatchError it throws. */
function patchError(fn: () => unknown): PatchError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PatchError) return error;
    throw error;
  }
  throw new Error("expected a PatchError");
}

const json = (value: unknown): string => JSON.stringify(value);

// JSON trees whose arrays hold only primitives and whose nulls sit directly in objects: the
// shape where merge patch semantics do not depend on MergePatch's null pruning quirks
const treeKey = fc.stringMatching(/^[a-z]{1,3}$/);
const treeLeaf = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.array(fc.oneof(fc.string(), fc.integer())));
const { tree } = fc.letrec<{ tree: Json }>((tie) => ({
  tree: fc.oneof({ depthSize: "small" }, treeLeaf, fc.dictionary(treeKey, fc.oneof(tie("tree"), fc.constant(null)))),
}));
const treeObject = fc.dictionary(treeKey, tree);
const treePatch = fc.dictionary(treeKey, fc.oneof(tree, fc.constant(null)));

function node(): JsonObject {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "n1", labels: { a: "1", "spot-manager/state": "ok" }, finalizers: ["a", "b"] },
    spec: { podCIDRs: ["10.0.0.0/24"], taints: [{ key: "x", value: "1", effect: "NoSchedule" }] },
    status: { conditions: [{ type: "Ready", status: "True" }] },
  };
}

function pod(): JsonObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web-0", namespace: "shop", labels: { app: "web" } },
    spec: {
      containers: [
        {
          name: "app",
          image: "web:1",
          env: [
            { name: "A", value: "1" },
            { name: "B", value: "2" },
          ],
        },
        { name: "sidecar", image: "proxy:1" },
      ],
      tolerations: [{ key: "t", operator: "Exists" }],
    },
    status: {
      conditions: [
        { type: "Initialized", status: "True" },
        { type: "Ready", status: "True" },
        { type: "ContainersReady", status: "True" },
        { type: "PodScheduled", status: "True" },
      ],
    },
  };
}

const POD = PATCH_SCHEMAS["Pod"] as PatchSchema;
const NODE = PATCH_SCHEMAS["Node"] as PatchSchema;

function types(doc: Json): string[] {
  const status = (doc as JsonObject)["status"] as JsonObject;
  return (status["conditions"] as JsonObject[]).map((c) => `${String(c["type"])}=${String(c["status"])}`);
}

describe("decoding errors, worded as Go's encoding/json words them", () => {
  it.each([
    ["{oops", "invalid character 'o' looking for beginning of object key string"],
    ["", "unexpected end of JSON input"],
    ["   ", "unexpected end of JSON input"],
    ['{"a":', "unexpected end of JSON input"],
    ["[1,]", "invalid character ']' looking for beginning of value"],
    ['{"a":1}x', "invalid character 'x' after top-level value"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', "invalid character '\"' after object key:value pair"],
    ['{"a":1,}', "invalid character '}' looking for beginning of object key string"],
    ["[1 2]", "invalid character '2' after array element"],
    ['["\u0001"]', "invalid character '\\x01' in string literal"],
    ['["\\q"]', "invalid character 'q' in string escape code"],
    ['["\\u12x4"]', "invalid character 'x' in \\u hexadecimal character escape"],
    ["[trUe]", "invalid character 'U' in literal true (expecting 'u')"],
    ["[nul]", "invalid character ']' in literal null (expecting 'l')"],
    ["[-x]", "invalid character 'x' in numeric literal"],
    ["[1.x]", "invalid character 'x' after decimal point in numeric literal"],
    ["[1ex]", "invalid character 'x' in exponent of numeric literal"],
    ["[01]", "invalid character '1' after array element"],
    ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
    ["é", "invalid character 'Ã' looking for beginning of value"],
  ])("a merge patch %j is refused with 400: %s", (text, message) => {
    // Prepare
    const doc = node();

    // Act
    const error = patchError(() => applyMergePatch(doc, text));

    // Assess
    expect(error.code).toBe(400);
    expect(error.message).toBe(`error decoding patch: ${message}`);
  });

  it("a JSON patch that is not JSON is refused with 400 and the same wording", () => {
    // Act
    const error = patchError(() => applyJsonPatch(node(), "[{oops"));

    // Assess
    expect(error.code).toBe(400);
    expect(error.message).toBe("error decoding patch: invalid character 'o' looking for beginning of object key string");
  });

  it("accepts JSON with every escape, exponent and nesting Go accepts", () => {
    // Prepare
    const text = '{"s":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9","n":[-0,0.5,1e3,-2.5E-2,10],"b":[true,false,null],"o":{"x":{}}}';

    // Act
    const result = applyMergePatch({}, text);

    // Assess
    expect(result).toEqual(JSON.parse(text));
  });
});

describe("applyJsonPatch", () => {
  it("adds, replaces and removes object members", () => {
    // Prepare
    const patch = json([
      { op: "add", path: "/metadata/labels/b", value: "2" },
      { op: "replace", path: "/metadata/labels/a", value: "10" },
      { op: "remove", path: "/spec/taints" },
    ]);

    // Act
    const result = applyJsonPatch(node(), patch) as JsonObject;

    // Assess
    expect(result["metadata"]).toMatchObject({ labels: { a: "10", b: "2", "spot-manager/state": "ok" } });
    expect(result["spec"]).toEqual({ podCIDRs: ["10.0.0.0/24"] });
  });

  it("decodes ~1 and ~0 in pointers, in one left-to-right pass", () => {
    // Prepare
    const patch = json([
      { op: "add", path: "/metadata/labels/spot-manager~1state", value: "draining" },
      { op: "add", path: "/metadata/labels/~01", value: "tilde-one" },
    ]);

    // Act
    const result = applyJsonPatch(node(), patch) as JsonObject;

    // Assess
    expect((result["metadata"] as JsonObject)["labels"]).toEqual({ a: "1", "spot-manager/state": "draining", "~1": "tilde-one" });
  });

  it("inserts at an array index, appends with '-' or at the length, and refuses an index past it", () => {
    // Prepare
    const doc = { list: ["a", "c"] };

    // Act
    const inserted = applyJsonPatch(doc, json([{ op: "add", path: "/list/1", value: "b" }]));
    const appended = applyJsonPatch(doc, json([{ op: "add", path: "/list/-", value: "z" }]));
    const atLength = applyJsonPatch(doc, json([{ op: "add", path: "/list/2", value: "z" }]));
    const error = patchError(() => applyJsonPatch(doc, json([{ op: "add", path: "/list/5", value: "z" }])));

    // Assess
    expect(inserted).toEqual({ list: ["a", "b", "c"] });
    expect(appended).toEqual({ list: ["a", "c", "z"] });
    expect(atLength).toEqual({ list: ["a", "c", "z"] });
    expect(error.code).toBe(422);
    expect(error.message).toBe("error in add for path: '/list/5': Unable to access invalid index: 5: invalid index referenced");
  });

  it("reads indices as strconv.Atoi does, as kube's json-patch v4 does: leading zeros and negatives from the end", () => {
    // Prepare
    const doc = { list: ["a", "b", "c"] };

    // Act
    const leadingZero = applyJsonPatch(doc, json([{ op: "replace", path: "/list/01", value: "B" }]));
    const fromEnd = applyJsonPatch(doc, json([{ op: "remove", path: "/list/-1" }]));
    const tooNegative = patchError(() => applyJsonPatch(doc, json([{ op: "remove", path: "/list/-4" }])));

    // Assess
    expect(leadingZero).toEqual({ list: ["a", "B", "c"] });
    expect(fromEnd).toEqual({ list: ["a", "b"] });
    expect(tooNegative.message).toBe("error in remove for path: '/list/-4': Unable to access invalid index: -4: invalid index referenced");
  });

  it("refuses an array index that is not a number", () => {
    // Prepare
    const doc = { list: ["a"] };

    // Act
    const add = patchError(() => applyJsonPatch(doc, json([{ op: "add", path: "/list/x", value: 1 }])));
    const remove = patchError(() => applyJsonPatch(doc, json([{ op: "remove", path: "/list/-" }])));

    // Assess
    expect(add.code).toBe(422);
    expect(add.message).toBe("error in add for path: '/list/x': value was not a proper array index: 'x': strconv.Atoi: parsing \"x\": invalid syntax");
    expect(remove.message).toBe("error in remove for path: '/list/-': strconv.Atoi: parsing \"-\": invalid syntax");
  });

  it("refuses with 422 to replace under a missing parent", () => {
    // Act
    const error = patchError(() => applyJsonPatch(node(), json([{ op: "replace", path: "/spec/nothing/here", value: 1 }])));

    // Assess
    expect(error.code).toBe(422);
    expect(error.message).toBe("replace operation does not apply: doc is missing path: /spec/nothing/here: missing value");
  });

  it("replaces a missing member of an existing object by adding it, as json-patch v4 does", () => {
    // Act
    const result = applyJsonPatch(node(), json([{ op: "replace", path: "/spec/unschedulable", value: true }])) as JsonObject;

    // Assess
    expect(result["spec"]).toMatchObject({ unschedulable: true });
  });

  it("refuses to replace an array element that does not exist", () => {
    // Act
    const error = patchError(() => applyJsonPatch({ list: [1] }, json([{ op: "replace", path: "/list/3", value: 2 }])));

    // Assess
    expect(error.code).toBe(422);
    expect(error.message).toBe("replace operation does not apply: doc is missing key: /list/3: missing value");
  });

  it("replaces the whole document with path ''", () => {
    // Act
    const result = applyJsonPatch(node(), json([{ op: "replace", path: "", value: { kind: "Other" } }]));
    const error = patchError(() => applyJsonPatch(node(), json([{ op: "replace", path: "", value: 3 }])));

    // Assess
    expect(result).toEqual({ kind: "Other" });
    expect(error.message).toBe("replace operation value must be object or array: %!w(<nil>)");
  });

  it("refuses to remove a missing member", () => {
    // Act
    const error = patchError(() => applyJsonPatch(node(), json([{ op: "remove", path: "/metadata/labels/x" }])));

    // Assess
    expect(error.code).toBe(422);
    expect(error.message).toBe("error in remove for path: '/metadata/labels/x': Unable to remove nonexistent key: x: missing value");
  });

  it("refuses to add under a missing parent, quoting the path", () => {
    // Act
    const error = patchError(() => applyJsonPatch(node(), json([{ op: "add", path: "/spec/missing/x", value: 1 }])));

    // Assess
    expect(error.message).toBe('add operation does not apply: doc is missing path: "/spec/missing/x": missing value');
  });

  it("removes the finalizers list, as a controller releasing an object does", () => {
    // Act
    const result = applyJsonPatch(node(), json([{ op: "remove", path: "/metadata/finalizers" }])) as JsonObject;

    // Assess
    expect(result["metadata"]).not.toHaveProperty("finalizers");
  });

  it("moves a value, and refuses to move a missing one", () => {
    // Act
    const moved = applyJsonPatch(node(), json([{ op: "move", from: "/metadata/labels/a", path: "/metadata/labels/b" }])) as JsonObject;
    const error = patchError(() => applyJsonPatch(node(), json([{ op: "move", from: "/metadata/labels/x", path: "/metadata/labels/y" }])));

    // Assess
    expect((moved["metadata"] as JsonObject)["labels"]).toEqual({ b: "1", "spot-manager/state": "ok" });
    expect(error.message).toBe("error in move for path: 'x': Unable to remove nonexistent key: x: missing value");
  });

  it("copies a deep value that later operations change independently", () => {
    // Prepare
    const patch = json([
      { op: "copy", from: "/spec/taints", path: "/spec/saved" },
      { op: "replace", path: "/spec/taints/0/key", value: "changed" },
    ]);

    // Act
    const result = applyJsonPatch(node(), patch) as JsonObject;

    // Assess
    expect(result["spec"]).toMatchObject({ saved: [{ key: "x" }], taints: [{ key: "changed" }] });
  });

  it("tests values structurally and fails with 422", () => {
    // Prepare
    const passing = json([{ op: "test", path: "/spec/taints", value: [{ effect: "NoSchedule", key: "x", value: "1" }] }]);
    const failing = json([{ op: "test", path: "/metadata/labels/a", value: "2" }]);

    // Act
    const kept = applyJsonPatch(node(), passing);
    const error = patchError(() => applyJsonPatch(node(), failing));

    // Assess
    expect(kept).toEqual(node());
    expect(error.code).toBe(422);
    expect(error.message).toBe("testing value /metadata/labels/a failed: test failed");
  });

  it("treats a missing member as equal to null in a test, as json-patch v4 does", () => {
    // Act
    const result = applyJsonPatch(node(), json([{ op: "test", path: "/spec/unschedulable", value: null }]));
    const error = patchError(() => applyJsonPatch(node(), json([{ op: "test", path: "/spec/unschedulable", value: true }])));

    // Assess
    expect(result).toEqual(node());
    expect(error.message).toBe("testing value /spec/unschedulable failed: test failed");
  });

  it("refuses unknown and missing ops with 422 'Unexpected kind'", () => {
    // Act
    const unknown = patchError(() => applyJsonPatch(node(), json([{ op: "frobnicate", path: "/a" }])));
    const missing = patchError(() => applyJsonPatch(node(), json([{ path: "/a" }])));

    // Assess
    expect(unknown.code).toBe(422);
    expect(unknown.message).toBe("Unexpected kind: frobnicate");
    expect(missing.message).toBe("Unexpected kind: unknown");
  });

  it("refuses an operation without a path", () => {
    // Act
    const add = patchError(() => applyJsonPatch(node(), json([{ op: "add", value: 1 }])));
    const replace = patchError(() => applyJsonPatch(node(), json([{ op: "replace", value: 1 }])));
    const move = patchError(() => applyJsonPatch(node(), json([{ op: "move", path: "/a" }])));

    // Assess
    expect(add.code).toBe(422);
    expect(add.message).toBe("add operation failed to decode path: missing value");
    expect(replace.message).toBe("replace operation failed to decode path: operation missing path field: missing value");
    expect(move.message).toBe("move operation failed to decode from: operation, missing from field: missing value");
  });

  it.each([
    ['{"op":"add"}', "json: cannot unmarshal object into Go value of type []handlers.jsonPatchOp"],
    ['"add"', "json: cannot unmarshal string into Go value of type []handlers.jsonPatchOp"],
    ["[1]", "json: cannot unmarshal number into Go value of type handlers.jsonPatchOp"],
    ['[{"op":1,"path":"/a"}]', "json: cannot unmarshal number into Go struct field jsonPatchOp.op of type string"],
    ['[{"op":"add","path":["a"]}]', "json: cannot unmarshal array into Go struct field jsonPatchOp.path of type string"],
  ])("refuses the malformed JSON patch %s with 400", (text, message) => {
    // Act
    const error = patchError(() => applyJsonPatch(node(), text));

    // Assess
    expect(error.code).toBe(400);
    expect(error.message).toBe(`error decoding patch: ${message}`);
  });

  it("treats a null patch as no operations", () => {
    // Act
    const result = applyJsonPatch(node(), "null");

    // Assess
    expect(result).toEqual(node());
  });

  it(`answers 413 past ${MAX_JSON_PATCH_OPERATIONS} operations and accepts exactly that many`, () => {
    // Prepare
    const op = { op: "test", path: "/kind", value: "Node" };
    const atLimit = json(Array.from({ length: MAX_JSON_PATCH_OPERATIONS }, () => op));
    const overLimit = json(Array.from({ length: MAX_JSON_PATCH_OPERATIONS + 1 }, () => op));

    // Act
    const result = applyJsonPatch(node(), atLimit);
    const error = patchError(() => applyJsonPatch(node(), overLimit));

    // Assess
    expect(result).toEqual(node());
    expect(error.code).toBe(413);
    expect(error.message).toBe("The allowed maximum operations in a JSON patch is 10000, got 10001");
  });

  it("leaves the input untouched, even when a later operation fails", () => {
    // Prepare
    const doc = node();
    const before = structuredClone(doc);
    const patch = json([
      { op: "add", path: "/metadata/labels/new", value: "x" },
      { op: "test", path: "/kind", value: "Pod" },
    ]);

    // Act
    const error = patchError(() => applyJsonPatch(doc, patch));

    // Assess
    expect(error.code).toBe(422);
    expect(doc).toEqual(before);
  });

  it("adds '__proto__' as an ordinary member", () => {
    // Act
    const result = applyJsonPatch({}, json([{ op: "add", path: "/__proto__", value: { polluted: true } }])) as JsonObject;

    // Assess
    expect(Object.keys(result)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("property: adding a fresh member then removing it gives back the document, which stays untouched", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.stringMatching(/^[a-z]{1,4}$/), fc.json()), fc.json(), (members, valueText) => {
        // Prepare
        const doc: JsonObject = {};
        for (const [key, text] of Object.entries(members)) doc[key] = JSON.parse(text) as Json;
        const before = structuredClone(doc);
        const patch = json([
          { op: "add", path: "/fresh~1key", value: JSON.parse(valueText) as Json },
          { op: "remove", path: "/fresh~1key" },
        ]);

        // Act
        const result = applyJsonPatch(doc, patch);

        // Assess
        expect(result).toEqual(before);
        expect(doc).toEqual(before);
      }),
    );
  });
});

describe("applyMergePatch", () => {
  it("merges objects recursively, deletes members set to null and replaces everything else", () => {
    // Prepare
    const patch = json({ metadata: { labels: { a: null, b: "2" } }, spec: { taints: [{ key: "y" }], unschedulable: true } });

    // Act
    const result = applyMergePatch(node(), patch) as JsonObject;

    // Assess
    expect((result["metadata"] as JsonObject)["labels"]).toEqual({ b: "2", "spot-manager/state": "ok" });
    expect(result["spec"]).toEqual({ podCIDRs: ["10.0.0.0/24"], taints: [{ key: "y" }], unschedulable: true });
  });

  it("drops nulls from new objects at any depth but keeps nulls inside arrays, as MergePatch does", () => {
    // Prepare
    const patch = json({ spec: { fresh: { a: null, b: { c: null, d: 1 }, list: [null, { e: null, f: 2 }] } } });

    // Act
    const result = applyMergePatch(node(), patch) as JsonObject;

    // Assess
    expect((result["spec"] as JsonObject)["fresh"]).toEqual({ b: { d: 1 }, list: [null, { f: 2 }] });
  });

  it.each([
    ["[]", "array"],
    ['"x"', "string"],
    ["5", "number"],
    ["true", "bool"],
  ])("refuses the non-object patch %s with 400", (text, kind) => {
    // Act
    const error = patchError(() => applyMergePatch(node(), text));

    // Assess
    expect(error.code).toBe(400);
    expect(error.message).toBe(`error decoding patch: json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`);
  });

  it("refuses a null patch with 400 'Invalid JSON Patch'", () => {
    // Act
    const error = patchError(() => applyMergePatch(node(), "null"));

    // Assess
    expect(error.code).toBe(400);
    expect(error.message).toBe("Invalid JSON Patch");
  });

  it("leaves the input untouched", () => {
    // Prepare
    const doc = node();
    const before = structuredClone(doc);

    // Act
    applyMergePatch(doc, json({ metadata: { labels: { a: null } }, spec: { taints: null } }));

    // Assess
    expect(doc).toEqual(before);
  });

  it("merges a '__proto__' member as an ordinary member", () => {
    // Act
    const result = applyMergePatch({ a: 1 }, '{"__proto__":{"polluted":true}}') as JsonObject;

    // Assess
    expect(Object.keys(result)).toEqual(["a", "__proto__"]);
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
  });

  it("property: applying the same merge patch twice changes nothing more (RFC 7386 is idempotent)", () => {
    fc.assert(
      fc.property(treeObject, treePatch, (doc, patch) => {
        // Act
        const once = applyMergePatch(doc, json(patch));
        const twice = applyMergePatch(once, json(patch));

        // Assess
        expect(twice).toEqual(once);
      }),
    );
  });
});

describe("applyStrategicMergePatch", () => {
  it("cordons a node: {spec: {unschedulable: true}} keeps everything else", () => {
    // Act
    const result = applyStrategicMergePatch(node(), json({ spec: { unschedulable: true } }), NODE) as JsonObject;

    // Assess
    expect(result).toEqual({ ...node(), spec: { ...(node()["spec"] as JsonObject), unschedulable: true } });
  });

  it("replaces the whole taints list, as kubectl taint expects (taints carry no patch strategy)", () => {
    // Prepare
    const patch = json({ spec: { taints: [{ key: "b", effect: "PreferNoSchedule" }] } });

    // Act
    const result = applyStrategicMergePatch(node(), patch, NODE) as JsonObject;

    // Assess
    expect((result["spec"] as JsonObject)["taints"]).toEqual([{ key: "b", effect: "PreferNoSchedule" }]);
  });

  it("replaces pod tolerations whole as well", () => {
    // Act
    const result = applyStrategicMergePatch(pod(), json({ spec: { tolerations: [{ key: "u", operator: "Exists" }] } }), POD) as JsonObject;

    // Assess
    expect((result["spec"] as JsonObject)["tolerations"]).toEqual([{ key: "u", operator: "Exists" }]);
  });

  it("merges pod status conditions by type: updates one, adds one, keeps the rest in apimachinery's order", () => {
    // Prepare
    const patch = json({
      status: {
        conditions: [
          { type: "Ready", status: "False" },
          { type: "DisruptionTarget", status: "True", reason: "EvictionByEvictionAPI" },
        ],
      },
    });

    // Act
    const result = applyStrategicMergePatch(pod(), patch, POD);

    // Assess
    // patch items keep their patch order; a new item lands right after the patched one before it
    expect(types(result)).toEqual(["Initialized=True", "Ready=False", "DisruptionTarget=True", "ContainersReady=True", "PodScheduled=True"]);
  });

  it("puts list elements a patch adds without $setElementOrder ahead of untouched live elements", () => {
    // Prepare
    const patch = json({ status: { conditions: [{ type: "DisruptionTarget", status: "True" }] } });

    // Act
    const result = applyStrategicMergePatch(pod(), patch, POD);

    // Assess
    expect(types(result)).toEqual(["DisruptionTarget=True", "Initialized=True", "Ready=True", "ContainersReady=True", "PodScheduled=True"]);
  });

  it("deletes a condition by type with $patch: delete", () => {
    // Prepare
    const patch = json({ status: { conditions: [{ type: "Ready", $patch: "delete" }] } });

    // Act
    const result = applyStrategicMergePatch(pod(), patch, POD);

    // Assess
    expect(types(result)).toEqual(["Initialized=True", "ContainersReady=True", "PodScheduled=True"]);
  });

  it("replaces a map with $patch: replace", () => {
    // Prepare
    const patch = json({ metadata: { labels: { $patch: "replace", only: "this" } } });

    // Act
    const result = applyStrategicMergePatch(node(), patch, NODE) as JsonObject;

    // Assess
    expect((result["metadata"] as JsonObject)["labels"]).toEqual({ only: "this" });
  });

  it("empties a map with $patch: delete, as apimachinery does", () => {
    // Act
    const result = applyStrategicMergePatch(node(), json({ metadata: { labels: { $patch: "delete" } } }), NODE) as JsonObject;

    // Assess
    expect((result["metadata"] as JsonObject)["labels"]).toEqual({});
  });

  it("replaces a whole merge list with a $patch: replace element", () => {
    // Prepare
    const patch = json({ spec: { containers: [{ $patch: "replace" }, { name: "only", image: "x:1", env: null }] } });

    // Act
    const result = applyStrategicMergePatch(pod(), patch, POD) as JsonObject;

    // Assess
    expect((result["spec"] as JsonObject)["containers"]).toEqual([{ name: "only", image: "x:1" }]);
  });

  it("unions finalizers and removes some with $deleteFromPrimitiveList/finalizers", () => {
    // Act
    const union = applyStrategicMergePatch(node(), json({ metadata: { finalizers: ["b", "c"] } }), NODE) as JsonObject;
    const removed = applyStrategicMergePatch(node(), json({ metadata: { "$deleteFromPrimitiveList/finalizers": ["a"] } }), NODE) as JsonObject;
    const both = applyStrategicMergePatch(node(), json({ metadata: { finalizers: ["c"], "$deleteFromPrimitiveList/finalizers": ["a"] } }), NODE) as JsonObject;

    // Assess
    expect((union["metadata"] as JsonObject)["finalizers"]).toEqual(["a", "b", "c"]);
    expect((removed["metadata"] as JsonObject)["finalizers"]).toEqual(["b"]);
    expect((both["metadata"] as JsonObject)["finalizers"]).toEqual(["c", "b"]);
  });

  it("merges containers by name and their env by name", () => {
    // Prepare
    const patch = json({
      spec: {
        containers: [
          {
            name: "app",
            image: "web:2",
            env: [
              { name: "B", value: "3" },
              { name: "C", value: "4" },
            ],
          },
        ],
      },
    });

    // Act
    const result = applyStrategicMergePatch(pod(), patch, POD) as JsonObject;

    // Assess
    expect((result["spec"] as JsonObject)["containers"]).toEqual([
      {
        name: "app",
        image: "web:2",
        env: [
          { name: "A", value: "1" },
          { name: "B", value: "3" },
          { name: "C", value: "4" },
        ],
      },
      { name: "sidecar", image: "proxy:1" },
    ]);
  });

  it("deletes a label with null and ignores nulls for members that do not exist", () => {
    // Prepare
    const patch = json({ metadata: { labels: { a: null, missing: null } } });

    // Act
    const result = applyStrategicMergePatch(node(), patch, NODE) as JsonObject;

    // Assess
    expect((result["metadata"] as JsonObject)["labels"]).toEqual({ "spot-manager/state": "ok" });
  });

  it("orders a merged list by $setElementOrder/conditions", () => {
    // Prepare
    const patch = json({
      status: {
        "$setElementOrder/conditions": [{ type: "PodScheduled" }, { type: "Initialized" }, { type: "Ready" }, { type: "ContainersReady" }],
        conditions: [{ type: "Ready", status: "False" }],
      },
    });

    // Act
    const result = applyStrategicMergePatch(pod(), patch, POD);

    // Assess
    expect(types(result)).toEqual(["PodScheduled=True", "Initialized=True", "Ready=False", "ContainersReady=True"]);
  });

  it("keeps live elements a $setElementOrder list leaves out, placed by their live positions", () => {
    // Prepare
    const patch = json({ status: { "$setElementOrder/conditions": [{ type: "PodScheduled" }, { type: "Initialized" }] } });

    // Act
    const result = applyStrategicMergePatch(pod(), patch, POD);

    // Assess
    expect(types(result)).toEqual(["Ready=True", "ContainersReady=True", "PodScheduled=True", "Initialized=True"]);
  });

  it("refuses a patch list whose order contradicts $setElementOrder", () => {
    // Prepare
    const patch = json({
      status: {
        "$setElementOrder/conditions": [{ type: "Ready" }, { type: "PodScheduled" }],
        conditions: [
          { type: "PodScheduled", status: "False" },
          { type: "Ready", status: "False" },
        ],
      },
    });

    // Act
    const error = patchError(() => applyStrategicMergePatch(pod(), patch, POD));

    // Assess
    expect(error.code).toBe(500);
    expect(error.message).toContain("doesn't match $setElementOrder list");
  });

  it("clears the members $retainKeys does not name", () => {
    // Prepare
    const deployment = { metadata: { name: "d" }, spec: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } } };
    const patch = json({ spec: { strategy: { $retainKeys: ["type"], type: "Recreate" } } });

    // Act
    const result = applyStrategicMergePatch(deployment, patch, PATCH_SCHEMAS["Deployment"] as PatchSchema) as JsonObject;

    // Assess
    expect((result["spec"] as JsonObject)["strategy"]).toEqual({ type: "Recreate" });
  });

  it("refuses with 400 a $retainKeys that is not a list or leaves out a patched member", () => {
    // Act
    const notList = patchError(() => applyStrategicMergePatch(node(), json({ spec: { $retainKeys: "taints" } }), NODE));
    const leftOut = patchError(() => applyStrategicMergePatch(node(), json({ spec: { $retainKeys: ["taints"], unschedulable: true } }), NODE));

    // Assess
    expect(notList.code).toBe(400);
    expect(notList.message).toBe("invalid patch format of retainKeys");
    expect(leftOut.code).toBe(400);
  });

  it("leaves the input untouched", () => {
    // Prepare
    const doc = pod();
    const before = structuredClone(doc);
    const patch = json({
      metadata: { labels: { app: null } },
      spec: { containers: [{ name: "app", env: [{ name: "A", $patch: "delete" }] }] },
      status: { conditions: [{ type: "Ready", status: "False" }] },
    });

    // Act
    applyStrategicMergePatch(doc, patch, POD);

    // Assess
    expect(doc).toEqual(before);
  });

  it("refuses malformed JSON with 400 and Go's message", () => {
    // Act
    const error = patchError(() => applyStrategicMergePatch(node(), "{oops", NODE));

    // Assess
    expect(error.code).toBe(400);
    expect(error.message).toBe("invalid character 'o' looking for beginning of object key string");
  });

  it("refuses a patch that is JSON but not an object with 400, and takes null as no change", () => {
    // Act
    const error = patchError(() => applyStrategicMergePatch(node(), "[]", NODE));
    const unchanged = applyStrategicMergePatch(node(), "null", NODE);

    // Assess
    expect(error.code).toBe(400);
    expect(error.message).toBe("json: cannot unmarshal array into Go value of type map[string]interface {}");
    expect(unchanged).toEqual(node());
  });

  it("answers an unknown $patch value as kube does, with its internal error", () => {
    // Act
    const onMap = patchError(() => applyStrategicMergePatch(node(), json({ metadata: { labels: { $patch: "foo", b: "2" } } }), NODE));
    const inList = patchError(() => applyStrategicMergePatch(pod(), json({ status: { conditions: [{ type: "Ready", $patch: "merge" }] } }), POD));

    // Assess
    expect(onMap.code).toBe(500);
    expect(onMap.message).toBe("unknown patch type: foo in map: map[$patch:foo b:2]");
    expect(inList.message).toBe("merging lists cannot yet be specified in the patch");
  });

  it("refuses a merge-list element without its merge key", () => {
    // Act
    const error = patchError(() => applyStrategicMergePatch(pod(), json({ spec: { containers: [{ image: "httpd" }] } }), POD));

    // Assess
    expect(error.code).toBe(500);
    expect(error.message).toBe("map: map[image:httpd] does not contain declared merge key: name");
  });

  it("refuses lists of lists with 422", () => {
    // Act
    const error = patchError(() => applyStrategicMergePatch({ metadata: { finalizers: [["a"]] } }, json({ metadata: { finalizers: [["b"]] } }), metadataSchema));

    // Assess
    expect(error.code).toBe(422);
    expect(error.message).toBe("lists of lists are not supported");
  });

  it("refuses a malformed directive key with 400", () => {
    // Act
    const error = patchError(() => applyStrategicMergePatch(node(), json({ metadata: { $deleteFromPrimitiveListfinalizers: ["a"] } }), NODE));

    // Assess
    expect(error.code).toBe(400);
    expect(error.message).toBe("invalid patch format of primitive list");
  });

  it("adds new members without their nulls and $patch maps", () => {
    // Prepare
    const patch = json({ spec: { fresh: { a: null, b: 1, gone: { $patch: "delete" }, list: [{ x: 1 }, { $patch: "delete" }] } } });

    // Act
    const result = applyStrategicMergePatch(node(), patch, NODE) as JsonObject;

    // Assess
    expect((result["spec"] as JsonObject)["fresh"]).toEqual({ b: 1, list: [{ x: 1 }] });
  });

  it("replaces a PodDisruptionBudget selector whole (patchStrategy replace)", () => {
    // Prepare
    const pdb = { metadata: { name: "p" }, spec: { selector: { matchLabels: { app: "web" } }, minAvailable: 1 } };
    const patch = json({ spec: { selector: { matchExpressions: [{ key: "tier", operator: "Exists" }] } } });

    // Act
    const result = applyStrategicMergePatch(pdb, patch, PATCH_SCHEMAS["PodDisruptionBudget"] as PatchSchema) as JsonObject;

    // Assess
    expect(result["spec"]).toEqual({ selector: { matchExpressions: [{ key: "tier", operator: "Exists" }] }, minAvailable: 1 });
  });

  it("merges ownerReferences by uid", () => {
    // Prepare
    const doc = { metadata: { ownerReferences: [{ uid: "1", name: "a", controller: true }] } };
    const patch = json({ metadata: { ownerReferences: [{ uid: "1", controller: null }] } });

    // Act
    const result = applyStrategicMergePatch(doc, patch, metadataSchema) as JsonObject;

    // Assess
    expect(result["metadata"]).toEqual({ ownerReferences: [{ uid: "1", name: "a" }] });
  });

  it("describes a PodSpec with kube's merge keys at any prefix, and workloads use it under the template", () => {
    // Act
    const schema = podSpecSchema("spec");
    const deployment = PATCH_SCHEMAS["Deployment"] as PatchSchema;

    // Assess
    expect(schema["spec.containers"]).toEqual({ kind: "merge", mergeKey: "name" });
    expect(schema["spec.initContainers[].ports"]).toEqual({ kind: "merge", mergeKey: "containerPort" });
    expect(schema["spec.ephemeralContainers[].volumeMounts"]).toEqual({ kind: "merge", mergeKey: "mountPath" });
    expect(schema["spec.containers[].volumeDevices"]).toEqual({ kind: "merge", mergeKey: "devicePath" });
    expect(schema["spec.hostAliases"]).toEqual({ kind: "merge", mergeKey: "ip" });
    expect(schema["spec.topologySpreadConstraints"]).toEqual({ kind: "merge", mergeKey: "topologyKey" });
    expect(schema).not.toHaveProperty(["spec.tolerations"]);
    expect(schema).not.toHaveProperty(["spec.readinessGates"]);
    expect(deployment["spec.template.spec.containers[].env"]).toEqual({ kind: "merge", mergeKey: "name" });
    expect(deployment["status.conditions"]).toEqual({ kind: "merge", mergeKey: "type" });
    expect(NODE["spec.podCIDRs"]).toEqual({ kind: "mergePrimitives" });
    expect(NODE).not.toHaveProperty(["spec.taints"]);
  });

  it("property: without lists or directives it agrees with a JSON merge patch", () => {
    fc.assert(
      fc.property(treeObject, treePatch, (doc, patch) => {
        // Act
        const strategic = applyStrategicMergePatch(doc, json(patch), {});
        const merge = applyMergePatch(doc, json(patch));

        // Assess
        expect(strategic).toEqual(merge);
      }),
    );
  });
});

// apimachinery's test struct MergeItem, as a schema
const byName: ListStrategy = { kind: "merge", mergeKey: "name" };
const MERGE_ITEM: PatchSchema = {
  mergingList: byName,
  "mergingList[].mergingList": byName,
  mergingIntList: { kind: "mergePrimitives" },
  mergeItemPtr: byName,
  retainKeysMergingList: byName,
  "retainKeysMap.mergingIntList": { kind: "mergePrimitives" },
  "retainKeysMap.mergingList": byName,
};

type Fixture = { current: JsonObject; patch: JsonObject; result: JsonObject };

// transcribed from the raw cases of k8s.io/apimachinery/pkg/util/strategicpatch/patch_test.go
const FIXTURES: Record<string, Fixture> = {
  "add map and delete map from merging list (two-way)": {
    current: { mergingList: [{ name: 1 }, { name: 2 }] },
    patch: { "$setElementOrder/mergingList": [{ name: 2 }, { name: 3 }], mergingList: [{ name: 3 }, { name: 1, $patch: "delete" }] },
    result: { mergingList: [{ name: 2 }, { name: 3 }] },
  },
  "add map and delete map from merging list (three-way)": {
    current: { mergingList: [{ name: 1 }, { name: 2, other: "b" }, { name: 4, other: "c" }] },
    patch: { "$setElementOrder/mergingList": [{ name: 2 }, { name: 3 }], mergingList: [{ name: 3 }, { name: 1, $patch: "delete" }] },
    result: { mergingList: [{ name: 2, other: "b" }, { name: 4, other: "c" }, { name: 3 }] },
  },
  "add map and delete map from merging list with conflict": {
    current: { mergingList: [{ name: 1, other: "a" }, { name: 4, other: "c" }] },
    patch: { "$setElementOrder/mergingList": [{ name: 2 }, { name: 3 }], mergingList: [{ name: 2 }, { name: 3 }, { name: 1, $patch: "delete" }] },
    result: { mergingList: [{ name: 4, other: "c" }, { name: 2 }, { name: 3 }] },
  },
  "nested patch merge with empty list (two-way)": {
    current: { name: "hi" },
    patch: { mergingList: [{ name: "hello" }, { $patch: "delete", name: "doesntexist" }] },
    result: { name: "hi", mergingList: [{ name: "hello" }] },
  },
  "nested patch merge with empty list (three-way)": {
    current: { name: "hi", mergingList: [{ name: "hello2" }] },
    patch: { "$setElementOrder/mergingList": [{ name: "hello" }, { name: "doesntexist" }], mergingList: [{ name: "hello" }] },
    result: { name: "hi", mergingList: [{ name: "hello" }, { name: "hello2" }] },
  },
  "merge lists of maps with conflict": {
    current: { mergingList: [{ name: 1, other: "a" }, { name: 2, value: 3, other: "b" }] },
    patch: { "$setElementOrder/mergingList": [{ name: 1 }, { name: 2 }, { name: 3 }], mergingList: [{ name: 2, value: 2 }, { name: 3, value: 3 }] },
    result: { mergingList: [{ name: 1, other: "a" }, { name: 2, value: 2, other: "b" }, { name: 3, value: 3 }] },
  },
  "add an item in a list of primitives and preserve order": {
    current: { mergingIntList: [1, 4, 2] },
    patch: { "$setElementOrder/mergingIntList": [3, 1, 2], mergingIntList: [3] },
    result: { mergingIntList: [3, 1, 4, 2] },
  },
  "set elements order in a list with server-only items 3": {
    current: { mergingList: [{ name: 1, other: "a" }, { name: 2, value: 2 }, { name: 7 }, { name: 9 }, { name: 8 }, { name: 3, value: 3 }, { name: 4, value: 4 }] },
    patch: { "$setElementOrder/mergingList": [{ name: 2 }, { name: 1 }, { name: 4 }, { name: 3 }] },
    result: { mergingList: [{ name: 2, value: 2 }, { name: 1, other: "a" }, { name: 7 }, { name: 9 }, { name: 8 }, { name: 4, value: 4 }, { name: 3, value: 3 }] },
  },
  "behavior of set element order for a merging list with duplicate": {
    current: { mergingList: [{ name: 1 }, { name: 2, value: "dup1" }, { name: 3 }, { name: 2, value: "dup2" }, { name: 4 }] },
    patch: { "$setElementOrder/mergingList": [{ name: 2 }, { name: 1 }, { name: 4 }, { name: 3 }, { name: 2 }] },
    result: { mergingList: [{ name: 2, value: "dup1" }, { name: 2, value: "dup2" }, { name: 1 }, { name: 4 }, { name: 3 }] },
  },
  "add field to map in merging list nested in merging list with deletion conflict": {
    current: { mergingList: [{ name: 1, other: "a", mergingList: [{ name: 2, value: 2, other: "d" }] }, { name: 2, other: "b" }] },
    patch: {
      "$setElementOrder/mergingList": [{ name: 1 }, { name: 2 }],
      mergingList: [{ "$setElementOrder/mergingList": [{ name: 2 }, { name: 1 }], name: 1, mergingList: [{ name: 1, value: 1 }] }],
    },
    result: {
      mergingList: [
        { name: 1, other: "a", mergingList: [{ name: 2, value: 2, other: "d" }, { name: 1, value: 1 }] },
        { name: 2, other: "b" },
      ],
    },
  },
  "retainKeys map adds an item and deletes an item in nested merging int list": {
    current: { retainKeysMap: { name: "foo", mergingIntList: [1, 2, 3, 4] } },
    patch: {
      retainKeysMap: {
        $retainKeys: ["mergingIntList", "name"],
        mergingIntList: [5],
        "$deleteFromPrimitiveList/mergingIntList": [2],
        "$setElementOrder/mergingIntList": [1, 3, 5],
      },
    },
    result: { retainKeysMap: { name: "foo", mergingIntList: [1, 3, 5, 4] } },
  },
  "retainKeys list of maps clears a field": {
    current: { retainKeysMergingList: [{ name: "bar" }, { name: "foo", value: "a", other: "x" }] },
    patch: {
      "$setElementOrder/retainKeysMergingList": [{ name: "bar" }, { name: "foo" }],
      retainKeysMergingList: [{ $retainKeys: ["name", "value"], name: "foo" }],
    },
    result: { retainKeysMergingList: [{ name: "bar" }, { name: "foo", value: "a" }] },
  },
  "delete and reorder in one list, reorder in another": {
    current: {
      mergingList: [
        { name: "a", value: "a" },
        { name: "b", value: "b" },
      ],
      mergeItemPtr: [
        { name: "c", value: "c" },
        { name: "d", value: "d" },
      ],
    },
    patch: {
      "$setElementOrder/mergingList": [{ name: "b" }],
      "$setElementOrder/mergeItemPtr": [{ name: "d" }, { name: "c" }],
      mergingList: [{ $patch: "delete", name: "a" }],
    },
    result: {
      mergingList: [{ name: "b", value: "b" }],
      mergeItemPtr: [
        { name: "d", value: "d" },
        { name: "c", value: "c" },
      ],
    },
  },
};

describe("applyStrategicMergePatch against apimachinery's own fixtures", () => {
  it.each(Object.entries(FIXTURES))("%s", (_name, fixture) => {
    // Act
    const result = applyStrategicMergePatch(fixture.current, json(fixture.patch), MERGE_ITEM);

    // Assess
    expect(result).toEqual(fixture.result);
  });
});
