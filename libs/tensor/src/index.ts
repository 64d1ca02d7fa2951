export * from './errors.js';
export * from './backend.js';
export * from './safetensors.js';
export { registerMissingWasmKernels } from './wasm-kernels.js';
export { enableGradients, gradientsRegistered } from './gradients.js';
