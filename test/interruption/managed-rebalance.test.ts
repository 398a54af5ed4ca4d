/**
 * How spot-manager and EKS managed spot node groups share a rebalance recommendation: EKS launches
 * a replacement, then cordons and drains the old node; spot-manager, configured by the stack, only
 * taints it PreferNoSchedule and later removes its own taint, never touching EKS's cordon.
 */
import { DEMO_INTERRUPTED_NODE } from "@spot-manager/kube-local";
import { KubeApi, KubeGateway } from "@spot-manager/core";
import { afterEach, describe, expect, it } from "vitest";
import { deepMerge, parseStageConfig, stageDefaults } from "../../stacks/config";
import { fixture } from "../fixtures";
import { createWorld, nodeView, podsOn, type World } from "./world";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

/** The policy a stage deploys with (stacks/config.ts, as the Interruptions stack passes it). */
const deployedPolicy = (override: unknown = {}) => parseStageConfig("dev", deepMerge(stageDefaults("dev"), override)).interruptions.policy;

describe("a rebalance recommendation on a managed spot node", () => {
  it("spot-manager steers new pods away without cordoning; EKS's cordon of the replaced node survives spot-manager's timed clean-up", async () => {
    // Prepare
    world = await createWorld({ startAt: "2024-05-14T18:09:43Z", policy: deployedPolicy() });
    const eks = new KubeApi(new KubeGateway({ server: world.kube.url, ...(world.kube.caPem ? { caPem: world.kube.caPem } : {}), token: async () => world!.kube.token }));
    const podsBefore = podsOn(world.kube, DEMO_INTERRUPTED_NODE);

    // Act: the recommendation reaches spot-manager
    await world.invoke(world.sqs(fixture("rebalance")));

    // Assess: a PreferNoSchedule taint only; pods stay for EKS to move once the replacement is Ready
    let node = nodeView(world.kube, DEMO_INTERRUPTED_NODE);
    expect(node.taints.map((t) => [t.key, t.effect])).toContainEqual(["spot-manager/rebalance", "PreferNoSchedule"]);
    expect(node.unschedulable).toBe(false);
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).toEqual(podsBefore);

    // Act: the replacement is Ready, EKS cordons the old node; later spot-manager's follow-up comes due
    await eks.patchNode(DEMO_INTERRUPTED_NODE, { spec: { unschedulable: true } }, "merge");
    const followUp = world.aws.queuedFollowUps()[0]!.body;
    world.advance(900_000);
    await world.invoke(world.sqs(followUp));

    // Assess: spot-manager removed its own taint and left EKS's cordon in place
    node = nodeView(world.kube, DEMO_INTERRUPTED_NODE);
    expect(node.taints.map((t) => t.key)).not.toContain("spot-manager/rebalance");
    expect(node.unschedulable).toBe(true);
  });

  it("is never configured to cordon or drain for a recommendation while EKS replaces managed spot nodes", () => {
    expect(deployedPolicy().rebalanceRecommendation).toMatchObject({ taint: true, taintEffect: "PreferNoSchedule", cordon: false, drain: false });
    expect(() => deployedPolicy({ interruptions: { policy: { rebalanceRecommendation: { cordon: true } } } })).toThrowError(/rebalanceRecommendation\.cordon: must be false with EKS managed spot node groups/);
  });
});
