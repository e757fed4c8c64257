import { Periodic } from "./periodic";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("Periodic", () => {
  it("runs again after each run ends, never two at once, goes on after a failure, and stop() waits for the run in progress", async () => {
    let running = 0;
    let overlapped = false;
    let runs = 0;
    const errors: unknown[] = [];
    let release: (() => void) | undefined;
    const loop = new Periodic(
      async () => {
        running++;
        if (running > 1) overlapped = true;
        runs++;
        if (runs === 2) {
          running--;
          throw new Error("boom");
        }
        if (runs === 4) await new Promise<void>((r) => (release = r));
        running--;
      },
      () => 5,
      (err) => errors.push(err),
    );
    loop.start();
    while (runs < 4) await sleep(5);
    expect(errors.map((e) => (e as Error).message)).toEqual(["boom"]);
    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await sleep(20);
    expect(stopped).toBe(false);
    expect(loop.isStopped).toBe(true);
    release!();
    await stopping;
    await sleep(20);
    expect(runs).toBe(4);
    expect(overlapped).toBe(false);
  });
});
