import { describe, expect, it } from "vitest";
import { compileJavaPattern, translateJavaPattern, UntranslatablePatternError } from "../src/java-pattern";

const accepts = (pattern: string, value: string) => compileJavaPattern(pattern).test(value);

describe("Java patterns from AWS's models, held as AWS holds them", () => {
  it("matches the whole value, as AWS does ([\\w+=,.@-]* refuses 'a:b', like STS's RoleSessionName)", () => {
    expect(accepts("[\\w+=,.@-]*", "a:b")).toBe(false);
    expect(accepts("[\\w+=,.@-]*", "deploy@ci=1,2.3")).toBe(true);
    expect(accepts("[A-Za-z0-9\\-_\\/]+", "autoscaling:TEST_NOTIFICATION")).toBe(false);
  });

  it("reads escapes Java allows and JavaScript's Unicode mode does not (\\-, \\_, \\!, \\:)", () => {
    expect(accepts("^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-]*$", "!env:prod")).toBe(true);
    expect(accepts("[0-9A-Za-z][\\-\\.\\_0-9A-Za-z]{0,126}[0-9A-Za-z]", "a_b-c.d")).toBe(true);
    expect(accepts("[\\w+=,.@\\:-]*", "a:b")).toBe(true);
    expect(accepts("^arn:aws([a-z]|\\-)*:events:([a-z]|\\d|\\-)*:([0-9]{12})?:connection\\/[\\.\\-_A-Za-z0-9]+\\/[\\-A-Za-z0-9]+$", "arn:aws:events:us-west-2:123456789012:connection/c1/abc-1")).toBe(true);
  });

  it("keeps Java's ASCII-only POSIX classes and its Unicode properties", () => {
    expect(accepts("\\p{Print}+", "plain text ~")).toBe(true);
    expect(accepts("\\p{Print}+", "tab\there")).toBe(false);
    expect(accepts("\\p{Print}+", "é")).toBe(false);
    expect(accepts("\\p{XDigit}{8}", "0a1B2c3D")).toBe(true);
    expect(accepts("([A-Za-z\\-' 0-9._]|\\p{IsLetter})*", "Zoë O'Neil")).toBe(true);
    expect(accepts("^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$", "名前 1")).toBe(true);
  });

  it("treats \\s as Java does (ASCII whitespace only)", () => {
    expect(accepts("\\s*", " \t\n")).toBe(true);
    expect(accepts("\\s*", "\u00a0")).toBe(false);
    expect(accepts("[^\\s]+", "\u00a0")).toBe(true);
  });

  it("joins escaped surrogate pairs into one code point, as Java does", () => {
    const xmlChars = "[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\r\\n\\t]*";
    expect(accepts(xmlChars, "name 😀")).toBe(true);
    expect(accepts(xmlChars, "bell\u0007")).toBe(false);
  });

  it("supports nested, intersected and negated classes", () => {
    expect(accepts("[\\p{Print}&&[^|:/]]+", "abc")).toBe(true);
    expect(accepts("[\\p{Print}&&[^|:/]]+", "a|b")).toBe(false);
    expect(accepts("[a-z[0-9]]+", "a1")).toBe(true);
    expect(accepts("[^a-z[0-9]]+", "A-")).toBe(true);
    expect(accepts("[^a-z[0-9]]+", "a")).toBe(false);
    expect(accepts("[\\w-.+]+@[\\w-.+]+", "a-b.c+d@host.example")).toBe(true);
  });

  it("supports inline flags, \\A and \\z, octal escapes, possessive and stacked quantifiers", () => {
    expect(accepts("(?i)all|[0-9]{12}", "ALL")).toBe(true);
    expect(accepts("(?s).+", "two\nlines")).toBe(true);
    expect(accepts(".+", "two\nlines")).toBe(false);
    expect(accepts("\\A[a-z]+\\z", "abc")).toBe(true);
    expect(accepts("[^/:|\\000-\\037]+", "name\u0001")).toBe(false);
    expect(accepts("arn:aws:kinesisanalytics:[a-z]{2}-[a-z]+-\\d{1}+:\\d{12}+:application/[a-zA-Z0-9_.-]{1,128}", "arn:aws:kinesisanalytics:us-west-2:123456789012:application/app")).toBe(true);
    expect(accepts("^\\S+{1,256}$", "no-spaces")).toBe(true);
    expect(accepts("^([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)${1,128}", "tag value")).toBe(true);
  });

  it("refuses, by name, what it cannot translate faithfully", () => {
    expect(() => translateJavaPattern("\\p{InGreek}+")).toThrowError(UntranslatablePatternError);
    expect(() => translateJavaPattern("(?x) a b ")).toThrowError(/unsupported inline flag 'x'/);
    expect(() => translateJavaPattern("\\X")).toThrowError(/unsupported escape/);
  });
});
