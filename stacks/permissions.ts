/**
 * The only way spot-manager grants an action on Resource "*": in a policy of its own, holding only
 * actions that AWS defines without resource-level permissions, with the cdk-nag suppression on that
 * policy alone. A wildcard resource added anywhere else is a cdk-nag error.
 */
import * as iam from "aws-cdk-lib/aws-iam";
import { NagSuppressions } from "cdk-nag";
import type { Construct } from "constructs";

/** Actions that accept no resource ARN (Service Authorization Reference: no resource types listed). */
export const ACTIONS_WITHOUT_RESOURCE_SCOPE = new Set([
  "autoscaling:DescribeAutoScalingGroups",
  "autoscaling:DescribeAutoScalingInstances",
  "autoscaling:DescribeLaunchConfigurations",
  "autoscaling:DescribeScalingActivities",
  "autoscaling:DescribeTags",
  "cloudwatch:GetMetricData",
  "ec2:DescribeImages",
  "ec2:DescribeInstances",
  "ec2:DescribeInstanceTypes",
  "ec2:DescribeLaunchTemplateVersions",
  "ec2:GetInstanceTypesFromInstanceRequirements",
  "ecr:GetAuthorizationToken",
]);

/**
 * Grants `actions` on "*" to the role through a policy construct of its own, suppressing exactly
 * AwsSolutions-IAM5 `Resource::*` there. Throws when an action does have resource-level permissions.
 */
export function grantWithoutResourceScope(scope: Construct, id: string, role: iam.IRole, actions: string[], why: string): iam.Policy {
  const scoped = actions.filter((a) => !ACTIONS_WITHOUT_RESOURCE_SCOPE.has(a));
  if (scoped.length > 0) throw new Error(`${scoped.join(", ")} can be limited to resources: grant them on their ARNs, not on "*"`);
  const policy = new iam.Policy(scope, id, { statements: [new iam.PolicyStatement({ sid: id, actions, resources: ["*"] })], roles: [role] });
  NagSuppressions.addResourceSuppressions(policy, [
    { id: "AwsSolutions-IAM5", reason: `${actions.join(", ")} have no resource-level permissions; ${why}`, appliesTo: ["Resource::*"] },
  ]);
  return policy;
}
