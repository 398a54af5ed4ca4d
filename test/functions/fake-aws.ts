/**
 * An AWS endpoint on 127.0.0.1 for processes that cannot use aws-sdk-client-mock (a bundle run
 * under another Node.js): it tells the service and operation of each signed request apart the way
 * the wire protocols do (X-Amz-Target, the query Action, REST method and path) and answers with
 * the replies a test gives it; anything else gets the error AWS sends for an unknown operation.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";

export interface AwsCall {
  service: string;
  operation: string;
  body: string;
  params: URLSearchParams;
}

export interface AwsReply {
  status?: number;
  contentType?: string;
  body: string;
}

export type AwsReplies = Record<string, (call: AwsCall) => AwsReply>;

export interface FakeAws {
  url: string;
  calls: AwsCall[];
  stop(): Promise<void>;
}

/** "ec2" from `Credential=AKID/20261127/us-west-2/ec2/aws4_request`. */
function serviceOf(request: IncomingMessage): string {
  return /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(String(request.headers["authorization"] ?? ""))?.[1] ?? "unknown";
}

function operationOf(request: IncomingMessage, body: string): { operation: string; params: URLSearchParams } {
  const target = request.headers["x-amz-target"];
  if (typeof target === "string") return { operation: target.split(".").pop() ?? target, params: new URLSearchParams() };
  const contentType = String(request.headers["content-type"] ?? "");
  if (contentType.startsWith("application/x-www-form-urlencoded")) {
    const params = new URLSearchParams(body);
    return { operation: params.get("Action") ?? "unknown", params };
  }
  const path = new URL(request.url ?? "/", "http://localhost").pathname;
  return { operation: `${request.method} ${path}`, params: new URLSearchParams() };
}

export async function startFakeAws(replies: AwsReplies): Promise<FakeAws> {
  const calls: AwsCall[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const { operation, params } = operationOf(request, body);
      const call = { service: serviceOf(request), operation, body, params };
      calls.push(call);
      const reply = replies[`${call.service}:${operation}`]?.(call) ?? {
        status: 400,
        contentType: "application/x-amz-json-1.1",
        body: JSON.stringify({ __type: "UnknownOperationException", message: `no reply for ${call.service} ${operation}` }),
      };
      response.writeHead(reply.status ?? 200, { "content-type": reply.contentType ?? "application/json", "x-amzn-requestid": `fake-${calls.length}` });
      response.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A JSON-protocol reply (EKS, SQS, Secrets Manager, CodeBuild). */
export const json = (value: unknown, contentType = "application/x-amz-json-1.1"): AwsReply => ({ contentType, body: JSON.stringify(value) });

/** A query-protocol reply (EC2, SNS, Auto Scaling): `<Operation>Response` around the given XML. */
export const xml = (operation: string, namespace: string, inner: string): AwsReply => ({
  contentType: "text/xml",
  body: `<?xml version="1.0" encoding="UTF-8"?><${operation}Response xmlns="${namespace}">${inner}<ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></${operation}Response>`,
});
