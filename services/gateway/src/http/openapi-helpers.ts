import { ErrorBody } from "@pragma/contracts";
import type { ResponseSpec } from "./route";

const DESCRIPTIONS: Record<number, string> = {
  400: "Bad request (malformed JSON, missing X-Project-Id, …)",
  401: "Not authenticated",
  403: "The token's role does not allow this",
  404: "Not found (also for ids of another tenant)",
  409: "Conflict",
  413: "Body larger than 1 MiB",
  422: "Validation failed: detail is a list of {loc, msg, type}",
  429: "Rate limit exceeded (Retry-After tells when to retry)",
  502: "A worker answered with an error",
  503: "A service behind the gateway, or its database, is unavailable (Retry-After tells when to retry)",
  504: "A service behind the gateway did not answer in time",
};

export function errorResponses(...statuses: number[]): Record<number, ResponseSpec> {
  return Object.fromEntries(statuses.map((s) => [s, { description: DESCRIPTIONS[s] ?? "Error", schema: ErrorBody }]));
}
