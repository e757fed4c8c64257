import { HealthBody, ReadinessBody } from "@pragma/contracts";
import { defineRoute, type AnyRoute } from "./route";
import type { GatewayDeps } from "./deps";

export function healthRoutes(deps: GatewayDeps): AnyRoute[] {
  return [
    defineRoute({
      method: "get",
      path: "/health",
      operationId: "health",
      summary: "Liveness: the gateway process answers",
      tags: ["health"],
      auth: { kind: "none" },
      responses: { 200: { description: "Running", schema: HealthBody } },
      handler: async ({ res }) => {
        res.json({ status: "ok" });
      },
    }),
    defineRoute({
      method: "get",
      path: "/health/ready",
      operationId: "ready",
      summary: "Readiness: status of every dependency",
      tags: ["health"],
      auth: { kind: "none" },
      responses: {
        200: { description: "Every required dependency is up (status may be 'degraded' when an optional one is down)", schema: ReadinessBody },
        503: { description: "A required dependency is down; `down` names it", schema: ReadinessBody },
      },
      handler: async ({ res }) => {
        const body = await deps.readiness.check();
        res.status(body.status === "unavailable" ? 503 : 200).json(body);
      },
    }),
  ];
}
