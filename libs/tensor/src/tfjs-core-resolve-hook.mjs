// Module resolve hook (node:module register) used by gradients.ts. tfjs-core's ESM files under dist/ import
// each other without file extensions ('./gradients/Abs_grad'), which Node's ESM resolver rejects; this
// adds '.js' (or '/index.js' for folders) for relative imports made from inside tfjs-core/dist only.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (specifier.startsWith('.') && parent && parent.includes('/@tensorflow/tfjs-core/dist/') && !specifier.endsWith('.js')) {
    const file = new URL(`${specifier}.js`, parent);
    if (existsSync(fileURLToPath(file))) return next(file.href, context);
    return next(new URL(`${specifier}/index.js`, parent).href, context);
  }
  return next(specifier, context);
}
