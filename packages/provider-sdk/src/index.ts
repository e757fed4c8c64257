export * from "./errors";
export * from "./redact";
export * from "./context";
export * from "./define";
export { z } from "zod";
export * from "./child-runtime";
