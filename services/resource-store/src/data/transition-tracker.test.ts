import { TransitionTracker } from "./transition-tracker";

describe("TransitionTracker", () => {
  const seen = (t: TransitionTracker) => {
    const out: string[] = [];
    t.report((from, to) => out.push(`${from}>${to}`));
    return out.sort();
  };

  it("reports the net change of each row: first state read, last state written", () => {
    const t = new TransitionTracker();
    t.saw([{ resourceId: "a", lifecycleState: "pending" }]);
    t.wrote("a", "processing");
    t.saw([{ resourceId: "a", lifecycleState: "processing" }]);
    t.wrote("a", "ready");
    t.wrote("new", "pending");
    t.saw([{ resourceId: "gone", lifecycleState: "ready" }]);
    t.wrote("gone", "deleted");
    expect(seen(t)).toEqual(["none>pending", "pending>ready", "ready>deleted"]);
  });

  it("a row written back in the state it was read in (a tags-only change) is no transition", () => {
    const t = new TransitionTracker();
    t.saw([{ resourceId: "a", lifecycleState: "ready" }]);
    t.wrote("a", "ready");
    t.saw([{ resourceId: "b", lifecycleState: "ready" }]);
    expect(seen(t)).toEqual([]);
  });
});
