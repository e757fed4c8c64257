// A bare express 5 hello-world, run as its own process by the gateway bench so it gets
// the same treatment as the gateway (one Node process, same load generator).
import express from "express";

const app = express();
app.get("/", (_req, res) => {
  res.json({ status: "ok" });
});
const server = app.listen(0, "127.0.0.1", () => {
  const addr = server.address();
  process.stdout.write(`READY ${typeof addr === "object" && addr ? addr.port : 0}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
