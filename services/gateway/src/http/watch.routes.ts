import { z } from "zod";
import { HTTP_HEADERS, ListResourcesQuery, WatchPosition } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import { defineRoute, type AnyRoute } from "./route";
import type { GatewayDeps } from "./deps";
import { errorResponses } from "./openapi-helpers";
import { TenancyHeaders } from "./schemas";

const WatchQuery = ListResourcesQuery.pick({ provider: true, resource: true, tags: true });

/** GET /resources/watch (api.md §8): Server-Sent Events fed by the gateway's WatchHub. */
export function watchRoutes(deps: GatewayDeps): AnyRoute[] {
  return [
    defineRoute({
      method: "get",
      path: "/resources/watch",
      operationId: "watchResources",
      summary:
        "Server-Sent Events: `event: changed` (data: the resource as GET shows it) or `deleted` (data: its id, provider, resource, name) for every change in scope, " +
        "same filters as the list; `id:` is a position to resume from with Last-Event-ID; `event: reset` when that position is past the retention (list again); " +
        "`event: sync` first when no Last-Event-ID was sent (its id is the current position); heartbeat comments while idle",
      tags: ["resources"],
      auth: { kind: "bearer", role: "member" },
      headers: TenancyHeaders.extend({ [HTTP_HEADERS.lastEventId]: WatchPosition.optional().describe("Resume after this position (the id of the last event received)") }),
      query: WatchQuery,
      responses: { 200: { description: "An event stream", contentType: "text/event-stream", schema: z.string() }, ...errorResponses(400, 401, 403, 404, 422, 429, 503, 504) },
      handler: async ({ query, req, res, principal }) => {
        const scope = await deps.tenancy.resolveScope(principal!, req.headers);
        const raw = req.headers[HTTP_HEADERS.lastEventId];
        const lastEventId = typeof raw === "string" && raw.trim() !== "" ? raw.trim() : null;
        if (lastEventId !== null && !WatchPosition.safeParse(lastEventId).success) {
          throw new AppError("VALIDATION_FAILED", [{ loc: ["header", "Last-Event-ID"], msg: "must be the id of an event this API sent (a decimal position)", type: "value_error" }]);
        }
        const tags = query.tags === undefined ? undefined : Array.isArray(query.tags) ? query.tags : [query.tags];
        const filter = {
          ...(query.provider !== undefined ? { provider: query.provider } : {}),
          ...(query.resource !== undefined ? { resource: query.resource } : {}),
          ...(tags ? { tags } : {}),
        };
        res.status(200);
        res.setHeader("content-type", "text/event-stream; charset=utf-8");
        res.setHeader("cache-control", "no-cache, no-transform");
        res.setHeader("x-accel-buffering", "no");
        const maxBuffer = deps.config.watch.maxBufferBytes;
        let headersSent = false;
        const sink = {
          write: (frame: string | Buffer) => {
            if (!headersSent) {
              res.flushHeaders();
              headersSent = true;
            }
            res.write(frame);
            return res.writableLength <= maxBuffer;
          },
          end: () => res.end(),
        };
        // Errors before the first frame (cap reached, store unavailable) answer as JSON errors.
        const close = await deps.watch.open(scope, filter, lastEventId, sink, principal!.expiresAt * 1000);
        if (!headersSent) {
          res.flushHeaders();
          headersSent = true;
          res.write(": watching\n\n");
        }
        req.socket.setTimeout(0);
        if (res.destroyed) close();
        else res.on("close", close);
      },
    }),
  ];
}
