/** Starts kube-local for a test and hands out @kubernetes/client-node clients bound to it. */
import { AppsV1Api, CoreV1Api, EventsV1Api, KubeConfig, PolicyV1Api, type ApiException } from "@kubernetes/client-node";
import { request } from "node:https";
import { afterEach } from "vitest";
import { startKubeLocal, type KubeLocal, type KubeLocalOptions } from "../src/index";

export interface Harness {
  kube: KubeLocal;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  policy: PolicyV1Api;
  events: EventsV1Api;
  /** Clients that present another token (for 401/403 tests). */
  as(token: string): { core: CoreV1Api; policy: PolicyV1Api };
}

const running: KubeLocal[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((k) => k.stop()));
});

export function configFor(kube: KubeLocal, token?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify(kube.kubeconfig(token ? { token } : {})));
  return kc;
}

export async function startHarness(options: KubeLocalOptions = {}): Promise<Harness> {
  const kube = await startKubeLocal({ simulation: false, ...options });
  running.push(kube);
  const kc = configFor(kube);
  return {
    kube,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    policy: kc.makeApiClient(PolicyV1Api),
    events: kc.makeApiClient(EventsV1Api),
    as(token: string) {
      const other = configFor(kube, token);
      return { core: other.makeApiClient(CoreV1Api), policy: other.makeApiClient(PolicyV1Api) };
    },
  };
}

export interface Failure {
  code: number;
  body: { kind?: string; status?: string; reason?: string; message?: string; code?: number; details?: { name?: string; kind?: string; causes?: { reason?: string; message?: string; field?: string }[]; retryAfterSeconds?: number } };
  headers: Record<string, string>;
}

/** Awaits a call that must fail and returns its HTTP code, parsed Status body and headers. */
export async function failure(call: Promise<unknown>): Promise<Failure> {
  try {
    await call;
  } catch (error) {
    const e = error as ApiException<unknown>;
    if (typeof e.code !== "number") throw error;
    const body = typeof e.body === "string" ? (JSON.parse(e.body) as Failure["body"]) : (e.body as Failure["body"]);
    return { code: e.code, body, headers: e.headers };
  }
  throw new Error("expected the call to fail, it succeeded");
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: Failure["body"] & Record<string, unknown>;
}

/** Raw HTTPS for what the typed client cannot send (malformed bodies, odd content types). */
export function raw(kube: KubeLocal, method: string, path: string, init: { body?: string; contentType?: string; token?: string | null; accept?: string } = {}): Promise<RawResponse> {
  const headers: Record<string, string> = {};
  if (init.token !== null) headers["Authorization"] = `Bearer ${init.token ?? kube.token}`;
  if (init.contentType) headers["Content-Type"] = init.contentType;
  if (init.accept) headers["Accept"] = init.accept;
  // Node sends a DELETE body without a length unless told: say it, as every real client does
  if (init.body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(init.body));
  return new Promise((resolve, reject) => {
    const req = request(`${kube.url}${path}`, { method, headers, ...(kube.caPem ? { ca: kube.caPem } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: json as RawResponse["json"] });
      });
    });
    req.on("error", reject);
    req.end(init.body);
  });
}

export async function eventually<T>(probe: () => T | Promise<T>, check: (value: T) => boolean, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)?.slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
