import type { Principal } from "../auth/tokens";

// res.locals is where per-request state lives, so handlers never read headers for identity.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      requestId: string;
      principal?: Principal;
      /** The matched route's template (OpenAPI path), for the latency histogram's label. */
      route?: string;
    }
  }
}

export {};
