import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface MetricsServer {
  /** The port it listens on (the one chosen by the OS when asked for 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * GET /metrics in Prometheus's text format, on a listener of its own: the gateway's
 * public port never exposes it, and the services without HTTP get one only for this.
 * `render` defaults to the registry's own text; the gateway's cluster primary passes
 * the aggregate of its processes instead.
 */
export async function serveMetrics(
  registry: { contentType: string; metrics(): Promise<string> },
  port: number,
  render: () => Promise<string> = () => registry.metrics(),
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: metrics are at /metrics\n");
      return;
    }
    render().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(req.method === "HEAD" ? undefined : text),
      (err: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics unavailable: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
