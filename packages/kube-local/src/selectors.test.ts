import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  escapeFieldSelectorValue,
  formatLabelSelector,
  labelSelectorObjectToRequirements,
  matchesFieldRequirements,
  matchesLabelRequirements,
  matchesLabelSelectorObject,
  parseFieldSelector,
  parseLabelSelector,
  SelectorParseError,
  type LabelRequirement,
} from "./selectors";

/** Runs `fn` and returns the message of the SelectorParseError it throws. */
function parseError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof SelectorParseError) return error.message;
    throw error;
  }
  throw new Error("expected a SelectorParseError");
}

const NAME_REGEX_ERROR =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_REGEX_ERROR =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const SUBDOMAIN_REGEX_ERROR =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

describe("parseLabelSelector", () => {
  it.each<[string, LabelRequirement[]]>([
    ["a=b", [{ key: "a", operator: "=", values: ["b"] }]],
    ["a==b", [{ key: "a", operator: "==", values: ["b"] }]],
    ["a!=b", [{ key: "a", operator: "!=", values: ["b"] }]],
    ["a in (x,y)", [{ key: "a", operator: "in", values: ["x", "y"] }]],
    ["a notin (x, y)", [{ key: "a", operator: "notin", values: ["x", "y"] }]],
    ["a", [{ key: "a", operator: "exists", values: [] }]],
    ["!a", [{ key: "a", operator: "!", values: [] }]],
    ["a>5", [{ key: "a", operator: "gt", values: ["5"] }]],
    ["a<5", [{ key: "a", operator: "lt", values: ["5"] }]],
    ["a=", [{ key: "a", operator: "=", values: [""] }]],
    ["example.com/app-name=web_1.0", [{ key: "example.com/app-name", operator: "=", values: ["web_1.0"] }]],
  ])("parses %j", (text, expected) => {
    // Act
    const requirements = parseLabelSelector(text);

    // Assess
    expect(requirements).toEqual(expected);
  });

  it("parses an empty selector as no requirements, which match everything", () => {
    // Act
    const requirements = parseLabelSelector("");

    // Assess
    expect(requirements).toEqual([]);
    expect(matchesLabelRequirements(requirements, undefined)).toBe(true);
  });

  it("tolerates whitespace around everything and sorts requirements by key", () => {
    // Act
    const requirements = parseLabelSelector(" \tz != 1 ,\n a in ( p , q ) , !m , k ");

    // Assess
    expect(requirements).toEqual([
      { key: "a", operator: "in", values: ["p", "q"] },
      { key: "k", operator: "exists", values: [] },
      { key: "m", operator: "!", values: [] },
      { key: "z", operator: "!=", values: ["1"] },
    ]);
  });

  it("keeps set values sorted and unique, with empty values where commas leave gaps", () => {
    // Act
    const [dedupe] = parseLabelSelector("a in (y,x,x)");
    const [gaps] = parseLabelSelector("x in (foo,,baz)");
    const [empty] = parseLabelSelector("a in ()");
    const [leading] = parseLabelSelector("a notin (,b)");

    // Assess
    expect(dedupe?.values).toEqual(["x", "y"]);
    expect(gaps?.values).toEqual(["", "baz", "foo"]);
    expect(empty?.values).toEqual([""]);
    expect(leading?.values).toEqual(["", "b"]);
  });

  it("reads the keywords in and notin as plain names where a name is expected", () => {
    // Act
    const requirements = parseLabelSelector("in in (in, notin),notin");

    // Assess
    expect(requirements).toEqual([
      { key: "in", operator: "in", values: ["in", "notin"] },
      { key: "notin", operator: "exists", values: [] },
    ]);
  });

  it.each([
    ["a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"],
    ["a$=b", `unable to parse requirement: <nil>: Invalid value: "a$": ${NAME_REGEX_ERROR}`],
    ["a=b$", `unable to parse requirement: values[0][a]: Invalid value: "b$": ${VALUE_REGEX_ERROR}`],
    ["a>b", "unable to parse requirement: values[0]: Invalid value: \"b\": for 'Gt', 'Lt' operators, the value must be an integer"],
    ["a>99999999999999999999", "unable to parse requirement: values[0]: Invalid value: \"99999999999999999999\": for 'Gt', 'Lt' operators, the value must be an integer"],
    ["a,", "found '', expected: identifier after ','"],
    ["=a", "found '=', expected: !, identifier, or 'end of string'"],
    ["a in (b", "unable to parse requirement: found '', expected: ',' or ')'"],
    ["a in b", "unable to parse requirement: found 'b' expected: '('"],
    ["a in (b c)", "unable to parse requirement: found 'c', expected: ',' or ')'"],
    ["a in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"],
    ["a=(b)", "unable to parse requirement: found '(', expected: identifier"],
    ["!a=b", "found '=', expected: ',' or 'end of string'"],
    ["!=a", "found '!=', expected: !, identifier, or 'end of string'"],
    ["!,a", "unable to parse requirement: found ',', expected: identifier"],
    ["a=b c", "found 'c', expected: ',' or 'end of string'"],
    ["Example.com/a=b", `unable to parse requirement: <nil>: Invalid value: "Example.com/a": prefix part ${SUBDOMAIN_REGEX_ERROR}`],
    ["/a", 'unable to parse requirement: <nil>: Invalid value: "/a": prefix part must be non-empty'],
    ["a/", `unable to parse requirement: <nil>: Invalid value: "a/": name part must be non-empty; ${NAME_REGEX_ERROR}`],
    [
      "a/b/c",
      `unable to parse requirement: <nil>: Invalid value: "a/b/c": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ],
    [`${"k".repeat(64)}=v`, `unable to parse requirement: <nil>: Invalid value: "${"k".repeat(64)}": name part must be no more than 63 characters`],
    [`a=${"v".repeat(64)}`, `unable to parse requirement: values[0][a]: Invalid value: "${"v".repeat(64)}": must be no more than 63 characters`],
  ])("refuses %j with apimachinery's message", (text, message) => {
    // Act
    const error = parseError(() => parseLabelSelector(text));

    // Assess
    expect(error).toBe(message);
  });

  it("accepts names and values of exactly 63 characters and a 253 character prefix", () => {
    // Prepare
    const prefix = Array.from({ length: 4 }, () => "p".repeat(62)).join(".") + ".x";
    const text = `${prefix}/${"k".repeat(63)}=${"v".repeat(63)}`;

    // Act
    const [requirement] = parseLabelSelector(text);

    // Assess
    expect(prefix).toHaveLength(253);
    expect(requirement?.values).toEqual(["v".repeat(63)]);
  });

  it("ends the selector at a NUL where a token would start, as the Go lexer does", () => {
    // Act
    const requirements = parseLabelSelector("a=b \0this is ignored");
    const error = parseError(() => parseLabelSelector("a=b\0 this"));

    // Assess
    expect(requirements).toEqual([{ key: "a", operator: "=", values: ["b"] }]);
    // a NUL inside a token only ends that token
    expect(error).toBe("found 'this', expected: ',' or 'end of string'");
  });
});

describe("matchesLabelRequirements", () => {
  const labels = { app: "web", tier: "front", rank: "7" };

  it.each([
    ["app=web", true],
    ["app==web", true],
    ["app=api", false],
    ["missing=", false],
    ["app!=api", true],
    ["app!=web", false],
    ["missing!=x", true],
    ["tier in (front,back)", true],
    ["tier in (back)", false],
    ["missing in (x)", false],
    ["tier notin (back)", true],
    ["tier notin (front)", false],
    ["missing notin (x)", true],
    ["app", true],
    ["missing", false],
    ["!missing", true],
    ["!app", false],
    ["rank>6", true],
    ["rank>7", false],
    ["rank<8", true],
    ["rank<7", false],
    ["app>1", false],
    ["missing<1", false],
    ["app=web,tier=front,!missing", true],
    ["app=web,tier=back", false],
  ])("%j against app=web,tier=front,rank=7 -> %s", (text, expected) => {
    // Prepare
    const requirements = parseLabelSelector(text);

    // Act
    const matched = matchesLabelRequirements(requirements, labels);

    // Assess
    expect(matched).toBe(expected);
  });

  it("treats missing labels as an empty set", () => {
    // Act
    const notIn = matchesLabelRequirements(parseLabelSelector("a notin (x)"), undefined);
    const exists = matchesLabelRequirements(parseLabelSelector("a"), undefined);

    // Assess
    expect(notIn).toBe(true);
    expect(exists).toBe(false);
  });

  it("does not find inherited properties such as toString", () => {
    // Act
    const matched = matchesLabelRequirements(parseLabelSelector("toString"), {});

    // Assess
    expect(matched).toBe(false);
  });

  const labelName = fc.stringMatching(/^[a-z0-9]([-a-z0-9_.]{0,6}[a-z0-9])?$/);
  const labelKey = fc.oneof(labelName, fc.tuple(fc.stringMatching(/^[a-z0-9]{1,5}(\.[a-z0-9]{1,5}){0,2}$/), labelName).map(([prefix, name]) => `${prefix}/${name}`));
  const labelValue = fc.oneof(fc.constant(""), labelName);
  const requirement: fc.Arbitrary<LabelRequirement> = fc.oneof(
    fc.record({ key: labelKey, operator: fc.constantFrom("=" as const, "==" as const, "!=" as const), values: labelValue.map((v) => [v]) }),
    fc.record({ key: labelKey, operator: fc.constantFrom("in" as const, "notin" as const), values: fc.uniqueArray(labelValue, { minLength: 1, maxLength: 4 }) }),
    fc.record({ key: labelKey, operator: fc.constantFrom("exists" as const, "!" as const), values: fc.constant<string[]>([]) }),
    fc.record({ key: labelKey, operator: fc.constantFrom("gt" as const, "lt" as const), values: fc.nat(1000).map((n) => [String(n)]) }),
  );
  const labelSet = fc.dictionary(labelKey, fc.oneof(labelValue, fc.nat(1000).map(String)), { maxKeys: 6 });

  it("property: a selector printed and parsed back holds the same requirements and matches the same label sets", () => {
    fc.assert(
      fc.property(fc.array(requirement, { maxLength: 5 }), labelSet, (requirements, labels) => {
        // Prepare
        const text = formatLabelSelector(requirements);

        // Act
        const parsed = parseLabelSelector(text);

        // Assess
        const normalized = requirements.map((r) => ({ ...r, values: [...new Set(r.values)].sort() })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        expect(parsed.map((r) => r.key)).toEqual(normalized.map((r) => r.key));
        expect(matchesLabelRequirements(parsed, labels)).toBe(matchesLabelRequirements(requirements, labels));
        expect(formatLabelSelector(parsed).split(",").sort()).toEqual(text.split(",").sort());
      }),
    );
  });

  it("property: a set selector printed as a=b pairs matches exactly the label sets that contain it", () => {
    fc.assert(
      fc.property(fc.dictionary(labelKey, labelValue, { maxKeys: 4 }), labelSet, (wanted, labels) => {
        // Prepare
        const text = Object.entries(wanted)
          .map(([k, v]) => `${k}=${v}`)
          .join(",");

        // Act
        const matched = matchesLabelRequirements(parseLabelSelector(text), labels);

        // Assess
        const contained = Object.entries(wanted).every(([k, v]) => Object.hasOwn(labels, k) && labels[k] === v);
        expect(matched).toBe(contained);
      }),
    );
  });
});

describe("labelSelectorObjectToRequirements", () => {
  it("turns matchLabels into = and matchExpressions into in, notin, exists and !, sorted by key", () => {
    // Prepare
    const selector = {
      matchLabels: { app: "web" },
      matchExpressions: [
        { key: "tier", operator: "In", values: ["front", "back"] },
        { key: "env", operator: "NotIn", values: ["dev"] },
        { key: "owner", operator: "Exists" },
        { key: "legacy", operator: "DoesNotExist" },
      ],
    };

    // Act
    const requirements = labelSelectorObjectToRequirements(selector);

    // Assess
    expect(requirements).toEqual([
      { key: "app", operator: "=", values: ["web"] },
      { key: "env", operator: "notin", values: ["dev"] },
      { key: "legacy", operator: "!", values: [] },
      { key: "owner", operator: "exists", values: [] },
      { key: "tier", operator: "in", values: ["front", "back"] },
    ]);
  });

  it.each([
    [{ matchExpressions: [{ key: "a", operator: "Gt", values: ["1"] }] }, '"Gt" is not a valid label selector operator'],
    [{ matchExpressions: [{ key: "a", operator: "In", values: [] }] }, "values: Invalid value: []string(nil): for 'in', 'notin' operators, values set can't be empty"],
    [{ matchExpressions: [{ key: "a", operator: "Exists", values: ["x"] }] }, 'values: Invalid value: []string{"x"}: values set must be empty for exists and does not exist'],
    [{ matchLabels: { "a b": "c" } }, `key: Invalid value: "a b": ${NAME_REGEX_ERROR}`],
    [
      { matchExpressions: [{ key: "a$", operator: "In", values: ["b$"] }] },
      `[key: Invalid value: "a$": ${NAME_REGEX_ERROR}, values[0][a$]: Invalid value: "b$": ${VALUE_REGEX_ERROR}]`,
    ],
  ])("refuses %j", (selector, message) => {
    // Act
    const error = parseError(() => labelSelectorObjectToRequirements(selector));

    // Assess
    expect(error).toBe(message);
  });
});

describe("matchesLabelSelectorObject", () => {
  const labels = { app: "web" };

  it("matches nothing with a null or missing selector", () => {
    // Act
    const fromNull = matchesLabelSelectorObject(null, labels, { emptyMatchesAll: true });
    const fromUndefined = matchesLabelSelectorObject(undefined, labels, { emptyMatchesAll: true });

    // Assess
    expect(fromNull).toBe(false);
    expect(fromUndefined).toBe(false);
  });

  it("matches everything with an empty selector only when emptyMatchesAll is set", () => {
    // Act
    const everything = matchesLabelSelectorObject({}, labels, { emptyMatchesAll: true });
    const emptyLists = matchesLabelSelectorObject({ matchLabels: {}, matchExpressions: [] }, undefined, { emptyMatchesAll: true });
    const nothing = matchesLabelSelectorObject({}, labels, { emptyMatchesAll: false });

    // Assess
    expect(everything).toBe(true);
    expect(emptyLists).toBe(true);
    expect(nothing).toBe(false);
  });

  it("matches by labels and expressions, whatever emptyMatchesAll says", () => {
    // Prepare
    const selector = { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "DoesNotExist" }] };

    // Act
    const matched = matchesLabelSelectorObject(selector, labels, { emptyMatchesAll: false });
    const missed = matchesLabelSelectorObject(selector, { app: "web", tier: "x" }, { emptyMatchesAll: true });

    // Assess
    expect(matched).toBe(true);
    expect(missed).toBe(false);
  });

  it("matches nothing with an invalid selector, as the eviction subresource skips it", () => {
    // Act
    const matched = matchesLabelSelectorObject({ matchExpressions: [{ key: "app", operator: "Bogus", values: ["web"] }] }, labels, { emptyMatchesAll: true });

    // Assess
    expect(matched).toBe(false);
  });
});

describe("parseFieldSelector", () => {
  const supported = new Set(["metadata.name", "metadata.namespace", "spec.nodeName", "status.phase"]);

  it("parses =, == and != terms, sorted, skipping empty terms", () => {
    // Act
    const requirements = parseFieldSelector("status.phase!=Failed,,spec.nodeName==n1,metadata.name=web-0,", supported, "pods");

    // Assess
    expect(requirements).toEqual([
      { field: "metadata.name", operator: "=", value: "web-0" },
      { field: "spec.nodeName", operator: "=", value: "n1" },
      { field: "status.phase", operator: "!=", value: "Failed" },
    ]);
  });

  it("parses an empty selector as no requirements", () => {
    // Act
    const requirements = parseFieldSelector("", supported, "pods");

    // Assess
    expect(requirements).toEqual([]);
  });

  it("unescapes \\\\, \\, and \\= in values and splits only on unescaped commas", () => {
    // Act
    const requirements = parseFieldSelector("metadata.name=a\\,b\\=c\\\\d,spec.nodeName=", supported, "pods");

    // Assess
    expect(requirements).toEqual([
      { field: "metadata.name", operator: "=", value: "a,b=c\\d" },
      { field: "spec.nodeName", operator: "=", value: "" },
    ]);
  });

  it("refuses an unsupported field with kube's message", () => {
    // Act
    const error = parseError(() => parseFieldSelector("spec.foo=bar", supported, "pods"));

    // Assess
    expect(error).toBe("field label not supported: spec.foo");
  });

  it("keeps whitespace, as apimachinery does, so a spaced field is unsupported", () => {
    // Act
    const error = parseError(() => parseFieldSelector("spec.nodeName = n1", supported, "pods"));

    // Assess
    expect(error).toBe("field label not supported: spec.nodeName ");
  });

  it.each([
    ["spec.nodeName", "invalid selector: 'spec.nodeName'; can't understand 'spec.nodeName'"],
    ["a=1,b", "invalid selector: 'a=1,b'; can't understand 'b'"],
    ["spec.nodeName=a=b", "invalid field selector: unescaped character in value: 61"],
    ["spec.nodeName=a\\x", "invalid field selector: invalid escape sequence: \\x"],
    ["spec.nodeName=a\\", "invalid field selector: invalid escape sequence: \\"],
  ])("refuses %j", (text, message) => {
    // Act
    const error = parseError(() => parseFieldSelector(text, supported, "pods"));

    // Assess
    expect(error).toBe(message);
  });

  it("reports syntax errors before unsupported fields", () => {
    // Act
    const error = parseError(() => parseFieldSelector("spec.foo=1,zzz", supported, "pods"));

    // Assess
    expect(error).toBe("invalid selector: 'spec.foo=1,zzz'; can't understand 'zzz'");
  });

  it("property: any value survives escaping and parsing", () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        // Act
        const [requirement] = parseFieldSelector(`spec.nodeName=${escapeFieldSelectorValue(value)}`, supported, "pods");

        // Assess
        expect(requirement).toEqual({ field: "spec.nodeName", operator: "=", value });
      }),
    );
  });
});

describe("matchesFieldRequirements", () => {
  const fields: Record<string, string> = { "spec.nodeName": "n1", "status.phase": "Running" };
  const getField = (field: string): string => fields[field] ?? "";

  it.each([
    ["spec.nodeName=n1", true],
    ["spec.nodeName=n2", false],
    ["spec.nodeName!=n2", true],
    ["spec.nodeName!=n1", false],
    ["spec.nodeName=n1,status.phase!=Running", false],
    ["spec.nodeName=n1,status.phase=Running", true],
    ["metadata.name=", true],
    ["", true],
  ])("%j -> %s", (text, expected) => {
    // Prepare
    const requirements = parseFieldSelector(text, new Set(["spec.nodeName", "status.phase", "metadata.name"]), "pods");

    // Act
    const matched = matchesFieldRequirements(requirements, getField);

    // Assess
    expect(matched).toBe(expected);
  });
});
