/** Helpers for reading synthesized templates. */
import type { Template } from "aws-cdk-lib/assertions";

/** Every IAM statement of the templates' policies (inline and managed by CDK). */
export function statements(template: Template): { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown; Sid?: string }[] {
  const policies = template.findResources("AWS::IAM::Policy");
  return Object.values(policies).flatMap((p) => (p as { Properties: { PolicyDocument: { Statement: never[] } } }).Properties.PolicyDocument.Statement);
}

/** Renders a CloudFormation string expression the way it reads: joins, the partition, other references as ${Name}. */
export function rendered(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  const v = value as Record<string, unknown>;
  if (Array.isArray(v["Fn::Join"])) {
    const [sep, parts] = v["Fn::Join"] as [string, unknown[]];
    return parts.map((p) => String(rendered(p))).join(sep);
  }
  if (v["Ref"] === "AWS::Partition") return "aws";
  if (typeof v["Ref"] === "string") return `\${${v["Ref"]}}`;
  if (Array.isArray(v["Fn::GetAtt"])) return `\${${(v["Fn::GetAtt"] as string[]).join(".")}}`;
  if (Array.isArray(value)) return value.map(rendered);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rendered(x)]));
}
