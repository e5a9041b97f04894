import { InvalidArgumentError, normalizeImageReference, parseImageReference } from '@berth/domain';
import { SpooledArchive } from './archive-spool';
import { readDockerRepoTags } from './docker-save-reader';
import { parseImageConfig } from './image-config';
import { ImageErrorReason, invalidArchive } from './image-errors';
import { assertLayersMatchConfig, blobPathInLayout, ImagePlan, mergeByDigest, PlannedBlob, readVerifiedJson } from './image-plan';
import { Descriptor, MediaType, isIndexMediaType, isManifestMediaType, isRecord, parseDescriptor, Platform } from './media-types';
import { imageEntries, matchPlatform, noMatchingPlatformMessage } from './platform';

const MAX_INDEX_BYTES = 16 * 1024 * 1024;
const MAX_INDEX_DEPTH = 3;
const REF_NAME = 'org.opencontainers.image.ref.name';
const CONTAINERD_NAME = 'io.containerd.image.name';

export function isOciLayout(archive: SpooledArchive): boolean {
  return archive.has('oci-layout') && archive.has('index.json');
}

/** Reads every image an OCI image-layout archive names in its index.json. */
export async function readOciLayout(archive: SpooledArchive, platform: Platform): Promise<ImagePlan[]> {
  const layout = await archive.readJson('oci-layout', 64 * 1024);
  if (!isRecord(layout) || typeof layout.imageLayoutVersion !== 'string') {
    throw invalidArchive('oci-layout has no imageLayoutVersion');
  }
  const index = await archive.readJson('index.json', MAX_INDEX_BYTES);
  if (!isRecord(index) || !Array.isArray(index.manifests)) throw invalidArchive('index.json has no manifests list');

  const plans: ImagePlan[] = [];
  for (const [i, raw] of index.manifests.entries()) {
    const entry = parseDescriptor(raw, `index.json manifests[${i}]`);
    const manifest = await selectManifest(archive, entry, platform, 0);
    plans.push(await planImage(archive, manifest, referencesFromAnnotations(entry.annotations)));
  }
  if (plans.length === 0) throw invalidArchive('index.json lists no images');

  // Docker >= 25 also writes manifest.json; its RepoTags name images by config.
  if (archive.has('manifest.json')) {
    const tags = await readDockerRepoTags(archive);
    for (const plan of plans) plan.references.push(...(tags.get(plan.config.descriptor.digest) ?? []));
  }
  return mergeByDigest(plans);
}

/**
 * `ref.name` may be a full reference or, as Docker and containerd write it, only
 * a tag; then the repository comes from containerd's image name.
 */
export function referencesFromAnnotations(annotations: Record<string, string> | undefined): string[] {
  const refName = annotations?.[REF_NAME];
  const imageName = annotations?.[CONTAINERD_NAME];
  if (refName && /[/:@]/.test(refName)) return [normalizeImageReference(refName, REF_NAME)];
  if (imageName) {
    if (!refName) return [normalizeImageReference(imageName, CONTAINERD_NAME)];
    const { registry, repository } = parseImageReference(imageName, CONTAINERD_NAME);
    return [normalizeImageReference(`${registry}/${repository}:${refName}`, REF_NAME)];
  }
  return [];
}

interface SelectedManifest {
  descriptor: Descriptor;
  json: Record<string, unknown>;
  blob: PlannedBlob;
}

async function selectManifest(archive: SpooledArchive, descriptor: Descriptor, platform: Platform, depth: number): Promise<SelectedManifest> {
  if (depth > MAX_INDEX_DEPTH) throw invalidArchive('image indexes are nested too deeply');
  const { file, json } = await readVerifiedJson(archive, descriptor);
  if (!isRecord(json)) throw invalidArchive(`${descriptor.digest} is not a JSON object`);
  const declared = descriptor.mediaType || (typeof json.mediaType === 'string' ? json.mediaType : '');
  const isIndex = declared ? isIndexMediaType(declared) : Array.isArray(json.manifests);
  const isManifest = declared ? isManifestMediaType(declared) : isRecord(json.config);

  if (isIndex) {
    if (!Array.isArray(json.manifests)) throw invalidArchive(`index ${descriptor.digest} has no manifests list`);
    const children = json.manifests.map((m, i) => parseDescriptor(m, `index ${descriptor.digest} manifests[${i}]`));
    return selectManifest(archive, pickPlatform(children, platform, descriptor.digest), platform, depth + 1);
  }
  if (isManifest) {
    const typed = { ...descriptor, mediaType: declared || MediaType.OciManifest };
    return { descriptor: typed, json, blob: { descriptor: typed, file } };
  }
  throw new InvalidArgumentError(`${descriptor.digest} has unsupported media type "${declared}"`, [], ImageErrorReason.UnsupportedMediaType);
}

/** As `docker load` does, a lone image is taken whatever platform it declares. */
function pickPlatform(children: Descriptor[], wanted: Platform, indexDigest: string): Descriptor {
  const images = imageEntries(children);
  const chosen = matchPlatform(children, wanted) ?? (images.length === 1 ? images[0] : undefined);
  if (!chosen) {
    throw new InvalidArgumentError(noMatchingPlatformMessage(children, wanted, `index ${indexDigest}`), [], ImageErrorReason.NoMatchingPlatform);
  }
  return chosen;
}

async function planImage(archive: SpooledArchive, manifest: SelectedManifest, references: string[]): Promise<ImagePlan> {
  const where = `manifest ${manifest.descriptor.digest}`;
  if (!Array.isArray(manifest.json.layers)) throw invalidArchive(`${where} has no layers list`);
  const configDescriptor = parseDescriptor(manifest.json.config, `${where} config`);
  const config = await readVerifiedJson(archive, configDescriptor);
  const parsedConfig = parseImageConfig(config.json, `config ${configDescriptor.digest}`);
  const layers = manifest.json.layers.map((raw, i): PlannedBlob => {
    const descriptor = parseDescriptor(raw, `${where} layers[${i}]`);
    // A layer may be missing when the store already has it (e.g. a non-distributable one).
    return { descriptor, file: archive.get(blobPathInLayout(descriptor.digest)) };
  });
  assertLayersMatchConfig(layers, parsedConfig, where);
  return {
    references,
    manifest: manifest.blob,
    config: { descriptor: configDescriptor, file: config.file },
    parsedConfig,
    layers,
  };
}
