// Worker entry for ParallelModel. The libs are TypeScript run through tsx, and a worker thread does not
// reliably inherit the parent's `--import tsx` loader, so the worker registers tsx itself.
import { register } from 'tsx/esm/api';

register();
await import('./parallel-worker.ts');
