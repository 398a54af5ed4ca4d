import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { synth } from "./synth";

let imported: Awaited<ReturnType<typeof synth>>;
beforeAll(async () => {
  imported = await synth("shared", {
    cluster: { mode: "import", name: "existing-eks", import: { vpcId: "vpc-0abc1234", kubectlRoleArn: "arn:aws:iam::123456789012:role/existing-kubectl" } },
  });
}, 120_000);

describe("an imported cluster", () => {
  it("creates no VPC, cluster or node groups, and still wires the interruption path to it", () => {
    const cluster = imported.template("Cluster");
    cluster.resourceCountIs("AWS::EC2::VPC", 0);
    cluster.resourceCountIs("Custom::AWSCDK-EKS-Cluster", 0);
    cluster.resourceCountIs("AWS::EKS::Nodegroup", 0);
    const interruptions = imported.template("Interruptions");
    interruptions.hasResourceProperties("AWS::EKS::AccessEntry", { ClusterName: "existing-eks", KubernetesGroups: ["spot-manager"] });
    interruptions.hasResourceProperties("AWS::Lambda::Function", { Environment: { Variables: Match.objectLike({ CLUSTER_NAME: "existing-eks" }) } });
    interruptions.resourceCountIs("Custom::AWSCDK-EKS-KubernetesResource", 1);
    expect(imported.errors).toEqual([]);
  });
});
