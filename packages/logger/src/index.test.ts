import { Writable } from "node:stream";
import { createLogger, lazyChild, runWithContext, unredactedChild } from "./index";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, destination };
}

describe("logger", () => {
  it("redacts secrets wherever they sit in the fields we log", () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: "t", destination });
    log.info(
      {
        password: "p1-marker",
        db: { password: "p2-marker" },
        req: { headers: { authorization: "Bearer p3-marker", "x-server-key": "p4-marker" } },
        database: [{ host: "h", password: "p5-marker" }],
      },
      "x",
    );
    const out = lines.join("");
    expect(out).not.toMatch(/marker/);
    expect(out).toContain('"service":"t"');
  });

  it("an unredacted child skips redaction for its own lines only; the parent keeps it", () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: "t", destination });
    const access = unredactedChild(log);
    // `token` is a redacted path: the child writes it as given, the parent never does.
    access.info({ method: "GET", path: "/resources/x", status: 200, token: "child-visible" }, "request");
    log.info({ token: "parent-marker" }, "x");
    expect(JSON.parse(lines[0]!)).toMatchObject({ service: "t", method: "GET", path: "/resources/x", status: 200, token: "child-visible" });
    expect(JSON.parse(lines[1]!)).toMatchObject({ token: "[REDACTED]" });
  });

  it("a lazy child is made on first use and then writes like the child it stands for, redaction included", () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: "t", destination });
    const spy = jest.spyOn(log, "child");
    const lazy = lazyChild(log, { eventId: "evt_1" });
    expect(spy).not.toHaveBeenCalled();
    lazy.info({ token: "secret", n: 1 }, "first");
    lazy.warn("second");
    expect(spy).toHaveBeenCalledTimes(1);
    expect(lazy.level).toBe("info");
    expect(JSON.parse(lines[0]!)).toMatchObject({ eventId: "evt_1", token: "[REDACTED]", n: 1, msg: "first" });
    expect(JSON.parse(lines[1]!)).toMatchObject({ eventId: "evt_1", msg: "second", level: "warn" });
    // Settings go to the real child too.
    lazy.level = "error";
    lazy.warn("dropped");
    expect(lines).toHaveLength(2);
    expect("info" in lazy).toBe(true);
  });

  it("stamps the request id from the async context", () => {
    const { lines, destination } = capture();
    const log = createLogger({ service: "t", destination });
    runWithContext({ requestId: "req_abc" }, () => log.info({ a: 1 }, "inside"));
    log.info({ a: 2 }, "outside");
    expect(JSON.parse(lines[0]!).request_id).toBe("req_abc");
    expect(JSON.parse(lines[1]!).request_id).toBeUndefined();
  });
});
