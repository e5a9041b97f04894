import { normalizeImageReference } from '@berth/domain';
import { SpooledArchive, SpooledFile } from './archive-spool';
import { sha256Digest } from './digests';
import { parseImageConfig } from './image-config';
import { digestMismatch, invalidArchive } from './image-errors';
import { assertLayersMatchConfig, ImagePlan, MAX_JSON_BLOB_BYTES, mergeByDigest, PlannedBlob, readHead, verifySpooled } from './image-plan';
import { isRecord, MediaType } from './media-types';
import { Compression, detectCompression } from './streams';

interface DockerSaveEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

export function isDockerSave(archive: SpooledArchive): boolean {
  return archive.has('manifest.json');
}

async function readManifestJson(archive: SpooledArchive): Promise<DockerSaveEntry[]> {
  const json = await archive.readJson('manifest.json', 16 * 1024 * 1024);
  if (!Array.isArray(json) || json.length === 0) throw invalidArchive('manifest.json must be a non-empty list');
  return json.map((entry, i) => {
    const where = `manifest.json[${i}]`;
    if (!isRecord(entry) || typeof entry.Config !== 'string') throw invalidArchive(`${where} has no Config`);
    if (!Array.isArray(entry.Layers) || entry.Layers.some((l) => typeof l !== 'string')) {
      throw invalidArchive(`${where} has no Layers list`);
    }
    const tags = Array.isArray(entry.RepoTags) ? entry.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    return { Config: entry.Config, RepoTags: tags, Layers: entry.Layers as string[] };
  });
}

/** Normalized RepoTags by config digest, for the manifest.json Docker writes beside an OCI layout. */
export async function readDockerRepoTags(archive: SpooledArchive): Promise<Map<string, string[]>> {
  const tags = new Map<string, string[]>();
  for (const entry of await readManifestJson(archive)) {
    const digest = digestInName(entry.Config) ?? archive.get(entry.Config)?.digest;
    if (digest)
      tags.set(
        digest,
        entry.RepoTags.map((t) => normalizeImageReference(t, 'RepoTags')),
      );
  }
  return tags;
}

/**
 * Reads a classic `docker save` archive. It has no manifest, so one is written
 * (OCI, deterministic) and its digest becomes the image digest.
 */
export async function readDockerSave(archive: SpooledArchive): Promise<ImagePlan[]> {
  const plans: ImagePlan[] = [];
  for (const [i, entry] of (await readManifestJson(archive)).entries()) {
    const where = `manifest.json[${i}]`;
    const configFile = requireFile(archive, entry.Config);
    const configDescriptor = { mediaType: MediaType.OciConfig, digest: digestInName(entry.Config) ?? configFile.digest, size: configFile.size };
    verifySpooled(configFile, configDescriptor);
    const parsedConfig = parseImageConfig(await archive.readJson(entry.Config, MAX_JSON_BLOB_BYTES), `config ${entry.Config}`);

    const layers: PlannedBlob[] = [];
    for (const [j, layerPath] of entry.Layers.entries()) {
      layers.push(await describeLayer(archive, layerPath, parsedConfig.diffIds[j]));
    }
    assertLayersMatchConfig(layers, parsedConfig, where);

    const manifestBytes = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.OciManifest,
        config: configDescriptor,
        layers: layers.map((l) => l.descriptor),
      }),
    );
    plans.push({
      references: entry.RepoTags.map((t) => normalizeImageReference(t, 'RepoTags')),
      manifest: {
        descriptor: { mediaType: MediaType.OciManifest, digest: sha256Digest(manifestBytes), size: manifestBytes.length },
        bytes: manifestBytes,
      },
      config: { descriptor: configDescriptor, file: configFile },
      parsedConfig,
      layers,
    });
  }
  return mergeByDigest(plans);
}

/**
 * An uncompressed layer's digest is its diff_id, so a tampered layer.tar is caught
 * here; a compressed one is checked against its diff_id when it is unpacked.
 */
async function describeLayer(archive: SpooledArchive, layerPath: string, diffId: string | undefined): Promise<PlannedBlob> {
  const file = requireFile(archive, layerPath);
  const named = digestInName(layerPath);
  if (named) verifySpooled(file, { digest: named, size: file.size });
  const compression = detectCompression(await readHead(file, 4));
  if (compression === 'none' && diffId && file.digest !== diffId) {
    throw digestMismatch(`layer ${layerPath} (uncompressed, so its digest must equal the config's diff_id)`, { digest: diffId }, file);
  }
  return { descriptor: { mediaType: LAYER_MEDIA_TYPES[compression], digest: file.digest, size: file.size }, file };
}

const LAYER_MEDIA_TYPES: Record<Compression, string> = {
  none: MediaType.OciLayer,
  gzip: MediaType.OciLayerGzip,
  zstd: MediaType.OciLayerZstd,
};

function requireFile(archive: SpooledArchive, name: string): SpooledFile {
  const file = archive.get(name);
  if (!file) throw invalidArchive(`the archive has no ${name}, which manifest.json refers to`);
  return file;
}

/** `<hex>.json` and `blobs/sha256/<hex>` name their content's digest. */
function digestInName(name: string): string | undefined {
  const match = /(?:^|\/)([a-f0-9]{64})(?:\.json)?$/.exec(name);
  return match ? `sha256:${match[1]}` : undefined;
}
