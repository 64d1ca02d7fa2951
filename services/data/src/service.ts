import { data, protoFiles, serviceNames } from '@memorize/contracts';
import type { HostedService, Implementation, Logger } from '@memorize/service-kit';

export type Definition = typeof data.DataServiceService;

/** The memorize.v1.DataService handlers: thin translations from requests to library calls. */
export function dataServiceHandlers(_logger: Logger): Implementation<Definition> {
  return {};
}

export function dataService(logger: Logger): HostedService<Definition> {
  return {
    serviceName: serviceNames.data,
    definition: data.DataServiceService,
    implementation: dataServiceHandlers(logger),
    protoFile: protoFiles.data,
  };
}
