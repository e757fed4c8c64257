// The body every floor server answers: 100 rows shaped like the Auto API bench's filtered
// read of bench_items (the same columns and value shapes), ~10 KB of JSON.
export const FLOOR_BODY = Buffer.from(
  JSON.stringify(
    Array.from({ length: 100 }, (_, i) => ({ id: i * 100 + 7, category: 7, name: `item ${i * 100 + 7}`, price: "12.30", created_at: "2026-12-05T16:31:07.123Z" })),
  ),
);
export const FLOOR_QUEUE = "bench.floor.rpc";
