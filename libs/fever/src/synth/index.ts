export * from './attributes.js';
export * from './names.js';
export * from './tokenizer.js';
export * from './world.js';
export * from './write.js';
