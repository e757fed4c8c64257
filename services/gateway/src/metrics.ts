import { Counter, Histogram, LATENCY_BUCKETS, memo3, statusLabel, type Registry } from "@pragma/metrics";

/** Route label of a request no route matched (404/405): raw paths would be unbounded. */
export const UNMATCHED_ROUTE = "unmatched";

export interface GatewayMetrics {
  /** `route` is the route's template (`/resources/{resource_id}`), never the raw path. */
  httpRequest(method: string, route: string, status: number, seconds: number): void;
  rateLimitRejected(): void;
  rateLimitUnavailable(): void;
}

export function gatewayMetrics(registry: Registry): GatewayMetrics {
  const http = new Histogram({
    name: "pragma_http_request_duration_seconds",
    help: "Gateway HTTP requests until the response was sent, by method, route template and status",
    labelNames: ["method", "route", "status"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const rejected = new Counter({
    name: "pragma_rate_limit_rejections_total",
    help: "Requests refused with 429 by the per-org token bucket",
    registers: [registry],
  });
  const unavailable = new Counter({
    name: "pragma_rate_limit_unavailable_total",
    help: "Requests let through without a rate-limit decision because Redis did not answer (fail open)",
    registers: [registry],
  });
  const child = memo3((method, route, status) => http.labels(method, route, status));
  return {
    httpRequest: (method, route, status, seconds) => child(method, route, statusLabel(status)).observe(seconds),
    rateLimitRejected: () => rejected.inc(),
    rateLimitUnavailable: () => unavailable.inc(),
  };
}
