/**
 * The one way to the Kubernetes API: every request goes through `KubeGateway.send`, which maps
 * answers to typed outcomes and retries what is worth retrying (429 throttling, 5xx, connection
 * resets, an expired token) with exponential backoff and full jitter, within the caller's deadline.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { KubeStatus } from "./types";

export interface KubeEndpoint {
  /** `https://...` (EKS, kube-local) or `http://...`. */
  server: string;
  /** CA bundle (PEM) that signed the server's certificate. */
  caPem?: string;
  /** Bearer token for the next request; called per attempt so refreshed tokens are picked up. */
  token(): Promise<string>;
  /** Drops a cached token after the server answered 401. */
  invalidateToken?(): void;
  clientCertPem?: string;
  clientKeyPem?: string;
  insecureSkipTlsVerify?: boolean;
}

export type Outcome =
  | "ok"
  | "not-found"
  | "conflict"
  | "invalid"
  | "bad-request"
  | "forbidden"
  | "unauthorized"
  | "throttled"
  | "disruption-budget"
  | "multiple-budgets"
  | "server-error"
  | "unavailable"
  | "network-error";

export interface KubeResult<T> {
  outcome: Outcome;
  /** HTTP status; 0 when no answer arrived. */
  status: number;
  body?: T;
  error?: KubeStatus;
  /** Transport failure text, for network errors. */
  failure?: string;
  retryAfterSeconds?: number;
  attempts: number;
}

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface KubeRequest {
  method: Method;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Epoch ms after which no new attempt starts. */
  deadline?: number;
  /** Set false to get the first answer as it is (no retries). */
  retry?: boolean;
  /** Sent over connections of its own, never queued behind bulk work (a cordon behind a node's evictions). */
  priority?: boolean;
  /** Reports (Kubernetes Events): over a few connections of their own, so they neither wait behind evictions nor take a cordon's connection. */
  report?: boolean;
}

export interface RequestInfo {
  method: Method;
  path: string;
  status: number;
  ms: number;
  attempt: number;
}

export interface GatewayOptions {
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per-request timeout of a request without a deadline. */
  requestTimeoutMs?: number;
  /** Per-request timeout ceiling of a request with a deadline: it may wait for an answer as long as the time left allows, up to this. */
  maxRequestTimeoutMs?: number;
  maxSockets?: number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  onRequest?: (info: RequestInfo) => void;
}

/** Connections kept apart for priority requests: few are needed, as they are few. */
const PRIORITY_SOCKETS = 8;
/** Connections kept apart for reports (Events): a handful per drain at most. */
const REPORT_SOCKETS = 8;

const RETRYABLE: ReadonlySet<Outcome> = new Set(["throttled", "server-error", "unavailable", "network-error"]);

/** Maps an HTTP answer to an outcome, telling a PDB refusal apart from API throttling. */
export function classify(status: number, error: KubeStatus | undefined): Outcome {
  if (status >= 200 && status < 300) return "ok";
  switch (status) {
    case 400:
      return "bad-request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return "not-found";
    case 409:
      return "conflict";
    case 422:
      return "invalid";
    case 429:
      return (error?.details?.causes ?? []).some((c) => c.reason === "DisruptionBudget") ? "disruption-budget" : "throttled";
    case 500:
      return /more than one PodDisruptionBudget/.test(error?.message ?? "") ? "multiple-budgets" : "server-error";
    default:
      return status >= 500 ? "unavailable" : "bad-request";
  }
}

export class KubeGateway {
  /** Requests sent (attempts included), for benchmarks and diagnostics. */
  requests = 0;
  private readonly agent: HttpAgent | HttpsAgent;
  /** Connections for priority requests (node reads and writes), so evictions never hold a cordon up. */
  private readonly priorityAgent: HttpAgent | HttpsAgent;
  /** Connections for reports (Events). */
  private readonly reportAgent: HttpAgent | HttpsAgent;
  private readonly secure: boolean;
  private readonly opts: Required<Omit<GatewayOptions, "onRequest">> & Pick<GatewayOptions, "onRequest">;

  constructor(
    private readonly endpoint: KubeEndpoint,
    options: GatewayOptions = {},
  ) {
    this.opts = {
      maxAttempts: options.maxAttempts ?? 6,
      baseDelayMs: options.baseDelayMs ?? 100,
      maxDelayMs: options.maxDelayMs ?? 5_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      maxRequestTimeoutMs: options.maxRequestTimeoutMs ?? 60_000,
      maxSockets: options.maxSockets ?? 64,
      random: options.random ?? Math.random,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      now: options.now ?? Date.now,
      onRequest: options.onRequest,
    };
    this.secure = endpoint.server.startsWith("https:");
    const agent = (maxSockets: number) =>
      this.secure
        ? new HttpsAgent({
            keepAlive: true,
            maxSockets,
            ...(endpoint.caPem ? { ca: endpoint.caPem } : {}),
            ...(endpoint.clientCertPem ? { cert: endpoint.clientCertPem } : {}),
            ...(endpoint.clientKeyPem ? { key: endpoint.clientKeyPem } : {}),
            rejectUnauthorized: !endpoint.insecureSkipTlsVerify,
          })
        : new HttpAgent({ keepAlive: true, maxSockets });
    this.agent = agent(this.opts.maxSockets);
    this.priorityAgent = agent(PRIORITY_SOCKETS);
    this.reportAgent = agent(REPORT_SOCKETS);
  }

