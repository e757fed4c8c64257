/**
 * Runs `plans` in one transaction (`run` answers per plan); if it fails, nothing of it was
 * committed (one failed statement aborts the transaction), so each plan is run again
 * alone and a bad one fails alone.
 */
export async function togetherOrAlone<P, R>(plans: P[], run: (plans: P[]) => Promise<R[]>): Promise<PromiseSettledResult<R>[]> {
  try {
    return (await run(plans)).map((value) => ({ status: "fulfilled", value }));
  } catch (err) {
    if (plans.length === 1) return [{ status: "rejected", reason: err }];
    return Promise.allSettled(plans.map(async (plan) => (await run([plan]))[0]!));
  }
}
