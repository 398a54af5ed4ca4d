/**
 * A KubeEndpoint for any cluster a kubeconfig reaches, through @kubernetes/client-node's loader:
 * CA, client certificates and bearer tokens, including exec plugins such as `aws eks get-token`.
 */
import type { RequestOptions } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";
import type { KubeEndpoint } from "@spot-manager/core";
import { UsageError } from "./options";

/** Tokens from exec plugins are re-read at most this often. */
const TOKEN_REUSE_MS = 60_000;

function bearerOf(options: RequestOptions): string | undefined {
  const header = (options.headers as Record<string, unknown> | undefined)?.["Authorization"] ?? (options.headers as Record<string, unknown> | undefined)?.["authorization"];
  const match = /^Bearer\s+(.+)$/i.exec(String(header ?? ""));
  return match?.[1];
}

export async function endpointFromKubeconfig(path: string, context?: string): Promise<{ endpoint: KubeEndpoint; contextName: string }> {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (error) {
    throw new UsageError(`cannot read kubeconfig ${path}: ${(error as Error).message}`);
  }
  if (context) {
    if (!kc.getContexts().some((c) => c.name === context)) throw new UsageError(`kubeconfig ${path} has no context "${context}"`);
    kc.setCurrentContext(context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new UsageError(`kubeconfig ${path} has no current cluster (context "${kc.getCurrentContext()}")`);
  const first: RequestOptions = {};
  await kc.applyToHTTPSOptions(first);
  let token = bearerOf(first);
  let readAt = Date.now();
  const toPem = (value: unknown) => (value === undefined ? undefined : Buffer.isBuffer(value) ? value.toString("utf8") : String(value));
  const caPem = toPem(first.ca);
  const clientCertPem = toPem(first.cert);
  const clientKeyPem = toPem(first.key);
  const endpoint: KubeEndpoint = {
    server: cluster.server,
    ...(caPem ? { caPem } : {}),
    ...(clientCertPem ? { clientCertPem } : {}),
    ...(clientKeyPem ? { clientKeyPem } : {}),
    ...(cluster.skipTLSVerify ? { insecureSkipTlsVerify: true } : {}),
    async token() {
      if (token === undefined || Date.now() - readAt > TOKEN_REUSE_MS) {
        const fresh: RequestOptions = {};
        await kc.applyToHTTPSOptions(fresh);
        token = bearerOf(fresh);
        readAt = Date.now();
      }
      return token ?? "";
    },
    invalidateToken() {
      token = undefined;
    },
  };
  return { endpoint, contextName: kc.getCurrentContext() };
}
