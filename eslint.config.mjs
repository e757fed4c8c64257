// Lint for the whole workspace, run by `npm test` before jest (scripts/test.mjs).
// Besides typescript-eslint's recommended rules it enforces the boundaries the code is
// built on (house-style.md, issue 21): services never import each other, packages never
// import services, and inside a service the domain imports neither its transport
// (http/, amqp/) nor infrastructure clients, and data/ does not import transport either.
import { readdirSync } from "node:fs";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const services = readdirSync(new URL("./services", import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const alt = (names) => names.map((n) => n.replace(/\./g, "[.]")).join("|");

/** Imports of these services' code, by path or by package name. */
const serviceImports = (names, message) => [
  { regex: `(^|/)(services/)?(${alt(names)})/src(/|$)`, message },
  { regex: `^@pragma/(${alt(names)})(/|$)`, message },
];

/** The rule for one layer folder of a service: no other service, plus the layer's own patterns. */
const layer = (s, folder, patterns) => ({
  files: [`services/${s}/src/${folder}/**/*.ts`],
  ignores: ["**/*.test.ts"],
  rules: {
    "no-restricted-imports": [
      "error",
      { patterns: [...serviceImports(services.filter((o) => o !== s), `services never import each other: ${s} talks to the others over the bus`), ...patterns] },
    ],
  },
});

const INFRA = "^(express|amqplib|ioredis|pg|mysql2(/.*)?|@prisma/.*|busboy)$";
const TRANSPORT = "(^|/)(http|amqp)(/|$)";

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/generated/**", "bench/results/**", "chaos/results/**", "**/*.js", "**/*.cjs", "**/*.mjs", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: "module" },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", ignoreRestSiblings: true }],
      // zod and amqplib hand out loosely typed values at the edges; an explicit any there is a decision, said in place.
      "@typescript-eslint/no-explicit-any": "off",
      "no-empty": ["error", { allowEmptyCatch: true }],
    },
  },
  // Tests build fakes freely.
  {
    files: ["**/*.test.ts", "**/test/**/*.ts"],
    rules: { "@typescript-eslint/no-non-null-assertion": "off", "@typescript-eslint/no-require-imports": "off" },
  },
  // Packages are below services: they never import one.
  {
    files: ["packages/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: serviceImports(services, "packages never import services") }] },
  },
  // A service (its sources and its tests) never imports another service.
  ...services.map((s) => ({
    files: [`services/${s}/**/*.ts`],
    rules: {
      "no-restricted-imports": ["error", { patterns: serviceImports(services.filter((o) => o !== s), `services never import each other: ${s} talks to the others over the bus`) }],
    },
  })),
  // Layers inside a service: domain ← transport, domain ← data; never the other way.
  ...services.flatMap((s) => [
    layer(s, "domain", [
      { regex: INFRA, message: "the domain takes its infrastructure through ports (deps), never a client library" },
      { regex: TRANSPORT, message: "the domain never imports its transport (http/, amqp/)" },
    ]),
    layer(s, "data", [{ regex: TRANSPORT, message: "data/ never imports the transport (http/, amqp/)" }]),
  ]),
);
