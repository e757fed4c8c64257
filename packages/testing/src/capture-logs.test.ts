import { captureLogs } from "./capture-logs";

describe("captureLogs", () => {
  it("splits what is written into lines, keeping an unterminated tail out of lines()", () => {
    const logs = captureLogs();
    logs.destination.write('{"msg":"one"}\n{"msg":');
    logs.destination.write('"two"}\n{"msg":"thr');

    expect(logs.lines()).toEqual(['{"msg":"one"}', '{"msg":"two"}']);
    expect(logs.records()).toEqual([{ msg: "one" }, { msg: "two" }]);
    expect(logs.text()).toBe('{"msg":"one"}\n{"msg":"two"}\n{"msg":"thr');
  });

  it("is empty before anything is written", () => {
    const logs = captureLogs();
    expect(logs.lines()).toEqual([]);
    expect(logs.text()).toBe("");
  });
});
