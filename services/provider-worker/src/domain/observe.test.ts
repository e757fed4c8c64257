import { driftFields } from "./observe";

describe("driftFields", () => {
  const applied = { config: { name: "app", owner: undefined, member_of: ["a", "b"], login: true }, outputs: { name: "app", owner: "alice" } };

  it("a gone object is drift in 'exists'", () => {
    expect(driftFields(applied, { exists: false })).toEqual(["exists"]);
  });

  it("compares with config, or with outputs where config leaves a field open; lists as sets", () => {
    expect(driftFields(applied, { exists: true, fields: { name: "app", owner: "alice", member_of: ["b", "a"], login: true } })).toEqual([]);
    expect(driftFields(applied, { exists: true, fields: { name: "app", owner: "mallory", member_of: ["a"], login: false } })).toEqual(["login", "member_of", "owner"]);
  });

  it("a field neither config nor outputs name is not compared", () => {
    expect(driftFields(applied, { exists: true, fields: { encoding: "SQL_ASCII" } })).toEqual([]);
  });
});
