import { amqpPort, amqpPortsOf, ensureManagementApi, isLocalHost } from "./management";

describe("management API set-up: which broker is ours to change", () => {
  it("only loopback hosts count as this machine", () => {
    for (const h of ["127.0.0.1", "localhost", "LOCALHOST", "::1", "[::1]", "127.0.1.1"]) expect(isLocalHost(h)).toBe(true);
    for (const h of ["rabbitmq", "10.0.0.5", "broker.internal", "128.0.0.1"]) expect(isLocalHost(h)).toBe(false);
  });

  it("reads the AMQP port of a URL, defaults included", () => {
    expect(amqpPort("amqp://guest:guest@127.0.0.1:5690/v")).toBe(5690);
    expect(amqpPort("amqp://127.0.0.1")).toBe(5672);
    expect(amqpPort("amqps://broker")).toBe(5671);
  });

  it("finds the AMQP ports in rabbitmq-diagnostics listeners' JSON", () => {
    const json = JSON.stringify([
      { interface: "[::]", node: "fresh@localhost", port: 25690, protocol: "clustering", purpose: "inter-node" },
      { interface: "127.0.0.1", node: "fresh@localhost", port: 5690, protocol: "amqp", purpose: "AMQP 0-9-1" },
      { interface: "[::]", node: "fresh@localhost", port: 15690, protocol: "http", purpose: "HTTP API" },
    ]);
    expect(amqpPortsOf(json)).toEqual([5690]);
    // RabbitMQ 3.10 wraps the list.
    expect(amqpPortsOf(JSON.stringify({ listeners: JSON.parse(json) }))).toEqual([5690]);
  });

  it("leaves a broker on another host alone (checkInfra reports it)", async () => {
    // 127.0.0.1:1 refuses at once: the API "does not answer"; the broker's host is not this machine.
    await expect(ensureManagementApi({ amqpUrl: "amqp://guest:guest@192.0.2.10:5672", mgmtUrl: "http://guest:guest@127.0.0.1:1" })).resolves.toBe("not local");
  });
});
