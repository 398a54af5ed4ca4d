import { describe, expect, it } from "vitest";
import { DEFAULT_KUBERNETES_VERSION, KUBERNETES_RELEASES, KUBERNETES_VERSIONS, supportNotice } from "../../stacks/kubernetes";

describe("Kubernetes versions", () => {
  it("default to one in EKS standard support on 2026-11-27, with the layer and cluster-autoscaler of the same minor", () => {
    expect(DEFAULT_KUBERNETES_VERSION).toBe("1.35");
    expect(supportNotice(DEFAULT_KUBERNETES_VERSION, new Date("2026-11-27T00:00:00Z"))).toBeUndefined();
    for (const version of KUBERNETES_VERSIONS) {
      const { clusterAutoscaler } = KUBERNETES_RELEASES[version];
      // the upstream compatibility matrix: cluster-autoscaler's minor version is the cluster's
      expect(clusterAutoscaler.imageTag, version).toMatch(new RegExp(`^v${version.replace(".", "\\.")}\\.\\d+$`));
      expect(clusterAutoscaler.chartVersion).toMatch(/^9\.\d+\.\d+$/);
    }
  });

  it("warn past the end of standard support and give notice in the 60 days before it", () => {
    expect(supportNotice("1.33", new Date("2026-11-27T00:00:00Z"))).toEqual({
      level: "warning",
      message: "Kubernetes 1.33 left EKS standard support on 2026-07-29: the cluster is billed for extended support. Upgrade one minor version at a time (next: 1.34).",
    });
    expect(supportNotice("1.34", new Date("2026-11-27T00:00:00Z"))).toEqual({
      level: "info",
      message: "Kubernetes 1.34 leaves EKS standard support on 2026-12-02 (in 5 days). Upgrade one minor version at a time (next: 1.35).",
    });
    expect(supportNotice("1.35", new Date("2027-03-27T00:00:00Z"))?.level).toBe("warning");
    expect(supportNotice("1.36", new Date("2027-08-02T00:00:00Z"))?.message).toBe("Kubernetes 1.36 left EKS standard support on 2027-08-02: the cluster is billed for extended support.");
  });
});
