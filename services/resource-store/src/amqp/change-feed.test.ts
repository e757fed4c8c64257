import type { ChangedResource } from "@pragma/contracts";
import { captureLogs } from "@pragma/testing";
import { createLogger } from "@pragma/logger";
import { ChangeFeed, CHANGES_PER_MESSAGE } from "./change-feed";

const scope = { org_id: "o", project_id: "p", space_id: "s" };
const turn = () => new Promise((r) => setImmediate(r));

describe("ChangeFeed", () => {
  it("commits of one turn share a message, each resource named once; the next turn sends its own (no linger)", async () => {
    const sent: ChangedResource[][] = [];
    const feed = new ChangeFeed(async (r) => void sent.push(r), createLogger({ service: "t", level: "silent" }), 0);
    feed.changed(scope, ["a", "b"]);
    feed.changed(scope, new Set(["b", "c"]));
    feed.changed({ ...scope, space_id: "s2" }, ["a"]);
    expect(sent).toEqual([]);
    await turn();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.map((r) => `${r.space_id}/${r.resource_id}`)).toEqual(["s/a", "s/b", "s/c", "s2/a"]);
    feed.changed(scope, ["d"]);
    await turn();
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual([{ ...scope, resource_id: "d" }]);
    feed.changed(scope, []);
    await turn();
    expect(sent).toHaveLength(2);
  });

  it(`splits a large turn into messages of at most ${CHANGES_PER_MESSAGE}`, async () => {
    const sent: ChangedResource[][] = [];
    const feed = new ChangeFeed(async (r) => void sent.push(r), createLogger({ service: "t", level: "silent" }), 0);
    feed.changed(scope, Array.from({ length: CHANGES_PER_MESSAGE * 2 + 1 }, (_, i) => `r${i}`));
    await turn();
    expect(sent.map((m) => m.length)).toEqual([CHANGES_PER_MESSAGE, CHANGES_PER_MESSAGE, 1]);
  });

  it("with a linger, changes of several turns within it share one message, and the next change starts another", () => {
    // Fake timers: under a loaded CI machine two real turns could outlast a real 30 ms.
    jest.useFakeTimers();
    try {
      const sent: ChangedResource[][] = [];
      const feed = new ChangeFeed(async (r) => void sent.push(r), createLogger({ service: "t", level: "silent" }), 30);
      feed.changed(scope, ["a"]);
      jest.advanceTimersByTime(20);
      feed.changed(scope, ["b"]);
      jest.advanceTimersByTime(9);
      expect(sent).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(sent.map((m) => m.map((r) => r.resource_id))).toEqual([["a", "b"]]);
      feed.changed(scope, ["c"]);
      jest.advanceTimersByTime(29);
      expect(sent).toHaveLength(1);
      jest.advanceTimersByTime(1);
      expect(sent.map((m) => m.map((r) => r.resource_id))).toEqual([["a", "b"], ["c"]]);
    } finally {
      jest.useRealTimers();
    }
  });

  it("a failed publish is logged, not thrown (the write it follows has committed)", async () => {
    const logs = captureLogs();
    const feed = new ChangeFeed(async () => Promise.reject(new Error("channel closed")), createLogger({ service: "t", level: "debug", destination: logs.destination }), 0);
    feed.changed(scope, ["a"]);
    await turn();
    await turn();
    expect(logs.records()).toContainEqual(expect.objectContaining({ msg: expect.stringContaining("could not publish a change notification"), err: expect.objectContaining({ message: "channel closed" }), resources: 1 }));
  });
});
