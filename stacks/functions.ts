/**
 * spot-manager's Lambda functions, built one way: Node.js 24 on arm64, ESM bundles, no reserved
 * concurrency unless a stage asks for it, and a log group whose retention (and, in prod, survival
 * of a `sst remove`) this stage manages.
 */
import { RemovalPolicy } from "aws-cdk-lib";
import type * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { NagSuppressions } from "cdk-nag";
import { Function, type FunctionProps, type Stack } from "sst/constructs";
import type { StageConfig } from "./config";

/** Lambda's newest Node.js runtime (nodejs22.x leaves Lambda support in 2027). */
export const FUNCTION_RUNTIME = "nodejs24.x" as const;

export type SpotManagerFunctionProps = Omit<FunctionProps, "runtime" | "architecture" | "nodejs" | "logRetention" | "tracing"> & { functionName: string; handler: string };

const MANAGED_POLICY_REASONS: Record<string, string> = {
  AWSLambdaBasicExecutionRole: "the function writes its logs (and EMF metrics) to CloudWatch Logs",
  AWSLambdaVPCAccessExecutionRole: "the function runs in the cluster's VPC and needs its network interfaces",
};

export function spotManagerFunction(stack: Stack, id: string, props: SpotManagerFunctionProps, config: StageConfig): Function {
  const fn = new Function(stack, id, {
    ...props,
    runtime: FUNCTION_RUNTIME,
    architecture: "arm_64",
    // nothing here uses the X-Ray SDK; active tracing would only add a wildcard grant
    tracing: "disabled",
    nodejs: { format: "esm", minify: true },
  });
  const logGroup = new logs.LogRetention(stack, `${id}LogRetention`, {
    logGroupName: `/aws/lambda/${props.functionName}`,
    retention: config.observability.logRetentionDays as logs.RetentionDays,
    removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
  // deleted after the function, so no late log line recreates the group
  fn.node.addDependency(logGroup);
  const managed = ["AWSLambdaBasicExecutionRole", ...(props.vpc ? ["AWSLambdaVPCAccessExecutionRole"] : [])];
  NagSuppressions.addResourceSuppressions(fn.role as iam.Role, [
    {
      id: "AwsSolutions-IAM4",
      reason: managed.map((m) => `${m}: ${MANAGED_POLICY_REASONS[m]}`).join("; "),
      appliesTo: managed.map((m) => `Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/${m}`),
    },
  ]);
  return fn;
}

/** Suppresses exactly these AwsSolutions-IAM5 findings on the function's own policy, with the reason. */
export function acceptWildcards(fn: Function, reason: string, findings: (string | { regex: string })[]): void {
  NagSuppressions.addResourceSuppressions(fn.role as iam.Role, [{ id: "AwsSolutions-IAM5", reason, appliesTo: findings }], true);
}
