// The sample workload: answers /healthz for the probes and / with its version. It stops taking new
// connections on SIGTERM and exits once the open ones are done, so a drain loses no request.
import { createServer } from "node:http";

const port = Number(process.env.PORT ?? 8080);
const version = process.env.APP_VERSION ?? "dev";
let stopping = false;

const server = createServer((request, response) => {
  if (request.url === "/healthz") {
    response.writeHead(stopping ? 503 : 200, { "content-type": "text/plain" });
    response.end(stopping ? "stopping\n" : "ok\n");
    return;
  }
  response.writeHead(200, { "content-type": "application/json" });
  response.end(JSON.stringify({ app: "sample-app", version }) + "\n");
});

server.listen(port, () => console.log(JSON.stringify({ message: "listening", port: server.address().port, version })));

process.on("SIGTERM", () => {
  stopping = true;
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
