import type { StartedTestContainer } from "testcontainers";

// Jest runs globalSetup and globalTeardown in one context, so a global is how setup hands the containers over.
const KEY = Symbol.for("@pragma/testing:containers");
type Holder = { [KEY]?: StartedTestContainer[] };

export function setStartedContainers(containers: StartedTestContainer[]): void {
  (globalThis as Holder)[KEY] = containers;
}

export function takeStartedContainers(): StartedTestContainer[] {
  const holder = globalThis as Holder;
  const containers = holder[KEY] ?? [];
  delete holder[KEY];
  return containers;
}
