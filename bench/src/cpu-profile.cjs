// Preload that CPU-profiles the process it is loaded into, for use through NODE_OPTIONS
// (Node refuses `--cpu-prof` there: "--cpu-prof is not allowed in NODE_OPTIONS"):
//   BENCH_CPU_PROF_DIR=/tmp/prof NODE_OPTIONS="--require /abs/path/bench/src/cpu-profile.cjs" npm start -- --no-build
// Writes <dir>/<script>-<pid>.cpuprofile when the process exits (SIGTERM → graceful stop → exit).
// The inspector session is same-thread, so posting Profiler.stop from an exit handler runs
// its callback synchronously.
const inspector = require("node:inspector");
const fs = require("node:fs");
const path = require("node:path");

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
  process.on("exit", () => {
    session.post("Profiler.stop", (err, res) => {
      if (err || !res) return;
      const script = path.basename(process.argv[1] || "node").replace(/\W+/g, "_");
      const name = `${script}-${path.basename(path.dirname(path.dirname(process.argv[1] || "")))}-${process.pid}.cpuprofile`;
      try {
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, name), JSON.stringify(res.profile));
      } catch {
        /* best effort */
      }
    });
  });
}