  /** Sends a request, retrying transient failures; never throws for an HTTP answer. */
  async send<T>(request: KubeRequest): Promise<KubeResult<T>> {
    const canRetry = request.retry ?? true;
    let refreshedToken = false;
    let attempt = 0;
    for (;;) {
      attempt += 1;
      const result = await this.attempt<T>(request, attempt);
      if (result.outcome === "unauthorized" && !refreshedToken && this.endpoint.invalidateToken) {
        // tokens expire; one fresh token is worth a retry, a second 401 is final
        refreshedToken = true;
        this.endpoint.invalidateToken();
        continue;
      }
      if (!canRetry || !RETRYABLE.has(result.outcome) || attempt >= this.opts.maxAttempts) return result;
      const delay = this.backoff(attempt, result.retryAfterSeconds);
      if (request.deadline !== undefined && this.opts.now() + delay >= request.deadline) return result;
      await this.opts.sleep(delay);
    }
  }

  /** Full jitter over an exponential ceiling; a server's Retry-After is honoured as the floor. */
  backoff(attempt: number, retryAfterSeconds?: number): number {
    const ceiling = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempt - 1));
    const jittered = this.opts.random() * ceiling;
    return retryAfterSeconds !== undefined ? retryAfterSeconds * 1000 + jittered / 4 : jittered;
  }

  close(): void {
    this.agent.destroy();
    this.priorityAgent.destroy();
    this.reportAgent.destroy();
  }

  private async attempt<T>(request: KubeRequest, attempt: number): Promise<KubeResult<T>> {
    const started = this.opts.now();
    const url = new URL(request.path, this.endpoint.server);
    for (const [key, value] of Object.entries(request.query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    const payload = request.body === undefined ? undefined : typeof request.body === "string" ? request.body : JSON.stringify(request.body);
    const headers: Record<string, string> = {
      Accept: "application/json",
      Authorization: `Bearer ${await this.endpoint.token()}`,
      "User-Agent": "spot-manager",
    };
    if (payload !== undefined) {
      headers["Content-Type"] = request.contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(payload));
    }
    this.requests += 1;
    // with a deadline, an answer is waited for as long as the time left allows (a slow API still
    // answers in time) and never past it (a hung one leaves time for what must follow)
    const timeoutMs = request.deadline !== undefined ? Math.max(1_000, Math.min(this.opts.maxRequestTimeoutMs, request.deadline - started)) : this.opts.requestTimeoutMs;
    try {
      const { status, text, retryAfter } = await this.exchange(url, request.method, headers, payload, timeoutMs, request.priority ? this.priorityAgent : request.report ? this.reportAgent : this.agent);
      this.opts.onRequest?.({ method: request.method, path: url.pathname, status, ms: this.opts.now() - started, attempt });
      const json = parseJson(text);
      const error = status >= 300 ? (json as KubeStatus | undefined) : undefined;
      const outcome = classify(status, error);
      const retryAfterSeconds = retryAfter ?? error?.details?.retryAfterSeconds;
      return {
        outcome,
        status,
        attempts: attempt,
        ...(outcome === "ok" ? { body: json as T } : {}),
        ...(error ? { error } : {}),
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      };
    } catch (failure) {
      this.opts.onRequest?.({ method: request.method, path: url.pathname, status: 0, ms: this.opts.now() - started, attempt });
      return { outcome: "network-error", status: 0, attempts: attempt, failure: failure instanceof Error ? failure.message : String(failure) };
    }
  }

  private exchange(
    url: URL,
    method: Method,
    headers: Record<string, string>,
    payload: string | undefined,
    timeoutMs: number,
    agent: HttpAgent | HttpsAgent,
  ): Promise<{ status: number; text: string; retryAfter?: number }> {
    const send = this.secure ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      const req = send(url, { method, headers, agent }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", fail);
        res.on("end", () => {
          clearTimeout(timer);
          const header = res.headers["retry-after"];
          const retryAfter = header !== undefined && /^\d+$/.test(String(header)) ? Number(header) : undefined;
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8"), ...(retryAfter !== undefined ? { retryAfter } : {}) });
        });
      });
      // one clock for the whole exchange, from now: the wait for a free connection counts, so a
      // request queued behind busy connections is dropped at its time, never sent after it (a
      // socket's idle timeout starts only once the request has a connection)
      timer = setTimeout(() => {
        const error = new Error(`request timed out after ${timeoutMs} ms`);
        req.destroy(error);
        fail(error);
      }, timeoutMs);
      req.on("error", fail);
      req.end(payload);
    });
  }
}

function parseJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { message: text.slice(0, 500) };
  }
}
