import { DescribeClusterCommand } from "@aws-sdk/client-eks";
import { CLUSTER_ROLE_RULES, KUBERNETES_GROUP, type PolicyRule } from "@spot-manager/core";
import { DEMO_INTERRUPTED_NODE, type Identity } from "@spot-manager/kube-local";
import { afterEach, describe, expect, it } from "vitest";
import { fixture } from "../fixtures";
import { CLUSTER, createWorld, eventsAbout, nodeView, podsOn, type World } from "./world";

let world: World | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const seenTokens: string[] = [];

/**
 * Plays the EKS authenticator: accepts only well-formed `k8s-aws-v1.` tokens (a presigned STS
 * GetCallerIdentity URL that signs the x-k8s-aws-id header) and maps them to the access entry's
 * group, bound to the given rules.
 */
function eksAuthenticator(rules: readonly PolicyRule[]) {
  return (token: string): Identity | undefined => {
    if (!token.startsWith("k8s-aws-v1.")) return undefined;
    const url = new URL(Buffer.from(token.slice("k8s-aws-v1.".length), "base64url").toString("utf8"));
    const signed = url.searchParams.get("X-Amz-SignedHeaders")?.split(";") ?? [];
    if (url.host !== "sts.us-west-2.amazonaws.com" || url.searchParams.get("Action") !== "GetCallerIdentity" || !signed.includes("x-k8s-aws-id")) return undefined;
    seenTokens.push(token);
    return { user: "arn:aws:sts::123456789012:assumed-role/spot-manager-interruption/session", groups: [KUBERNETES_GROUP], rules };
  };
}

describe("reaching the cluster as the deployed function does", () => {
  it("finds the endpoint with DescribeCluster, authenticates with an IAM token, and needs no more than the least-privilege ClusterRole", async () => {
    // Prepare
    seenTokens.length = 0;
    world = await createWorld({ viaEks: true, kube: { seed: "demo", simulation: { timeScale: 0.01, podStartupSeconds: 0.5 }, tokenReviewer: eksAuthenticator(CLUSTER_ROLE_RULES) } });
    // Act
    const response = await world.invoke(world.sqs(fixture("spotInterruption")));
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(world.aws.eks).toReceiveCommandWith(DescribeClusterCommand, { name: CLUSTER });
    expect(world.aws.eks).toReceiveCommandTimes(DescribeClusterCommand, 1);
    expect(seenTokens.length).toBeGreaterThan(0);
    expect(world.kube.stats.log.filter((r) => r.status === 401 || r.status === 403)).toEqual([]);
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).unschedulable).toBe(true);
    expect(podsOn(world.kube, DEMO_INTERRUPTED_NODE)).toHaveLength(2);
  });

  it("without pods/eviction in the ClusterRole the node is cordoned, each refusal is recorded against its pod with RBAC's reason, and no follow-up loops", async () => {
    const withoutEviction = CLUSTER_ROLE_RULES.filter((r) => !r.resources.includes("pods/eviction"));
    world = await createWorld({ viaEks: true, kube: { seed: "demo", simulation: false, tokenReviewer: eksAuthenticator(withoutEviction) } });
    const batch = world.sqs(fixture("spotInterruption"));
    const response = await world.invoke(batch, 30_000);
    // a 403 is permanent: every pod is tried once, recorded as left with the API's reason, and the drain ends
    expect(response).toEqual({ batchItemFailures: [] });
    const refusals = world.recorder.lines.filter((l) => l.message === "eviction refused");
    expect(refusals.length).toBeGreaterThan(0);
    expect(String(refusals[0]?.extra["reason"])).toMatch(/^HTTP 403: .*cannot create resource "pods\/eviction" in API group ""/);
    expect(world.kube.stats.log.filter((r) => r.resource === "pods/eviction").length).toBe(refusals.length);
    expect(world.aws.queuedFollowUps()).toEqual([]);
    expect(nodeView(world.kube, DEMO_INTERRUPTED_NODE).unschedulable).toBe(true);
    const [, end] = world.aws.notifications();
    expect(end).toMatchObject({ phase: "end", drain: { complete: false } });
    expect((end?.["drain"] as { left: { reason: string }[] }).left.every((l) => l.reason === "eviction-refused")).toBe(true);
    expect(eventsAbout(world.kube, DEMO_INTERRUPTED_NODE).map((e) => e.reason)).not.toContain("DrainSucceeded");
  });
});
