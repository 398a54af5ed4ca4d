import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentityProvider, HttpRequest as SignedRequest, QueryParameterBag } from "@smithy/types";
import { ConfigError } from "../errors";

export type { AwsCredentialIdentityProvider };

/** Prefix aws-iam-authenticator expects in front of the encoded presigned URL. */
export const EKS_TOKEN_PREFIX = "k8s-aws-v1.";
/** Header that binds the signature to one cluster, so a token cannot be replayed elsewhere. */
export const CLUSTER_ID_HEADER = "x-k8s-aws-id";
/** EKS accepts a token for 15 minutes after its X-Amz-Date (aws-iam-authenticator's own limit). */
export const EKS_TOKEN_LIFETIME_SECONDS = 15 * 60;
// aws-iam-authenticator and `aws eks get-token` both presign with 60 seconds; keep it identical.
const PRESIGN_EXPIRES_SECONDS = 60;
const DEFAULT_REFRESH_BEFORE_SECONDS = 60;
const SIGNATURE_PARAM = "X-Amz-Signature";

export interface EksTokenInput {
  clusterName: string;
  region: string;
  credentials: AwsCredentialIdentityProvider;
  now?: () => Date;
}

export interface EksToken {
  token: string;
  expiresAt: Date;
}

export interface EksTokenProviderOptions extends EksTokenInput {
  /** Re-sign once fewer than this many seconds of validity remain (default 60). */
  refreshBeforeSeconds?: number;
}

/** Creates a bearer token for the EKS API server: a presigned STS GetCallerIdentity URL. */
export async function createEksToken(input: EksTokenInput): Promise<EksToken> {
  const signingDate = wholeSeconds((input.now ?? systemNow)());
  const signer = new SignatureV4({
    credentials: input.credentials,
    region: input.region,
    service: "sts",
    sha256: Hash.bind(null, "sha256"),
  });
  const presigned = await signer.presign(getCallerIdentityRequest(input.clusterName, input.region), {
    expiresIn: PRESIGN_EXPIRES_SECONDS,
    signingDate,
  });
  return {
    token: EKS_TOKEN_PREFIX + Buffer.from(toUrl(presigned)).toString("base64url"),
    expiresAt: new Date(signingDate.getTime() + EKS_TOKEN_LIFETIME_SECONDS * 1000),
  };
}

/** Caches an EKS token per warm container and re-signs it shortly before it expires. */
export class EksTokenProvider {
  private readonly input: EksTokenInput;
  private readonly now: () => Date;
  private readonly refreshBeforeMs: number;
  private cached: EksToken | undefined;
  private pending: Promise<EksToken> | undefined;

  constructor(opts: EksTokenProviderOptions) {
    const refreshBeforeSeconds = opts.refreshBeforeSeconds ?? DEFAULT_REFRESH_BEFORE_SECONDS;
    if (!Number.isFinite(refreshBeforeSeconds) || refreshBeforeSeconds < 0 || refreshBeforeSeconds >= EKS_TOKEN_LIFETIME_SECONDS) {
      throw new ConfigError(`refreshBeforeSeconds must be between 0 and ${EKS_TOKEN_LIFETIME_SECONDS - 1}, got ${refreshBeforeSeconds}`);
    }
    this.now = opts.now ?? systemNow;
    this.input = { clusterName: opts.clusterName, region: opts.region, credentials: opts.credentials, now: this.now };
    this.refreshBeforeMs = refreshBeforeSeconds * 1000;
  }

  /** Returns a token with more than refreshBeforeSeconds of validity left, signing only when needed. */
  async token(): Promise<string> {
    if (this.cached && this.isFresh(this.cached)) return this.cached.token;
    return (await (this.pending ?? this.refresh())).token;
  }

  /** Drops the cached token, e.g. after the API server answered 401. */
  invalidate(): void {
    this.cached = undefined;
    this.pending = undefined;
  }

  private isFresh(token: EksToken): boolean {
    return token.expiresAt.getTime() - this.now().getTime() > this.refreshBeforeMs;
  }

  private refresh(): Promise<EksToken> {
    const pending = createEksToken(this.input);
    this.pending = pending;
    // Registered before any caller awaits, so the cache is filled before they resume.
    pending.then(
      (token) => this.settle(pending, token),
      () => this.settle(pending, undefined),
    );
    return pending;
  }

  private settle(pending: Promise<EksToken>, token: EksToken | undefined): void {
    // Only the current signing may fill the cache: an invalidate() meanwhile makes its result unwanted.
    if (this.pending !== pending) return;
    this.pending = undefined;
    if (token) this.cached = token;
  }
}

function getCallerIdentityRequest(clusterName: string, region: string): HttpRequest {
  const hostname = stsHostname(region);
  return new HttpRequest({
    method: "GET",
    protocol: "https:",
    hostname,
    path: "/",
    query: { Action: "GetCallerIdentity", Version: "2011-06-15" },
    // host must be listed explicitly: the signer only signs headers present on the request.
    headers: { host: hostname, [CLUSTER_ID_HEADER]: clusterName },
  });
}

function stsHostname(region: string): string {
  // The China partition lives under its own DNS suffix; the regional endpoint is what the CLI uses.
  const suffix = region.startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
  return `sts.${region}.${suffix}`;
}

function toUrl(request: SignedRequest): string {
  return `${request.protocol}//${request.hostname}${request.path}?${queryString(request.query ?? {})}`;
}

function queryString(query: QueryParameterBag): string {
  // aws-iam-authenticator's order: sorted, signature last. STS ignores the order; people diffing tokens do not.
  const keys = Object.keys(query).filter((key) => key !== SIGNATURE_PARAM).sort();
  if (SIGNATURE_PARAM in query) keys.push(SIGNATURE_PARAM);
  return keys.flatMap((key) => queryValues(query[key]).map((value) => `${rfc3986(key)}=${rfc3986(value)}`)).join("&");
}

function queryValues(value: string | string[] | null | undefined): string[] {
  if (value == null) return [];
  return Array.isArray(value) ? value : [value];
}

function rfc3986(value: string): string {
  // encodeURIComponent leaves !'()* alone, but SigV4 canonicalisation escapes them.
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function wholeSeconds(date: Date): Date {
  // X-Amz-Date has second precision; expiry must be measured from the same instant.
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function systemNow(): Date {
  return new Date();
}
