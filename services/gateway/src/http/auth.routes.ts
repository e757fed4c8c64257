import { RPC_QUEUES, registryRequests, TokenRequest, TokenResponse, UserInfo } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import { notAuthenticated } from "../auth/tokens";
import { defineRoute, type AnyRoute } from "./route";
import type { GatewayDeps } from "./deps";
import { errorResponses } from "./openapi-helpers";

export function authRoutes(deps: GatewayDeps): AnyRoute[] {
  return [
    defineRoute({
      method: "post",
      path: "/auth/token",
      operationId: "issueToken",
      summary: "Exchange an API key for a short-lived access token",
      tags: ["auth"],
      auth: { kind: "none" },
      body: TokenRequest,
      responses: { 200: { description: "Access token", schema: TokenResponse }, ...errorResponses(401, 422) },
      handler: async ({ body, res }) => {
        let principal;
        try {
          principal = await deps.bus.call(RPC_QUEUES.registry, registryRequests.verifyApiKey, { api_key: body.api_key });
        } catch (err) {
          // Unknown, revoked and malformed keys look the same to the caller.
          if (err instanceof AppError && (err.code === "UNAUTHENTICATED" || err.code === "NOT_FOUND" || err.code === "VALIDATION_FAILED")) throw notAuthenticated();
          throw err;
        }
        const { token, expiresIn } = deps.tokens.issue(principal);
        res.setHeader("Cache-Control", "no-store");
        res.json({ access_token: token, token_type: "bearer", expires_in: expiresIn });
      },
    }),
    defineRoute({
      method: "get",
      path: "/auth/me",
      operationId: "me",
      summary: "Who the token belongs to",
      tags: ["auth"],
      auth: { kind: "bearer", role: "member" },
      responses: { 200: { description: "The caller", schema: UserInfo }, ...errorResponses(401, 429) },
      handler: async ({ principal, res }) => {
        const p = principal!;
        const org = await deps.tenancy.getOrg(p.orgId).catch(() => null);
        const body: UserInfo = {
          user_id: p.keyId,
          // API keys are not people: there is no email to show.
          email: null,
          organization_id: p.orgId,
          organization_name: org?.name ?? null,
          role: p.role,
          project_id: p.projectId,
          space_id: p.spaceId,
        };
        res.json(body);
      },
    }),
  ];
}
