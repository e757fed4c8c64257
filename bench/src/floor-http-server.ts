// One Node process answering the floor body over HTTP with express (no work, no auth):
// what the HTTP exchange of a 100-row read costs by itself (hop-floor.ts).
import express from "express";
import { FLOOR_BODY } from "./floor-body";

const app = express();
app.set("etag", false);
app.get("/rows", (_req, res) => {
  res.type("application/json").send(FLOOR_BODY);
});
const server = app.listen(0, "127.0.0.1", () => {
  const addr = server.address();
  process.stdout.write(`READY ${typeof addr === "object" && addr ? addr.port : 0}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
