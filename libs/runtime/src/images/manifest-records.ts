import { readdir, readFile, stat } from 'fs/promises';
import type { ImageConfigSummary } from '@berth/domain';
import { InvalidArgumentError, isDigest, NotFoundError } from '@berth/domain';
import { ImagePlan, imageSizeBytes, PlannedBlob } from './image-plan';
import type { ImageStoreLayout } from './store-layout';

/** What the store keeps per loaded manifest (`manifests/sha256/<hex>.json`). */
export interface ManifestRecord {
  digest: string;
  mediaType: string;
  configDigest: string;
  sizeBytes: number;
  os: string;
  architecture: string;
  config: ImageConfigSummary;
  layers: ManifestLayer[];
}

export type ManifestLayer = { digest: string; size: number; mediaType: string; diffId: string };

/** The store's manifest records: one JSON file per loaded image, written whole. */
export class ManifestRecords {
  constructor(private readonly layout: ImageStoreLayout) {}

  async write(plan: ImagePlan): Promise<void> {
    const { manifest, config, parsedConfig, layers } = plan;
    const record: ManifestRecord = {
      digest: manifest.descriptor.digest,
      mediaType: manifest.descriptor.mediaType,
      configDigest: config.descriptor.digest,
      sizeBytes: imageSizeBytes(plan),
      os: parsedConfig.os,
      architecture: parsedConfig.architecture,
      config: parsedConfig.summary,
      layers: layers.map((layer, i) => ({ ...pickBlobFields(layer), diffId: parsedConfig.diffIds[i] })),
    };
    await this.layout.writeAtomically(this.layout.recordPath(record.digest), Buffer.from(JSON.stringify(record, null, 2)));
  }

  async read(digest: string): Promise<ManifestRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.layout.recordPath(checkedDigest(digest)), 'utf8')) as ManifestRecord;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async require(digest: string): Promise<ManifestRecord> {
    const record = await this.read(digest);
    if (!record) throw new NotFoundError(`image ${digest} is not in this host's image store`, 'ImageNotFound');
    return record;
  }

  /** Every record, by digest, with when it was written. */
  async readAll(): Promise<Array<{ record: ManifestRecord; storedAt: Date }>> {
    const names = (await readdir(this.layout.manifestsDir)).filter((n) => /^[a-f0-9]{64}\.json$/.test(n)).sort();
    const records: Array<{ record: ManifestRecord; storedAt: Date }> = [];
    for (const name of names) {
      const digest = `sha256:${name.slice(0, 64)}`;
      const [record, info] = await Promise.all([this.read(digest), stat(this.layout.recordPath(digest)).catch(() => undefined)]);
      if (record && info) records.push({ record, storedAt: new Date(info.mtimeMs) });
    }
    return records;
  }
}

export function checkedDigest(digest: string): string {
  if (!isDigest(digest)) {
    throw new InvalidArgumentError(
      `"${digest}" is not an image digest (sha256:<64 hex digits>)`,
      [{ field: 'digest', message: 'must be sha256:<hex>' }],
      'InvalidDigest',
    );
  }
  return digest;
}

function pickBlobFields(blob: PlannedBlob) {
  const { digest, size, mediaType } = blob.descriptor;
  return { digest, size, mediaType };
}
