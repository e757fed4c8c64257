import { describeDeadLetter } from "./ops";

describe("describeDeadLetter", () => {
  it("prints the fields, an indented attempts table and the payload, each section at the margin", () => {
    const text = describeDeadLetter({
      event_id: "evt_1",
      reason: "permanent_error",
      attempts: [{ at: "2026-01-01T00:00:00.000Z", error: "boom" }],
      payload: { config: { name: "x" } },
    });
    expect(text).toBe(
      [
        "event_id: evt_1",
        "reason:   permanent_error",
        "Attempts:",
        "  AT                        ERROR",
        "  2026-01-01T00:00:00.000Z  boom",
        "Payload:",
        "  {",
        '    "config": {',
        '      "name": "x"',
        "    }",
        "  }",
        "",
      ].join("\n"),
    );
  });
});
