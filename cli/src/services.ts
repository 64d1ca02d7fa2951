import type { CacheOverrides, ConfigOverrides, RunningService } from '@memorize/service-kit';

/** The four services, in start order (data flows data -> trainer/evaluator -> model-host). */
export const serviceNames = ['data', 'model-host', 'trainer', 'evaluator'] as const;
export type ServiceName = (typeof serviceNames)[number];

export function isServiceName(name: string): name is ServiceName {
  return (serviceNames as readonly string[]).includes(name);
}

/** Loads a service's entry point lazily, so the CLI starts fast whatever the command. */
export async function serviceMain(name: ServiceName): Promise<(overrides: ConfigOverrides & CacheOverrides) => Promise<RunningService>> {
  switch (name) {
    case 'data':
      return (await import('@memorize/data')).main;
    case 'model-host':
      return (await import('@memorize/model-host')).main;
    case 'trainer':
      return (await import('@memorize/trainer')).main;
    case 'evaluator':
      return (await import('@memorize/evaluator')).main;
  }
}
