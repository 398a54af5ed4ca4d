import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "@spot-manager/core";
import { afterEach, describe, expect, it } from "vitest";
import { deepMerge, functionsInVpc, loadStageConfig, natGatewayCount, parseStageConfig, stageDefaults } from "../../stacks/config";

const configFor = (stage: string, override: unknown) => parseStageConfig(stage, deepMerge(stageDefaults(stage), override));
const IMPORT = { mode: "import", name: "existing", import: { vpcId: "vpc-0abc", kubectlRoleArn: "arn:aws:iam::123456789012:role/kubectl" } };

afterEach(() => {
  delete process.env["SPOT_MANAGER_CONFIG_DIR"];
});

describe("stage configuration", () => {
  it("fills defaults for dev and prod: Kubernetes 1.35, no reserved concurrency, alarms everywhere, data kept in prod only", () => {
    const dev = configFor("dev", {});
    const prod = configFor("prod", {});
    expect(dev).toMatchObject({ cluster: { name: "spot-manager-dev", mode: "create", version: "1.35", endpointAccess: "public-and-private", admins: [] }, observability: { alarms: true }, retainOnDelete: false });
    expect(dev.interruptions.lambda).toEqual({ timeoutSeconds: 300, memoryMiB: 512, maxConcurrency: 10, batchSize: 10 });
    expect(dev.capacity.reservedConcurrency).toBeUndefined();
    expect(prod).toMatchObject({ observability: { alarms: true }, retainOnDelete: true, nodeGroups: { onDemand: { scaling: { min: 2, max: 6 } } } });
    expect(dev.interruptions.policy.spotInterruption.drain).toBe(true);
    expect([natGatewayCount("dev", dev), natGatewayCount("prod", prod)]).toEqual([1, 3]);
    expect(natGatewayCount("prod", configFor("prod", { vpc: { maxAzs: 2 } }))).toBe(2);
  });

  it("runs the Kubernetes client in the VPC exactly when the API cannot be reached from outside", () => {
    expect(functionsInVpc(configFor("dev", {}))).toBe(false);
    expect(functionsInVpc(configFor("dev", { cluster: { endpointAccess: "private" } }))).toBe(true);
    expect(functionsInVpc(configFor("dev", { cluster: { publicAccessCidrs: ["203.0.113.0/24"] } }))).toBe(true);
    expect(functionsInVpc(configFor("dev", { cluster: { publicAccessCidrs: ["0.0.0.0/0"] } }))).toBe(false);
    expect(functionsInVpc(configFor("dev", { network: { functionsInVpc: true } }))).toBe(true);
  });

  it("reads config/<stage>.json, or $SPOT_MANAGER_CONFIG_DIR/<stage>.json, merged over the defaults", () => {
    const dir = mkdtempSync(join(tmpdir(), "stage-config-"));
    writeFileSync(join(dir, "qa.json"), JSON.stringify({ cluster: { version: "1.36" } }));
    process.env["SPOT_MANAGER_CONFIG_DIR"] = dir;
    expect(loadStageConfig("qa").cluster).toMatchObject({ name: "spot-manager-qa", version: "1.36" });
    writeFileSync(join(dir, "qa.json"), "{ not json");
    expect(() => loadStageConfig("qa")).toThrowError(/qa\.json is not valid JSON/);
  });

  it.each([
    [{ nodeGroups: { spot: { instanceTypes: ["m6i.large"] } } }, /nodeGroups\.spot\.instanceTypes: list at least two instance types/],
    [{ nodeGroups: { onDemand: { scaling: { min: 3, max: 2 } } } }, /nodeGroups\.onDemand\.scaling: must satisfy min <= max/],
    [{ nodeGroups: { spot: { scaling: { min: 0, max: 6, desired: 2 } } } }, /nodeGroups\.spot\.scaling\.desired: is not set by spot-manager: a group starts at min, then cluster-autoscaler and the capacity manager own its size/],
    [{ interruptions: { lambda: { timeoutSeconds: 60 } } }, /interruptions\.lambda\.timeoutSeconds: must be at least 180/],
    [{ cluster: { mode: "import" } }, /cluster\.import: is required when cluster\.mode is "import"/],
    [{ cluster: { version: "1.20" } }, /cluster\.version: Invalid option: expected one of "1\.33"\|"1\.34"\|"1\.35"\|"1\.36"/],
    [{ cluster: { admins: ["alice"] } }, /cluster\.admins\.0: must be the ARN of an IAM role or user/],
    [{ interruptions: { policy: { spotInterruption: { drainPolicy: { atDeadline: "panic" } } } } }, /interruptions\.policy\.spotInterruption\.drainPolicy\.atDeadline: Invalid option.*\(got "panic"\)/],
    [{ nodeGroups: { selfManagedSpot: { lifecycleHook: { name: "drain" } } } }, /lifecycleHook\.name: must start with spot-manager-/],
    [{ notifications: { emails: ["not-an-email"] } }, /notifications\.emails\.0/],
    [
      { nodeGroups: { selfManagedSpot: { enabled: true, lifecycleHook: { heartbeatTimeoutSeconds: 100 } } }, interruptions: { policy: { asgTerminate: { heartbeatIntervalSeconds: 60 } } } },
      /interruptions\.policy\.asgTerminate\.heartbeatIntervalSeconds: must be at most half the lifecycle hook's heartbeat timeout \(100 s\).*\(got 60\)/,
    ],
    [{ nodeGroups: { selfManagedSpot: { enabled: true } }, interruptions: { policy: { asgTerminate: { enabled: false } } } }, /interruptions\.policy\.asgTerminate\.enabled: must stay true while nodeGroups\.selfManagedSpot is enabled/],
    [{ interruptions: { lambda: { reservedConcurrency: 1 } } }, /interruptions\.lambda\.reservedConcurrency: Too small/],
    [{ interruptions: { lambda: { reservedConcurrency: 5 } } }, /interruptions\.lambda\.maxConcurrency: must be at most interruptions\.lambda\.reservedConcurrency \(5\).*\(got 10\)/],
    [{ interruptions: { policy: { rebalanceRecommendation: { cordon: true } } } }, /interruptions\.policy\.rebalanceRecommendation\.cordon: must be false with EKS managed spot node groups: EKS launches a replacement/],
    [{ interruptions: { policy: { rebalanceRecommendation: { drain: true } } } }, /interruptions\.policy\.rebalanceRecommendation\.drain: must be false with EKS managed spot node groups/],
    [{ vpc: { maxAzs: 2, natGateways: 3 } }, /vpc\.natGateways: must be at most vpc\.maxAzs \(2\)/],
    [{ cluster: { endpointAccess: "private" }, network: { functionsInVpc: false } }, /network\.functionsInVpc: must be true with endpointAccess "private"/],
    [{ cluster: { publicAccessCidrs: ["203.0.113.0/24"] }, network: { functionsInVpc: false } }, /network\.functionsInVpc: must be true while cluster\.publicAccessCidrs limits the public endpoint/],
    [{ cluster: { endpointAccess: "private", publicAccessCidrs: ["203.0.113.0/24"] } }, /cluster\.publicAccessCidrs: has no effect with endpointAccess "private"/],
    [{ cluster: { endpointAccess: "public", publicAccessCidrs: ["203.0.113.0/24"] } }, /cluster\.publicAccessCidrs: cannot limit an endpoint that is public only/],
    [{ cluster: { publicAccessCidrs: ["203.0.113.0"] } }, /cluster\.publicAccessCidrs\.0: must be an IPv4 CIDR/],
    [{ network: { awsApiAccess: "vpc-endpoints" } }, /network\.awsApiAccess: needs the functions in the VPC/],
    [{ cluster: { ...IMPORT, endpointAccess: "private" } }, /cluster\.import\.privateSubnetIds: is required with endpointAccess "private".*cluster\.import\.clusterSecurityGroupId: is required/],
    [
      { cluster: { ...IMPORT, import: { ...IMPORT.import, privateSubnetIds: ["subnet-0a1"], clusterSecurityGroupId: "sg-0a1" } }, network: { functionsInVpc: true, awsApiAccess: "vpc-endpoints" } },
      /network\.awsApiAccess: must be "nat" with an imported cluster/,
    ],
    [{ observability: { logRetentionDays: 2 } }, /observability\.logRetentionDays: must be one of CloudWatch Logs' retention periods: 1, 3, 5/],
    [{ observability: { alarm: true } }, /observability: Unrecognized key: "alarm"/],
    [{ delivery: { imageRepositoryName: "Shop" } }, /delivery\.imageRepositoryName: must be a lower-case image name/],
  ])("rejects %j naming the field", (override, message) => {
    expect(() => configFor("dev", override)).toThrowError(ConfigError);
    expect(() => configFor("dev", override)).toThrowError(message);
  });

  it("accepts a rebalance cordon only where no EKS managed spot group replaces nodes by itself", () => {
    const policy = { rebalanceRecommendation: { cordon: true } };
    expect(configFor("dev", { cluster: { ...IMPORT, import: { ...IMPORT.import, managedSpotNodeGroups: false } }, interruptions: { policy } }).interruptions.policy.rebalanceRecommendation.cordon).toBe(true);
    expect(() => configFor("dev", { cluster: IMPORT, interruptions: { policy } })).toThrowError(/rebalanceRecommendation\.cordon: must be false/);
  });

  it.each([
    ["Prod", /invalid stage name "Prod": use lower-case letters, digits and single hyphens/],
    ["my_stage", /invalid stage name "my_stage"/],
    ["dev-", /invalid stage name "dev-"/],
    ["a--b", /invalid stage name "a--b"/],
    ["a".repeat(33), /the Lambda function name "spot-manager-a{33}-delivery-scheduled" would be 65 characters \(at most 64\); use at most 32 characters/],
  ])("rejects the stage name %s before anything is built", (stage, message) => {
    expect(() => configFor(stage, {})).toThrowError(ConfigError);
    expect(() => configFor(stage, {})).toThrowError(message);
  });
});
