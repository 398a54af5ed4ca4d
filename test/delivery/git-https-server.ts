/**
 * A Git smart-HTTP server over HTTPS on 127.0.0.1, as GitHub serves a repository: real git talks
 * to git-http-backend (git's own CGI program) through it. Reading needs no credentials; pushing
 * needs HTTP Basic authentication with the token as password (any user name, as GitHub accepts
 * `x-access-token`), else 401 with a Basic challenge, so git asks GIT_ASKPASS for credentials.
 */
import { execFileSync, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { createServingCertificates } from "../../packages/kube-local/src/tls";

export interface GitHttpsServer {
  /** https://127.0.0.1:<port>/<name> */
  url(name: string): string;
  /** A file with the CA certificate, for GIT_SSL_CAINFO. */
  caFile: string;
  /** Requests that asked to push, with whether their credentials held. */
  pushes: { authorized: boolean }[];
  stop(): Promise<void>;
}

const backend = join(execFileSync("git", ["--exec-path"], { encoding: "utf8" }).trim(), "git-http-backend");

/** Serves the bare repositories under `root` (e.g. root/gitops.git) until stopped. */
export async function startGitHttpsServer(root: string, token: string): Promise<GitHttpsServer> {
  const certificates = await createServingCertificates({ ips: ["127.0.0.1"], dnsNames: ["localhost"] });
  const caFile = join(dirname(root), "git-https-ca.pem");
  await writeFile(caFile, certificates.caPem);
  const pushes: { authorized: boolean }[] = [];
  const server: Server = createServer({ cert: certificates.certPem, key: certificates.keyPem }, (request, response) => {
    const url = new URL(request.url ?? "/", "https://127.0.0.1");
    const pushing = url.searchParams.get("service") === "git-receive-pack" || url.pathname.endsWith("/git-receive-pack");
    if (pushing) {
      const header = request.headers.authorization ?? "";
      const password = header.startsWith("Basic ") ? Buffer.from(header.slice(6), "base64").toString("utf8").split(":").slice(1).join(":") : undefined;
      const authorized = password === token;
      pushes.push({ authorized });
      if (!authorized) {
        response.writeHead(401, { "www-authenticate": 'Basic realm="GitHub"', "content-type": "text/plain" });
        response.end("Invalid username or token. Password authentication is not supported for Git operations.\n");
        return;
      }
    }
    const cgi = spawn(backend, [], {
      env: {
        PATH: process.env["PATH"] ?? "/usr/bin:/bin",
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: "1",
        GIT_CONFIG_NOSYSTEM: "1",
        GIT_CONFIG_GLOBAL: "/dev/null",
        REQUEST_METHOD: request.method ?? "GET",
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: request.headers["content-type"] ?? "",
        ...(request.headers["content-encoding"] ? { HTTP_CONTENT_ENCODING: String(request.headers["content-encoding"]) } : {}),
        ...(request.headers["git-protocol"] ? { GIT_PROTOCOL: String(request.headers["git-protocol"]) } : {}),
        REMOTE_ADDR: "127.0.0.1",
        ...(pushing ? { REMOTE_USER: "x-access-token" } : {}),
      },
    });
    request.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let started = false;
    cgi.stdout.on("data", (chunk: Buffer) => {
      if (started) {
        response.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      started = true;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.subarray(0, end).toString("latin1").split("\r\n")) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        if (name === "status") status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      response.writeHead(status, headers);
      response.write(head.subarray(end + 4));
    });
    cgi.on("close", () => {
      if (!started) response.writeHead(500).end();
      else response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (name) => `https://127.0.0.1:${port}/${name}`,
    caFile,
    pushes,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
