// A node:test reporter that writes the run's final counts as one JSON object ({tests, pass, fail, ...}).
// tools/run-tests.mjs reads it to fail a project whose test files ran zero cases or skipped some.
// The counts are the runner's own end-of-run diagnostics ("tests 12", "pass 12", ...), the same numbers the
// spec reporter prints, so the two never disagree. Node 20 reports a test file that defines no case as one
// passing test named by the file's path: those files are listed in `emptyFiles` and not counted as tests.
const COUNTERS = new Set(['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms']);

export default async function* countsReporter(source) {
  const counts = {};
  const emptyFiles = [];
  for await (const event of source) {
    if (event.type === 'test:pass' && event.data.nesting === 0 && /^\/.*\.test\.m?ts$/.test(event.data.name)) emptyFiles.push(event.data.name);
    if (event.type !== 'test:diagnostic' || event.data.nesting !== 0) continue;
    const match = /^(\w+) ([\d.]+)$/.exec(event.data.message);
    if (match && COUNTERS.has(match[1])) counts[match[1]] = Number(match[2]);
  }
  if (counts.tests !== undefined) counts.tests -= emptyFiles.length;
  if (counts.pass !== undefined) counts.pass -= emptyFiles.length;
  yield `${JSON.stringify({ ...counts, emptyFiles })}\n`;
}
