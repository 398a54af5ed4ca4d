/**
 * What `sst remove` keeps. Every resource is removed with its stage, except data in a stage with
 * retainOnDelete (prod): log groups, dead-letter queues, ECR repositories, secrets and KMS keys.
 * Applied as an aspect, after SST has set its default removal policy on everything.
 */
import { CfnResource, RemovalPolicy, type IAspect } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/** Resource types that hold data wherever they appear. */
export const DATA_RESOURCE_TYPES = new Set(["AWS::Logs::LogGroup", "AWS::ECR::Repository", "AWS::SecretsManager::Secret", "AWS::KMS::Key"]);

const DATA_MARK = "spot-manager:data";

/** Marks a resource whose type is not always data (a dead-letter queue) as data of this stage. */
export function markAsData(construct: IConstruct): void {
  (construct.node.defaultChild ?? construct).node.addMetadata(DATA_MARK, true);
}

/** Whether `sst remove` keeps this resource in a stage that retains its data. */
export function isData(resource: CfnResource): boolean {
  return DATA_RESOURCE_TYPES.has(resource.cfnResourceType) || resource.node.metadata.some((m) => m.type === DATA_MARK);
}

/** Keeps the data resources of a stage with retainOnDelete; SST's default policy removes everything else. */
export class RetainData implements IAspect {
  visit(node: IConstruct): void {
    if (CfnResource.isCfnResource(node) && isData(node)) node.applyRemovalPolicy(RemovalPolicy.RETAIN);
  }
}
