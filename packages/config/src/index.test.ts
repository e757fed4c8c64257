import { bool, common, int, list, loadConfig, z } from "./index";

const schema = z.object({
  AMQP_URL: common.AMQP_URL,
  PORT: int(8080, 0, 65535),
  VERIFY: bool(false),
  PROVIDERS: list(["pragma"]),
});

describe("loadConfig", () => {
  it("applies defaults and coerces env strings", () => {
    const cfg = loadConfig(schema, { PORT: "9000", VERIFY: "yes" }, { onError: "throw" });
    expect(cfg).toEqual({ AMQP_URL: "amqp://guest:guest@127.0.0.1:5672", PORT: 9000, VERIFY: true, PROVIDERS: ["pragma"] });
  });

  it("reports every problem at once", () => {
    expect(() => loadConfig(schema, { PORT: "99999", VERIFY: "maybe", AMQP_URL: "not a url" }, { onError: "throw" })).toThrow(
      /AMQP_URL[\s\S]*PORT[\s\S]*VERIFY/,
    );
  });

  it("splits lists", () => {
    expect(loadConfig(schema, { PROVIDERS: "postgres, mysql," }, { onError: "throw" }).PROVIDERS).toEqual(["postgres", "mysql"]);
  });

  it("takes AMQP_URL as one URL or a comma-separated list of cluster nodes, each checked, no password in the message", () => {
    const nodes = "amqp://u:p@127.0.0.1:5701, amqp://u:p@127.0.0.1:5702,amqps://u:p@host:5671/vh";
    expect(loadConfig(schema, { AMQP_URL: nodes }, { onError: "throw" }).AMQP_URL).toBe(nodes);
    const bad = () => loadConfig(schema, { AMQP_URL: "amqp://u:hunter2@a:5701,http://u:hunter2@b,nope" }, { onError: "throw" });
    expect(bad).toThrow(/AMQP_URL: expected amqp:\/\/ or amqps:\/\/, got http:\/\/: http:\/\/u:\*\*\*@b[\s\S]*AMQP_URL: not a URL: nope/);
    expect(bad).not.toThrow(/hunter2/);
    expect(() => loadConfig(schema, { AMQP_URL: " , " }, { onError: "throw" })).toThrow(/comma-separated list/);
  });
});
