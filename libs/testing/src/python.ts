import { execFileSync, spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Debian's interpreter, the one with python3-grpcio, python3-grpc-tools and python3-torch. */
export const python3 = '/usr/bin/python3';
/** This package's Python modules (safetensors_f32, grpc_reflection_client). */
export const testingPython = fileURLToPath(new URL('../python', import.meta.url));

/** Runs a Python script to completion with testingPython on its PYTHONPATH; returns its stdout (throws on failure). */
export function runPython(script: string, args: string[], timeoutMs = 600_000): string {
  const path = [testingPython, process.env.PYTHONPATH].filter(Boolean).join(delimiter);
  return execFileSync(python3, [script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: path },
    maxBuffer: 256 * 1024 * 1024,
    timeout: timeoutMs,
  });
}

/** What the reflection client prints. */
export interface Reflected {
  services: string[];
  /** The file reflection returns for each listed service (grpc.reflection.* excluded). */
  files: Record<string, string>;
  methods: Record<string, Array<{ name: string; input: string; output: string; server_streaming: boolean }>>;
  /** grpc.health.v1.Health/Check for "" and every listed non-grpc service, through reflected descriptors. */
  health: Record<string, string>;
  call?: { code: string; details?: string; response?: unknown; responses?: unknown[] };
}

/**
 * Runs the independent Python gRPC client (Debian python3-grpcio) against a server: descriptors from reflection
 * only (v1 by default, or v1alpha), optionally calling one method with a JSON body.
 */
export function pythonReflect(address: string, call?: { method: string; body: object }, reflection: 'v1' | 'v1alpha' = 'v1'): Reflected {
  const args = [join(testingPython, 'grpc_reflection_client.py'), '--reflection', reflection, address];
  if (call) args.push(call.method, JSON.stringify(call.body));
  const result = spawnSync(python3, args, { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`python client failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout) as Reflected;
}
