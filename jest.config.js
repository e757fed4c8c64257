/**
 * One jest config for the whole workspace. Workspace packages are mapped to their
 * sources so tests never depend on a stale build; ts-jest only transpiles (type
 * checking is `tsc -b`, run by `npm test` before jest).
 */
const { readdirSync, existsSync } = require("node:fs");

const packageDirs = readdirSync(`${__dirname}/packages`).filter((d) => existsSync(`${__dirname}/packages/${d}/src/index.ts`));
const moduleNameMapper = {};
for (const d of packageDirs) moduleNameMapper[`^@pragma/${d}$`] = `<rootDir>/packages/${d}/src/index.ts`;

const transform = { "^.+\\.ts$": ["ts-jest", { tsconfig: { isolatedModules: true, module: "commonjs", target: "ES2022", esModuleInterop: true } }] };

module.exports = {
  testEnvironment: "node",
  // testTimeout is a global option: jest ignores it inside projects.
  testTimeout: 60000,
  reporters: ["default", "<rootDir>/scripts/jest-summary-reporter.cjs"],
  moduleNameMapper,
  transform,
  projects: [
    {
      displayName: "unit",
      testEnvironment: "node",
      moduleNameMapper,
      transform,
      testMatch: ["<rootDir>/packages/*/src/**/*.test.ts", "<rootDir>/services/*/src/**/*.test.ts"],
    },
    {
      // Checks of infra/ (manifests, broker definitions, compose file): tools and files, no services.
      displayName: "infra",
      testEnvironment: "node",
      moduleNameMapper,
      transform,
      testMatch: ["<rootDir>/test/infra/**/*.test.ts"],
    },
    {
      displayName: "integration",
      testEnvironment: "node",
      moduleNameMapper,
      transform,
      testMatch: ["<rootDir>/packages/*/test/**/*.int.test.ts", "<rootDir>/services/*/test/**/*.int.test.ts", "<rootDir>/test/**/*.int.test.ts"],
      globalSetup: "<rootDir>/packages/testing/src/global-setup.ts",
      globalTeardown: "<rootDir>/packages/testing/src/global-teardown.ts",
    },
  ],
};
