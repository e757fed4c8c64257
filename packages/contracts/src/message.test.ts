import { z } from "zod";
import * as contracts from "./index";
import { defineMessage, type MessageContract } from "./message";

const isMessage = (v: unknown): v is MessageContract => typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "message";

/** Every message contract the package exports, alone or in a group (registryEvents, providerResults, ...). */
const allMessages = Object.values(contracts).flatMap((v): MessageContract[] => (isMessage(v) ? [v] : typeof v === "object" && v !== null ? Object.values(v).filter(isMessage) : []));

const work = (provider: string) =>
  ({
    event_id: "evt_1",
    event_type: "CREATE",
    resource_id: "r",
    provider,
    resource_type: "t",
    resource_name: "n",
    org_id: "o",
    project_id: "p",
    space_id: "s",
    config: {},
    previous_config: null,
    outputs: null,
    created_at: "2026-01-01T00:00:00.000Z",
  }) as const;

describe("message routes", () => {
  it("every message contract says where it is published", () => {
    expect(allMessages.length).toBeGreaterThanOrEqual(11);
    expect(allMessages.filter((m) => !m.route).map((m) => m.type)).toEqual([]);
  });

  it("events and results are routed by their type on their topic exchange", () => {
    const { registryEvents, resourceEvents, providerResults, providerResultsReported, EXCHANGES } = contracts;
    for (const m of [...Object.values(registryEvents), resourceEvents.changed]) {
      expect([m.route?.exchange, m.route?.routingKey(undefined as never)]).toEqual([EXCHANGES.events, m.type]);
    }
    for (const m of [...Object.values(providerResults), providerResultsReported]) {
      expect([m.route?.exchange, m.route?.routingKey(undefined as never)]).toEqual([EXCHANGES.results, m.type]);
    }
  });

  it("work goes to pragma.work under its provider's key; builds straight to their queue", () => {
    const { resourceWork, providerBuildRequested, EXCHANGES, PROVIDER_QUEUES, PUSHED_WORK_KEY } = contracts;
    expect(resourceWork.route?.exchange).toBe(EXCHANGES.work);
    expect(resourceWork.route?.routingKey(work("postgres"))).toBe("postgres");
    expect(resourceWork.route?.routingKey(work("my-pushed-provider"))).toBe(PUSHED_WORK_KEY);
    expect(providerBuildRequested.route?.exchange).toBe("");
    expect(providerBuildRequested.route?.routingKey({ org_id: "o", provider_id: "p", version: "1" })).toBe(PROVIDER_QUEUES.builds);
  });

  it("defineMessage takes a constant key, a key from the payload, or the type by default", () => {
    const schema = z.object({ to: z.string() });
    expect(defineMessage("a.b.c.v1", schema).route).toBeUndefined();
    expect(defineMessage("a.b.c.v1", schema, { exchange: "x" }).route?.routingKey({ to: "q" })).toBe("a.b.c.v1");
    expect(defineMessage("a.b.c.v1", schema, { exchange: "x", routingKey: "k" }).route?.routingKey({ to: "q" })).toBe("k");
    expect(defineMessage("a.b.c.v1", schema, { exchange: "x", routingKey: (m) => m.to }).route?.routingKey({ to: "q" })).toBe("q");
  });
});
