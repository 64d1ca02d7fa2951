// Shared test support: asset paths, temp folders, numeric comparisons, service processes and the Python
// helpers (python/: the safetensors reader the torch scripts import, the independent reflection client).
export { cliEntry, feverDir, feverFiles, repoRoot, sharedDir, sharedRootsEnv, storiesBin, storiesDir, storiesHf, storiesTok } from './paths.js';
export { jsonlPageTexts, tempDir, withTempDir } from './files.js';
export { backend, erf, maxAbsDiff, relDiff, tokenRows, values } from './numeric.js';
export { collect } from './streams.js';
export { freePort, runCli, startServiceProcess, type ServiceProcess } from './processes.js';
export { python3, pythonReflect, runPython, testingPython, type Reflected } from './python.js';
export { healthDuring, type HealthDuring } from './health-during.js';
export { abortAtPause } from './slices.js';
export { FEVER_OPTION_TEXTS, feverCorpus, feverPrompts, feverRequests, type FeverPrompt, type FeverPromptOptions } from './fever-prompts.js';
