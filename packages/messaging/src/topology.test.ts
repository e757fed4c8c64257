import { toDefinitions, type TopologySpec } from "./topology";

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
