export * from './backend.js';
export * from './safetensors.js';
export { registerMissingWasmKernels, ROPE_KERNEL, type RopeKernelAttrs } from './wasm-kernels.js';
export { enableGradients, gradientsRegistered } from './gradients.js';
export { matMul2d, batchMatMul } from './ops.js';
export { yieldToEventLoop } from './yield.js';
export { betweenSlices, type SliceOptions } from './slices.js';
export { blasBinary, buildBlas, loadBlas, type BlasAddon } from './blas.js';
export { mulberry32, normals, fmix32, mixWord, deriveSeed, derivedRandom, shuffled } from './random.js';
