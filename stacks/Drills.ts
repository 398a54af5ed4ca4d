/**
 * Drills with real interruptions: an AWS FIS experiment template that sends spot interruption
 * notices to this cluster's running spot instances (selected by the cluster tag), with its role.
 */
import { Stack } from "aws-cdk-lib";
import * as fis from "aws-cdk-lib/aws-fis";
import * as iam from "aws-cdk-lib/aws-iam";
import { use, type StackContext } from "sst/constructs";
import { Cluster } from "./Cluster";
import { grantWithoutResourceScope } from "./permissions";

export interface DrillsOutputs {
  experimentTemplateId?: string;
}

export function Drills({ stack, app }: StackContext): DrillsOutputs {
  const { clusterName, config } = use(Cluster);
  const settings = config.drills.fis;
  if (!settings.enabled) return {};
  const { partition, region, account } = Stack.of(stack);
  const clusterTag = `kubernetes.io/cluster/${clusterName}`;
  const role = new iam.Role(stack, "FisRole", {
    description: "AWS FIS sends spot interruptions to spot-manager's cluster instances",
    assumedBy: new iam.ServicePrincipal("fis.amazonaws.com", { conditions: { StringEquals: { "aws:SourceAccount": account } } }),
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ["ec2:SendSpotInstanceInterruptions"],
      resources: [`arn:${partition}:ec2:${region}:${account}:instance/*`],
      conditions: { StringEquals: { [`aws:ResourceTag/${clusterTag}`]: "owned" } },
    }),
  );
  grantWithoutResourceScope(stack, "FisTargetDiscovery", role, ["ec2:DescribeInstances"], "FIS resolves the experiment's target instances with it");
  const template = new fis.CfnExperimentTemplate(stack, "SpotInterruptionDrill", {
    description: `spot-manager ${app.stage}: interrupt ${settings.instanceCount} spot instance(s) of ${clusterName}`,
    roleArn: role.roleArn,
    stopConditions: [{ source: "none" }],
    targets: {
      SpotInstances: {
        resourceType: "aws:ec2:spot-instance",
        resourceTags: { [clusterTag]: "owned" },
        filters: [{ path: "State.Name", values: ["running"] }],
        selectionMode: `COUNT(${settings.instanceCount})`,
      },
    },
    actions: {
      InterruptSpot: {
        actionId: "aws:ec2:send-spot-instance-interruptions",
        description: "Send the two-minute spot interruption notice",
        parameters: { durationBeforeInterruption: `PT${settings.durationBeforeInterruptionMinutes}M` },
        targets: { SpotInstances: "SpotInstances" },
      },
    },
    tags: { Name: `spot-manager-${app.stage}-spot-interruption`, "spot-manager:stage": app.stage },
  });
  stack.addOutputs({ SpotInterruptionDrill: template.attrId });
  return { experimentTemplateId: template.attrId };
}
