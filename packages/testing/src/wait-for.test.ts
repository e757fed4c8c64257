import { waitFor } from "./wait-for";

describe("waitFor", () => {
  it("returns the first value that is not undefined or false", async () => {
    let calls = 0;
    const value = await waitFor(async () => (++calls < 3 ? undefined : calls), { intervalMs: 1 });
    expect(value).toBe(3);
  });

  it("treats 0, null and empty string as answers, not as 'not yet'", async () => {
    await expect(waitFor(async () => 0)).resolves.toBe(0);
    await expect(waitFor(async () => null)).resolves.toBeNull();
    await expect(waitFor(async () => "")).resolves.toBe("");
  });

  it("keeps polling through errors and succeeds once fn does", async () => {
    let calls = 0;
    const value = await waitFor(
      async () => {
        if (++calls < 3) throw new Error("not there yet");
        return "ok";
      },
      { intervalMs: 1 },
    );
    expect(value).toBe("ok");
  });

  it("throws with the message on timeout", async () => {
    await expect(waitFor(async () => false, { timeoutMs: 30, intervalMs: 5, message: "order shipped" })).rejects.toThrow(
      "waitFor timed out after 30 ms: order shipped",
    );
  });

  it("names the last error on timeout", async () => {
    await expect(
      waitFor(
        async () => {
          throw new Error("relation does not exist");
        },
        { timeoutMs: 20, intervalMs: 5 },
      ),
    ).rejects.toThrow(/last attempt threw: relation does not exist/);
  });
});
