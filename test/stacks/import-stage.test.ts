import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { OPERATOR_ROLE, synthVariant, type SynthesizedVariant } from "./variants";

let imported: SynthesizedVariant;
beforeAll(async () => {
  imported = await synthVariant("import");
}, 420_000);

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

  it("behind a private endpoint: the function and the CDK's kubectl provider run in the given subnets, admitted by the cluster security group on 443", () => {
    const cluster = imported.template("Cluster");
    cluster.hasResourceProperties("AWS::EC2::SecurityGroupIngress", {
      GroupId: "sg-0123abcd",
      IpProtocol: "tcp",
      FromPort: 443,
      ToPort: 443,
      SourceSecurityGroupId: { "Fn::GetAtt": [Match.stringLikeRegexp("^KubernetesClients"), "GroupId"] },
    });
    const interruptions = imported.template("Interruptions");
    interruptions.hasResourceProperties("AWS::Lambda::Function", {
      FunctionName: "spot-manager-shared-interruption",
      VpcConfig: { SubnetIds: ["subnet-0a1b2c3d", "subnet-0e4f5a6b"], SecurityGroupIds: [{ "Fn::ImportValue": Match.stringLikeRegexp("KubernetesClients") }] },
    });
    // the RBAC manifest's kubectl provider (a nested stack of the stack that applies it) gets the same placement
    const provider = [...imported.templates()].find(([name]) => /KubectlProvider/.test(name))?.[1];
    expect(provider).toBeDefined();
    provider!.hasResourceProperties("AWS::Lambda::Function", { VpcConfig: { SubnetIds: ["subnet-0a1b2c3d", "subnet-0e4f5a6b"], SecurityGroupIds: Match.anyValue() } });
  });

  it("gives the operators cluster admin through access entries on the existing cluster too", () => {
    imported.template("Cluster").hasResourceProperties("AWS::EKS::AccessEntry", { ClusterName: "existing-eks", PrincipalArn: OPERATOR_ROLE });
  });
});
