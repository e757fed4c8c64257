import { mergeTopologies, rpcQueueSpec, toDefinitions, type TopologySpec } from "./topology";

const spec: TopologySpec = {
  exchanges: [{ name: "pragma.work", type: "direct" }, { name: "pragma.dlx", type: "fanout", durable: true }],
  queues: [{ name: "work.postgres", arguments: { "x-queue-type": "quorum", "x-delivery-limit": 5 } }],
  bindings: [
    { source: "pragma.work", destination: "work.postgres", routingKey: "postgres" },
    { source: "pragma.events", destination: "pragma.work", destinationType: "exchange", routingKey: "#" },
  ],
};

describe("toDefinitions", () => {
  it("produces RabbitMQ definitions-file entries with durable defaults", () => {
    const d = toDefinitions(spec, "prod");
    expect(d.exchanges[0]).toEqual({ name: "pragma.work", vhost: "prod", type: "direct", durable: true, auto_delete: false, internal: false, arguments: {} });
    expect(d.queues[0]).toEqual({
      name: "work.postgres",
      vhost: "prod",
      durable: true,
      auto_delete: false,
      arguments: { "x-queue-type": "quorum", "x-delivery-limit": 5 },
    });
    expect(d.bindings.map((b) => [b.destination_type, b.routing_key])).toEqual([
      ["queue", "postgres"],
      ["exchange", "#"],
    ]);
  });

  it("defaults to the / vhost and does not share argument objects with the spec", () => {
    const d = toDefinitions(spec);
    expect(d.queues[0]!.vhost).toBe("/");
    d.queues[0]!.arguments["x-delivery-limit"] = 99;
    expect(spec.queues[0]!.arguments!["x-delivery-limit"]).toBe(5);
  });
});

describe("mergeTopologies", () => {
  it("keeps one of each exchange, queue and binding that several services declare alike", () => {
    const other: TopologySpec = {
      exchanges: [{ name: "pragma.work", type: "direct", durable: true, arguments: {} }],
      queues: [{ name: "work.postgres", arguments: { "x-delivery-limit": 5, "x-queue-type": "quorum" } }],
      bindings: [{ source: "pragma.work", destination: "work.postgres", routingKey: "postgres", destinationType: "queue" }],
    };
    const merged = mergeTopologies(spec, other, rpcQueueSpec("rpc.x", 1000));
    expect(merged.exchanges.map((e) => e.name)).toEqual(["pragma.work", "pragma.dlx"]);
    expect(merged.queues).toEqual([spec.queues[0], { name: "rpc.x", durable: false, recreateIfMismatched: true, arguments: { "x-queue-type": "classic", "x-message-ttl": 1000 } }]);
    expect(merged.bindings).toHaveLength(2);
  });

  it("refuses the same queue or exchange declared two ways, naming it (RabbitMQ would refuse the second declaration)", () => {
    const clash: TopologySpec = { exchanges: [], queues: [{ name: "work.postgres", arguments: { "x-queue-type": "quorum", "x-delivery-limit": 6 } }], bindings: [] };
    expect(() => mergeTopologies(spec, clash)).toThrow(/queue work.postgres is declared two ways/);
    expect(() => mergeTopologies(spec, { exchanges: [{ name: "pragma.dlx", type: "topic" }], queues: [], bindings: [] })).toThrow(/exchange pragma.dlx/);
  });
});
