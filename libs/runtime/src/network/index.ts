export { HostNetworks, type AttachedInterface, type AttachResult, type HostNetworksOptions, type ReconcileKeep, type ReconcileReport } from './networks';
export { type Endpoint, type PortMapping, type PortProtocol } from './endpoint';
export { renderHostsFile, writeHostsFileInPlace, type HostsEntry, type HostsFileInput } from './hosts-file';
export { CniPluginError } from './cni';
export { NETNS_DIR, netnsName, netnsPath } from './network-names';
