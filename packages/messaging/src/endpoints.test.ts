import { BrokerEndpoints } from "./endpoints";

describe("BrokerEndpoints", () => {
  it("reads each field of the current URL, and next() moves to the following one, wrapping", () => {
    const e = new BrokerEndpoints("amqp://u1:p%40ss@h1:5701/v%2Fone?heartbeat=7, amqps://h2/ ,amqp://h3", 0);
    const t = e.connectTarget();
    expect(e.size).toBe(3);
    expect([t.protocol, t.hostname, t.port, t.username, t.password, t.vhost, t.heartbeat]).toEqual(["amqp", "h1", 5701, "u1", "p@ss", "v%2Fone", 7]);
    expect(e.next()).toBe("amqps://h2:5671");
    // No credentials in the URL: guest/guest, as amqplib's string form; TLS default port.
    expect([t.protocol, t.hostname, t.port, t.username, t.password, t.vhost, t.heartbeat]).toEqual(["amqps", "h2", 5671, "guest", "guest", "", undefined]);
    e.next();
    expect(t.hostname).toBe("h3");
    expect(t.port).toBe(5672);
    e.next();
    expect(t.hostname).toBe("h1");
  });

  it("labels carry no credentials", () => {
    const e = new BrokerEndpoints("amqp://user:secret@h1:5701/vh,amqp://user:secret@h2:5702/vh", 1);
    expect(e.current.label).toBe("amqp://h2:5702/vh");
    expect(e.next()).toBe("amqp://h1:5701/vh");
  });

  it("starts anywhere in the list, so processes spread over the nodes", () => {
    const starts = new Set(Array.from({ length: 200 }, () => new BrokerEndpoints("amqp://a,amqp://b,amqp://c").current.hostname));
    expect(starts).toEqual(new Set(["a", "b", "c"]));
  });

  it("refuses an empty list and a non-AMQP URL", () => {
    expect(() => new BrokerEndpoints(" , ")).toThrow(/no broker URL/);
    expect(() => new BrokerEndpoints("amqp://a,http://b")).toThrow(/amqp:\/\//);
  });
});
