export { Engine, type EngineOptions, type EngineStats, type Job, type JobSpec, type LockRequest, type QueueStats } from './engine.js';
export { RwLock, UseCount, type Release } from './lock.js';
