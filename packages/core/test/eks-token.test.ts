import { STSClient } from "@aws-sdk/client-sts";
import type { AwsCredentialIdentity } from "@smithy/types";
import { describe, expect, it, vi } from "vitest";
import { ConfigError } from "../src/errors";
import { createEksToken, EksTokenProvider } from "../src/eks";
import { manualClock } from "./manual-clock";

const ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE";
const SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN = "sess/tok+en=";
const SIGNED_AT = new Date("2026-11-25T12:03:45Z");

function credentials(extra: Partial<AwsCredentialIdentity> = {}) {
  return vi.fn(async (): Promise<AwsCredentialIdentity> => ({ accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY, ...extra }));
}

function decode(token: string): URL {
  expect(token.startsWith("k8s-aws-v1.")).toBe(true);
  return new URL(Buffer.from(token.slice("k8s-aws-v1.".length), "base64url").toString("utf8"));
}

function params(url: URL): Record<string, string> {
  return Object.fromEntries(url.searchParams.entries());
}


describe("createEksToken", () => {
  it("encodes a presigned STS GetCallerIdentity URL as unpadded base64url behind the k8s-aws-v1. prefix", async () => {
    // Prepare
    const input = { clusterName: "demo", region: "us-west-2", credentials: credentials(), now: () => SIGNED_AT };

    // Act
    const { token } = await createEksToken(input);

    // Assess
    expect(token).toMatch(/^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    expect(token).not.toContain("=");
    const url = decode(token);
    expect(url.protocol).toBe("https:");
    expect(url.host).toBe("sts.us-west-2.amazonaws.com");
    expect(url.pathname).toBe("/");
    expect(url.searchParams.get("Action")).toBe("GetCallerIdentity");
    expect(url.searchParams.get("Version")).toBe("2011-06-15");
  });

  it("presigns with SigV4 for sts in the given region, for 60 seconds, binding the cluster name header", async () => {
    // Prepare
    const input = { clusterName: "demo", region: "eu-central-1", credentials: credentials(), now: () => SIGNED_AT };

    // Act
    const url = decode((await createEksToken(input)).token);

    // Assess
    expect(url.searchParams.get("X-Amz-Algorithm")).toBe("AWS4-HMAC-SHA256");
    expect(url.searchParams.get("X-Amz-Credential")).toBe(`${ACCESS_KEY_ID}/20261125/eu-central-1/sts/aws4_request`);
    expect(url.searchParams.get("X-Amz-Date")).toBe("20261125T120345Z");
    expect(url.searchParams.get("X-Amz-Expires")).toBe("60");
    expect(url.searchParams.get("X-Amz-SignedHeaders")?.split(";")).toEqual(expect.arrayContaining(["host", "x-k8s-aws-id"]));
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
    expect(url.searchParams.has("X-Amz-Security-Token")).toBe(false);
  });

  it("carries the session token of temporary credentials", async () => {
    // Prepare
    const input = { clusterName: "demo", region: "us-west-2", credentials: credentials({ sessionToken: SESSION_TOKEN }), now: () => SIGNED_AT };

    // Act
    const url = decode((await createEksToken(input)).token);

    // Assess
    expect(url.searchParams.get("X-Amz-Security-Token")).toBe(SESSION_TOKEN);
  });

  it("signs exactly like `aws eks get-token` for the same credentials, cluster, region and time", async () => {
    // Prepare: the expected parameters were produced by aws-cli 1.45.11 (botocore 1.43.11) with these inputs.
    const input = { clusterName: "demo", region: "us-west-2", credentials: credentials({ sessionToken: SESSION_TOKEN }), now: () => SIGNED_AT };

    // Act
    const url = decode((await createEksToken(input)).token);

    // Assess
    expect(params(url)).toEqual({
      Action: "GetCallerIdentity",
      Version: "2011-06-15",
      "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
      "X-Amz-Credential": `${ACCESS_KEY_ID}/20261125/us-west-2/sts/aws4_request`,
      "X-Amz-Date": "20261125T120345Z",
      "X-Amz-Expires": "60",
      "X-Amz-SignedHeaders": "host;x-k8s-aws-id",
      "X-Amz-Security-Token": SESSION_TOKEN,
      "X-Amz-Signature": "0977030d6adf07c2650c2de53a7fba6673b72d542474cf69c4715ec2266fdc6a",
    });
  });

  it("is reproducible for the same inputs and clock", async () => {
    // Prepare
    const input = { clusterName: "demo", region: "us-west-2", credentials: credentials(), now: () => SIGNED_AT };

    // Act
    const first = await createEksToken(input);
    const second = await createEksToken(input);

    // Assess
    expect(second.token).toBe(first.token);
  });

  it("changes with the cluster name, so a token cannot be replayed against another cluster", async () => {
    // Prepare
    const base = { region: "us-west-2", credentials: credentials(), now: () => SIGNED_AT };

    // Act
    const demo = decode((await createEksToken({ ...base, clusterName: "demo" })).token);
    const other = decode((await createEksToken({ ...base, clusterName: "other" })).token);

    // Assess
    expect(other.searchParams.get("X-Amz-Signature")).not.toBe(demo.searchParams.get("X-Amz-Signature"));
  });

  it("expires 15 minutes after the signing time, counted from the whole second in X-Amz-Date", async () => {
    // Prepare
    const input = { clusterName: "demo", region: "us-west-2", credentials: credentials(), now: () => new Date("2026-11-25T12:03:45.678Z") };

    // Act
    const { expiresAt } = await createEksToken(input);

    // Assess
    expect(expiresAt).toEqual(new Date("2026-11-25T12:18:45Z"));
  });

  it("uses the China partition's STS host for cn- regions", async () => {
    // Prepare
    const input = { clusterName: "demo", region: "cn-north-1", credentials: credentials(), now: () => SIGNED_AT };

    // Act
    const url = decode((await createEksToken(input)).token);

    // Assess
    expect(url.host).toBe("sts.cn-north-1.amazonaws.com.cn");
  });

  it("accepts the STS client's credential provider", async () => {
    // Prepare
    const sts = new STSClient({ region: "us-west-2", credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY } });

    // Act
    const url = decode((await createEksToken({ clusterName: "demo", region: "us-west-2", credentials: sts.config.credentials })).token);

    // Assess
    expect(url.searchParams.get("X-Amz-Credential")).toMatch(new RegExp(`^${ACCESS_KEY_ID}/`));
  });

  it("rejects when the credential provider fails", async () => {
    // Prepare
    const failing = vi.fn(async (): Promise<AwsCredentialIdentity> => {
      throw new Error("no credentials");
    });

    // Act
    const result = createEksToken({ clusterName: "demo", region: "us-west-2", credentials: failing });

    // Assess
    await expect(result).rejects.toThrow("no credentials");
  });
});

