export * from "./message";
export * from "./topology";
export * from "./common";
export * from "./registry";
export * from "./resources";
export * from "./system";
export * from "./http";
export * from "./worker-rpc";
