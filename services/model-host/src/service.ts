import { modelHost, protoFiles, serviceNames } from '@memorize/contracts';
import type { HostedService, Implementation, Logger } from '@memorize/service-kit';

export type Definition = typeof modelHost.ModelHostService;

/** The memorize.v1.ModelHost handlers: thin translations from requests to library calls. */
export function modelHostServiceHandlers(_logger: Logger): Implementation<Definition> {
  return {};
}

export function modelHostService(logger: Logger): HostedService<Definition> {
  return {
    serviceName: serviceNames.modelHost,
    definition: modelHost.ModelHostService,
    implementation: modelHostServiceHandlers(logger),
    protoFile: protoFiles.modelHost,
  };
}
