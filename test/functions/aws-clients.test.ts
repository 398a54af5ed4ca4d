/**
 * The interruption function's AWS clients answer within seconds or fail: a dependency that
 * accepts the connection and never answers cannot hold a spot warning's two minutes.
 */
import { DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { AWS_CLIENT_SETTINGS, createAwsClients } from "../../functions/lib/interruption-runtime";

let server: Server | undefined;
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A TCP server that takes connections and never says a word. */
async function silentServer(): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}`, connections: () => connections };
}

describe("AWS clients of the interruption function", () => {
  it("give up on a request that gets no answer after the request timeout", { timeout: 20_000 }, async () => {
    const silent = await silentServer();
    const ec2 = new EC2Client({ ...AWS_CLIENT_SETTINGS, maxAttempts: 1, region: "us-west-2", endpoint: silent.url, credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "example" } });
    const started = Date.now();
    const error = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ["i-1234567890abcdef0"] })).catch((e: unknown) => e as Error);
    const seconds = (Date.now() - started) / 1000;
    expect(error).toBeInstanceOf(Error);
    expect(seconds).toBeGreaterThanOrEqual(4.5);
    expect(seconds).toBeLessThan(8);
    expect(silent.connections()).toBe(1);
    ec2.destroy();
  });

  it("are built with bounded retries and the same timeouts for every service", async () => {
    const clients = createAwsClients("us-west-2");
    for (const client of Object.values(clients)) {
      expect(await client.config.maxAttempts()).toBe(3);
    }
    expect(AWS_CLIENT_SETTINGS.requestHandler).toEqual({ connectionTimeout: 2_000, requestTimeout: 5_000, throwOnRequestTimeout: true });
    for (const client of Object.values(clients)) client.destroy();
  });
});
