export * from "./cipher";
export * from "./keys";
export * from "./sealed";
