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
});
