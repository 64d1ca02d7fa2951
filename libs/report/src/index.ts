// Sweep reports: report.md (tables, McNemar p-values raw and Holm-adjusted, significance in words), report.json,
// per-cell predictions as JSON Lines, and a self-contained report.html with Vega-Lite plots rendered to SVG.
export { holmAdjust } from '@memorize/fever';
export * from './labels.js';
export * from './cells.js';
export * from './significance.js';
export * from './tables.js';
export * from './markdown.js';
export * from './predictions.js';
export * from './plots.js';
export * from './html.js';
export * from './write.js';
