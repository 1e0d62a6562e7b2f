import http from "node:http";
import { createApp, SERVICE_NAME, serviceVersion } from "./app";

const port = Number(process.env.PORT) || 3000;
const host = "0.0.0.0";

function log(message: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(
    JSON.stringify({ time: new Date().toISOString(), service: SERVICE_NAME, message, ...extra }) + "\n",
  );
}

const server = http.createServer(createApp());

server.on("error", (err) => {
  log("server error", { error: err.message });
  process.exit(1);
});

server.listen(port, host, () => {
  log("listening", { host, port, version: serviceVersion() });
});

let shuttingDown = false;

function shutdown(signal: NodeJS.Signals): void {
  if (shuttingDown) return;
  shuttingDown = true;
  log("shutting down", { signal });

  // Safety net: never hang longer than 5 s, but do not keep the process alive for it.
  setTimeout(() => {
    log("forced exit after timeout");
    process.exit(1);
  }, 5000).unref();

  server.close((err) => {
    if (err) {
      log("close failed", { error: err.message });
      process.exit(1);
    }
    log("closed");
    process.exit(0);
  });
  // Drop idle keep-alive sockets now; give in-flight requests a moment, then drop the rest.
  server.closeIdleConnections();
  setTimeout(() => server.closeAllConnections(), 1000).unref();
}

process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