describe("EksTokenProvider", () => {
  it("reuses the token until fewer than 60 seconds of its 15 minutes remain", async () => {
    // Prepare
    const clock = manualClock(SIGNED_AT);
    const creds = credentials();
    const provider = new EksTokenProvider({ clusterName: "demo", region: "us-west-2", credentials: creds, now: clock.now });

    // Act
    const first = await provider.token();
    clock.advance(14 * 60 - 1);
    const beforeWindow = await provider.token();
    clock.advance(1);
    const inWindow = await provider.token();

    // Assess
    expect(beforeWindow).toBe(first);
    expect(inWindow).not.toBe(first);
    expect(decode(inWindow).searchParams.get("X-Amz-Date")).toBe("20261125T121745Z");
    expect(creds).toHaveBeenCalledTimes(2);
  });

  it("honours a custom refreshBeforeSeconds", async () => {
    // Prepare
    const clock = manualClock(SIGNED_AT);
    const creds = credentials();
    const provider = new EksTokenProvider({ clusterName: "demo", region: "us-west-2", credentials: creds, now: clock.now, refreshBeforeSeconds: 300 });

    // Act
    const first = await provider.token();
    clock.advance(10 * 60 - 1);
    const beforeWindow = await provider.token();
    clock.advance(1);
    const inWindow = await provider.token();

    // Assess
    expect(beforeWindow).toBe(first);
    expect(inWindow).not.toBe(first);
    expect(creds).toHaveBeenCalledTimes(2);
  });

  it("re-signs after invalidate(), as the gateway does after a 401", async () => {
    // Prepare
    const clock = manualClock(SIGNED_AT);
    const creds = credentials();
    const provider = new EksTokenProvider({ clusterName: "demo", region: "us-west-2", credentials: creds, now: clock.now });
    const first = await provider.token();
    clock.advance(1);

    // Act
    provider.invalidate();
    const second = await provider.token();

    // Assess
    expect(second).not.toBe(first);
    expect(creds).toHaveBeenCalledTimes(2);
  });

  it("signs once for concurrent callers, on first use and on refresh", async () => {
    // Prepare
    const clock = manualClock(SIGNED_AT);
    const creds = credentials();
    const provider = new EksTokenProvider({ clusterName: "demo", region: "us-west-2", credentials: creds, now: clock.now });

    // Act
    const initial = await Promise.all([provider.token(), provider.token(), provider.token()]);
    clock.advance(14 * 60);
    const refreshed = await Promise.all([provider.token(), provider.token(), provider.token()]);

    // Assess
    expect(new Set(initial).size).toBe(1);
    expect(new Set(refreshed).size).toBe(1);
    expect(refreshed[0]).not.toBe(initial[0]);
    expect(creds).toHaveBeenCalledTimes(2);
  });

  it("does not keep a token whose signing was invalidated midway", async () => {
    // Prepare
    const creds = credentials();
    const provider = new EksTokenProvider({ clusterName: "demo", region: "us-west-2", credentials: creds, now: () => SIGNED_AT });

    // Act
    const inFlight = provider.token();
    provider.invalidate();
    await inFlight;
    await provider.token();

    // Assess
    expect(creds).toHaveBeenCalledTimes(2);
  });

  it("does not cache a failed signing", async () => {
    // Prepare
    const creds = credentials();
    creds.mockRejectedValueOnce(new Error("credentials endpoint unavailable"));
    const provider = new EksTokenProvider({ clusterName: "demo", region: "us-west-2", credentials: creds, now: () => SIGNED_AT });

    // Act
    const failed = provider.token();
    await expect(failed).rejects.toThrow("credentials endpoint unavailable");
    const recovered = await provider.token();

    // Assess
    expect(decode(recovered).searchParams.get("X-Amz-Date")).toBe("20261125T120345Z");
    expect(creds).toHaveBeenCalledTimes(2);
  });

  it.each([-1, 900, Number.NaN])("rejects refreshBeforeSeconds %s as configuration that cannot work", (refreshBeforeSeconds) => {
    // Prepare
    const opts = { clusterName: "demo", region: "us-west-2", credentials: credentials(), refreshBeforeSeconds };

    // Act
    const create = () => new EksTokenProvider(opts);

    // Assess
    expect(create).toThrow(ConfigError);
  });
});
