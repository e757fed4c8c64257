import { z } from "zod";
import { defineRequest } from "./message";

/** Answered by every RPC server automatically: liveness over the bus (health/ready, compose health checks). */
export const ping = defineRequest(
  "system.health.ping.v1",
  z.object({}).passthrough(),
  z.object({
    service: z.string(),
    version: z.string(),
    ok: z.boolean(),
    /** Dependencies only this service reaches (its PostgreSQL): GET /health/ready names them. */
    checks: z
      .record(z.string(), z.object({ status: z.enum(["up", "down"]), latency_ms: z.number().optional(), error: z.string().optional() }))
      .optional(),
  }),
);
