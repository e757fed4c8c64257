// Prints one plain closing line after jest's own summary, e.g. "jest: 391 passed, 0 failed",
// so a reader (or CI) that does not parse jest's "Tests:" line still sees the counts.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    process.stdout.write(`\njest: ${results.numPassedTests} passed, ${results.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}\n`);
  }
}
module.exports = SummaryReporter;
