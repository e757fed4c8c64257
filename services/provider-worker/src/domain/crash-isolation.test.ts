import { CrashIsolation } from "./crash-isolation";

describe("CrashIsolation: who runs beside whom in one process", () => {
  it("tracks hooks and suspects until each ends (once)", () => {
    const hooks = new CrashIsolation();
    expect(hooks.neighbours()).toBe("none");
    const a = hooks.start(false);
    const b = hooks.start(false);
    expect(hooks.neighbours()).toBe("others");
    a.end();
    a.end();
    expect(hooks.neighbours()).toBe("others");
    b.end();
    expect(hooks.neighbours()).toBe("none");
    const s = hooks.start(true);
    expect(hooks.neighbours()).toBe("suspect");
    s.end();
    expect(hooks.neighbours()).toBe("none");
  });
});
