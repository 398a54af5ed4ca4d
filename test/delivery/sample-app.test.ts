/** deploy/app/server.mjs, the sample workload: probes, its version, and a clean stop on SIGTERM. */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { describe, expect, it } from "vitest";
import { DEPLOY, readManifests } from "./manifests";
import { readFileSync } from "node:fs";
import type { IRollout } from "@kubernetes-models/argo-rollouts/argoproj.io/v1alpha1/Rollout";

describe("sample app", () => {
  it("answers /healthz and / with its version, and exits 0 on SIGTERM", async () => {
    // Prepare
    const app = spawn(process.execPath, [join(DEPLOY, "app", "server.mjs")], { env: { ...process.env, PORT: "0", APP_VERSION: "a1b2c3d4e5f6" }, stdio: ["ignore", "pipe", "inherit"] });
    const [line] = (await once(createInterface({ input: app.stdout }), "line")) as [string];
    const { port } = JSON.parse(line) as { port: number };
    // Act
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    const root = await fetch(`http://127.0.0.1:${port}/`);
    app.kill("SIGTERM");
    const [code] = (await once(app, "exit")) as [number];
    // Assess
    expect([health.status, await health.text()]).toEqual([200, "ok\n"]);
    expect(await root.json()).toEqual({ app: "sample-app", version: "a1b2c3d4e5f6" });
    expect(code).toBe(0);
  });

  it("the image runs as the Rollout's non-root user and exposes the Rollout's port", () => {
    const dockerfile = readFileSync(join(DEPLOY, "app", "Dockerfile"), "utf8");
    const container = (readManifests("base", "rollout.yaml")[0] as unknown as IRollout).spec.template?.spec?.containers[0];
    expect(dockerfile).toMatch(new RegExp(`^USER ${container?.securityContext?.runAsUser}$`, "m"));
    expect(dockerfile).toMatch(new RegExp(`^EXPOSE ${container?.ports?.[0]?.containerPort}$`, "m"));
  });
});
