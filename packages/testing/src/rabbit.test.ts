import { splitCredentials, uniqueVhostName, vhostUrl } from "./rabbit";

describe("rabbit test helpers", () => {
  it("moves URL credentials into a Basic auth header, since fetch refuses them in URLs", () => {
    const { base, authorization, username } = splitCredentials("http://us%40er:p%3Ass@127.0.0.1:15672/");
    expect(base).toBe("http://127.0.0.1:15672");
    expect(username).toBe("us@er");
    expect(authorization).toBe(`Basic ${Buffer.from("us@er:p:ss").toString("base64")}`);
  });

  it("selects a vhost by percent-encoding it as the URL path", () => {
    expect(vhostUrl("amqp://guest:guest@127.0.0.1:5672", "a/b c")).toBe("amqp://guest:guest@127.0.0.1:5672/a%2Fb%20c");
    expect(vhostUrl("amqp://127.0.0.1:5672/?heartbeat=5", "v")).toBe("amqp://127.0.0.1:5672/v?heartbeat=5");
  });

  it("makes unique, URL-safe vhost names", () => {
    const a = uniqueVhostName("My Test!");
    const b = uniqueVhostName("My Test!");
    expect(a).toMatch(/^pragma-test-my-test-[0-9a-z]{26}$/);
    expect(a).not.toBe(b);
  });
});
