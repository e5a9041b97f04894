import type { ImageConfigSummary, ImageHistoryEntry } from '@berth/domain';
import { isDigest } from '@berth/domain';
import { invalidArchive } from './image-errors';
import { isRecord } from './media-types';

/** What the store needs from an image config blob. */
export interface ParsedImageConfig {
  summary: ImageConfigSummary;
  os: string;
  architecture: string;
  /** sha256 of each uncompressed layer, bottom first. */
  diffIds: string[];
}

export function parseImageConfig(json: unknown, where: string): ParsedImageConfig {
  if (!isRecord(json)) throw invalidArchive(`${where}: the image config must be a JSON object`);
  const rootfs = json.rootfs;
  const diffIds = isRecord(rootfs) ? rootfs.diff_ids : undefined;
  if (!Array.isArray(diffIds) || diffIds.some((d) => typeof d !== 'string' || !isDigest(d))) {
    throw invalidArchive(`${where}: rootfs.diff_ids must list sha256 digests`);
  }
  return {
    summary: summarize(json.config, where),
    os: typeof json.os === 'string' ? json.os : 'linux',
    architecture: typeof json.architecture === 'string' ? json.architecture : 'unknown',
    diffIds: diffIds as string[],
  };
}

function summarize(config: unknown, where: string): ImageConfigSummary {
  if (config === undefined || config === null) return {};
  if (!isRecord(config)) throw invalidArchive(`${where}: "config" must be an object`);
  const summary: ImageConfigSummary = {};
  const strings = (key: string): string[] | undefined => {
    const value = config[key];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
      throw invalidArchive(`${where}: config.${key} must be a list of strings`);
    }
    return value as string[];
  };
  const text = (key: string): string | undefined => {
    const value = config[key];
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw invalidArchive(`${where}: config.${key} must be a string`);
    return value;
  };
  const entrypoint = strings('Entrypoint');
  const cmd = strings('Cmd');
  const env = strings('Env');
  const workingDir = text('WorkingDir');
  const user = text('User');
  const stopSignal = text('StopSignal');
  if (entrypoint) summary.entrypoint = entrypoint;
  if (cmd) summary.cmd = cmd;
  if (env) summary.env = env;
  if (workingDir) summary.workingDir = workingDir;
  if (user) summary.user = user;
  if (isRecord(config.Labels)) {
    summary.labels = Object.fromEntries(Object.entries(config.Labels).filter((e): e is [string, string] => typeof e[1] === 'string'));
  }
  if (isRecord(config.ExposedPorts)) summary.exposedPorts = Object.keys(config.ExposedPorts);
  if (stopSignal) summary.stopSignal = stopSignal;
  return summary;
}

/** The `config` object of an image config, as Docker writes it. */
export function toDockerConfig(summary: ImageConfigSummary): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  if (summary.user) config.User = summary.user;
  if (summary.exposedPorts) config.ExposedPorts = Object.fromEntries(summary.exposedPorts.map((p) => [p, {}]));
  if (summary.env) config.Env = summary.env;
  if (summary.entrypoint) config.Entrypoint = summary.entrypoint;
  if (summary.cmd) config.Cmd = summary.cmd;
  if (summary.workingDir) config.WorkingDir = summary.workingDir;
  if (summary.labels) config.Labels = summary.labels;
  if (summary.stopSignal) config.StopSignal = summary.stopSignal;
  return config;
}

/**
 * The config's `history`, newest first. Each step that is not an empty layer
 * made the next layer, bottom first; layers no step accounts for (a config
 * without history) are listed as steps of their own.
 */
export function imageHistory(config: unknown, layerSizes: number[]): ImageHistoryEntry[] {
  const history = isRecord(config) && Array.isArray(config.history) ? config.history : [];
  const entries: ImageHistoryEntry[] = [];
  let layer = 0;
  for (const step of history) {
    if (!isRecord(step)) continue;
    const emptyLayer = step.empty_layer === true;
    const entry: ImageHistoryEntry = { emptyLayer, sizeBytes: emptyLayer ? 0 : (layerSizes[layer++] ?? 0) };
    if (typeof step.created === 'string') entry.created = step.created;
    if (typeof step.created_by === 'string') entry.createdBy = step.created_by;
    if (typeof step.comment === 'string') entry.comment = step.comment;
    entries.push(entry);
  }
  for (; layer < layerSizes.length; layer++) entries.push({ emptyLayer: false, sizeBytes: layerSizes[layer] });
  return entries.reverse();
}
