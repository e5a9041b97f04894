import { constants } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FailedPreconditionError, InternalError, NotFoundError, UnavailableError } from '@berth/domain';
import { checkedId, isValidContainerId } from '../shared/container-id';
import { spawnCniExec, type CniExec } from './cni-exec';
import { CNI_VERSION, staticAddresses, type CniPluginConfig, type CniRuntimeConfig, type NetworkConfigList } from './conflist';
import { checkedIfName } from './network-names';

/** What a chain of CNI plugins reports after ADD (spec 1.0.0). */
export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: { interface?: number; address: string; gateway?: string }[];
  routes?: { dst: string; gw?: string }[];
  dns?: Record<string, unknown>;
}

export interface CniInterface {
  name: string;
  mac?: string;
  /** The namespace path of an interface inside the container; absent on the host's side. */
  sandbox?: string;
}

/** One container interface made by one network's plugin chain. */
export interface CniAttachment {
  containerId: string;
  ifName: string;
  netnsPath: string;
  config: NetworkConfigList;
  runtimeConfig?: CniRuntimeConfig;
}

/** An attachment as kept on disk: written before ADD runs, so a DEL can always follow. */
export interface CniAttachmentRecord extends CniAttachment {
  /** The chain's final result; absent while ADD runs, or when it never finished. */
  result?: CniResult;
  createdAt: string;
}

export type CniCommand = 'ADD' | 'DEL' | 'CHECK';

export interface CniRunnerOptions {
  /** Attachment records live under `<stateDir>/attachments/<container id>/<ifName>.json`. */
  stateDir: string;
  /** Where plugins are looked up, in order (CNI_PATH). Default: /usr/lib/cni, /opt/cni/bin. */
  pluginDirs?: string[];
  /** Each plugin call is killed after this long (default 20 s). */
  timeoutMs?: number;
  exec?: CniExec;
}

/** A plugin's error result: `{ code, msg, details }` on stdout, with the network and container it concerned. */
export class CniPluginError extends InternalError {
  constructor(
    readonly network: string,
    readonly containerId: string,
    readonly plugin: string,
    readonly command: CniCommand,
    readonly code: number | undefined,
    readonly msg: string,
    readonly details: string | undefined,
  ) {
    super(
      `CNI ${command} of network ${network} for container ${containerId} failed in plugin ${plugin}` +
        `${code === undefined ? '' : ` (code ${code})`}: ${msg}${details ? ` (${details})` : ''}`,
      'CniPluginFailed',
    );
  }
}

/** CNI's well-known "try again later" code: the caller should retry, not give up. */
const CNI_TRY_AGAIN_LATER = 11;

// Plugins run go-iptables, which finds iptables on PATH; a worker's own PATH may lack sbin.
const PLUGIN_PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Runs CNI plugin chains (conflists) as the spec asks of a runtime: ADD in order,
 * each plugin getting the previous one's result; DEL in reverse with the cached
 * result; CHECK in order. Results are cached on disk per attachment, so a DEL works
 * after a restart.
 */
export class CniRunner {
  readonly pluginDirs: string[];
  private readonly attachmentsDir: string;
  private readonly timeoutMs: number;
  private readonly exec: CniExec;

  constructor(options: CniRunnerOptions) {
    this.attachmentsDir = join(options.stateDir, 'attachments');
    this.pluginDirs = options.pluginDirs ?? ['/usr/lib/cni', '/opt/cni/bin'];
    this.timeoutMs = options.timeoutMs ?? 20_000;
    this.exec = options.exec ?? spawnCniExec;
  }

  /** Runs the chain's ADD and keeps its result. A failed ADD is undone with a DEL before the error is thrown. */
  async add(attachment: CniAttachment): Promise<CniResult> {
    const record: CniAttachmentRecord = { ...attachment, createdAt: new Date().toISOString() };
    await this.write(record);
    let result: CniResult | undefined;
    try {
      for (const plugin of attachment.config.plugins) {
        result = parseResult(await this.invoke('ADD', attachment, plugin, result), attachment, plugin);
      }
      if (!result) throw new InternalError(`network ${attachment.config.name} has no plugins`, 'CniEmptyChain');
    } catch (err) {
      await this.del(record).catch(() => undefined);
      throw err;
    }
    await this.write({ ...record, result });
    return result;
  }

  /**
   * DEL of every plugin in reverse, each with the cached result (or, when ADD never
   * finished, a result naming the static address, so rules keyed by it go too). Every
   * plugin runs even when one fails; the record is forgotten only when all succeed.
   */
  async del(record: CniAttachmentRecord): Promise<void> {
    const prevResult = record.result ?? fallbackResult(record.config);
    const errors: unknown[] = [];
    for (const plugin of [...record.config.plugins].reverse()) {
      try {
        await this.invoke('DEL', record, plugin, prevResult);
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length) throw errors[0];
    await this.forget(record.containerId, record.ifName);
  }

  /** CHECK of every plugin in order against the cached result; throws what the first failing plugin says. */
  async check(containerId: string, ifName: string): Promise<void> {
    const record = await this.record(containerId, ifName);
    if (!record?.result) throw new NotFoundError(`container ${containerId} has no finished attachment ${ifName}`, 'AttachmentNotFound');
    for (const plugin of record.config.plugins) await this.invoke('CHECK', record, plugin, record.result);
  }

  /** The CNI versions a plugin speaks (`CNI_COMMAND=VERSION`). */
  async supportedVersions(pluginType: string): Promise<string[]> {
    const path = await this.pluginPath(pluginType);
    const env = { CNI_COMMAND: 'VERSION', CNI_PATH: this.pluginDirs.join(':'), PATH: PLUGIN_PATH_ENV };
    const out = await this.exec.run(path, env, JSON.stringify({ cniVersion: CNI_VERSION }), this.timeoutMs);
    if (out.exitCode !== 0) throw new InternalError(`${path} VERSION failed: ${out.stdout || out.stderr}`, 'CniVersionFailed');
    const parsed = JSON.parse(out.stdout) as { supportedVersions?: string[] };
    return parsed.supportedVersions ?? [];
  }

  /** A container's attachment records, in the order they were made. */
  async records(containerId: string): Promise<CniAttachmentRecord[]> {
    const dir = join(this.attachmentsDir, checkedId(containerId));
    const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json'));
    const records = (await Promise.all(names.map((n) => readRecord(join(dir, n))))).filter((r): r is CniAttachmentRecord => !!r);
    return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.ifName.localeCompare(b.ifName, 'en', { numeric: true }));
  }

  async record(containerId: string, ifName: string): Promise<CniAttachmentRecord | undefined> {
    return readRecord(this.recordPath(containerId, ifName));
  }

  /** Every container that has attachment records. */
  async containers(): Promise<string[]> {
    const names = await readdir(this.attachmentsDir).catch(() => [] as string[]);
    return names.filter(isValidContainerId).sort();
  }

  /** Replaces a finished attachment's cached result (e.g. after the host veth got its Berth name). */
  async updateResult(containerId: string, ifName: string, result: CniResult): Promise<void> {
    const record = await this.record(containerId, ifName);
    if (!record) throw new NotFoundError(`container ${containerId} has no attachment ${ifName}`, 'AttachmentNotFound');
    await this.write({ ...record, result });
  }

  /** Drops a record (and the container's directory once empty) without running any plugin. */
  async forget(containerId: string, ifName: string): Promise<void> {
    await rm(this.recordPath(containerId, ifName), { force: true });
    await rmdir(join(this.attachmentsDir, checkedId(containerId))).catch(() => undefined);
  }

  private async invoke(command: CniCommand, attachment: CniAttachment, plugin: CniPluginConfig, prevResult?: CniResult): Promise<string> {
    const path = await this.pluginPath(plugin.type);
    const env = {
      CNI_COMMAND: command,
      CNI_CONTAINERID: attachment.containerId,
      CNI_NETNS: attachment.netnsPath,
      CNI_IFNAME: attachment.ifName,
      CNI_PATH: this.pluginDirs.join(':'),
      PATH: PLUGIN_PATH_ENV,
    };
    const stdin = JSON.stringify(pluginStdin(attachment.config, plugin, attachment.runtimeConfig, prevResult));
    const out = await this.exec.run(path, env, stdin, this.timeoutMs);
    if (out.exitCode !== 0) throw pluginError(command, attachment, plugin, out.stdout, out.stderr);
    return out.stdout;
  }

  private async pluginPath(type: string): Promise<string> {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(type)) throw new InternalError(`invalid CNI plugin type ${JSON.stringify(type)}`, 'CniBadPluginType');
    for (const dir of this.pluginDirs) {
      const path = join(dir, type);
      const found = await access(path, constants.X_OK).then(
        () => true,
        () => false,
      );
      if (found) return path;
    }
    throw new FailedPreconditionError(`CNI plugin ${type} not found in ${this.pluginDirs.join(', ')}`, 'CniPluginMissing');
  }

  private recordPath(containerId: string, ifName: string): string {
    return join(this.attachmentsDir, checkedId(containerId), `${checkedIfName(ifName)}.json`);
  }

  private async write(record: CniAttachmentRecord): Promise<void> {
    const path = this.recordPath(record.containerId, record.ifName);
    await mkdir(join(this.attachmentsDir, record.containerId), { recursive: true, mode: 0o700 });
    const temp = `${path}.tmp`;
    await writeFile(temp, JSON.stringify(record, null, 2), { mode: 0o600 });
    await rename(temp, path);
  }
}

/** What one plugin reads on stdin: its own config plus the list's name and version, its capabilities' runtime config, and the previous result. */
export function pluginStdin(
  config: NetworkConfigList,
  plugin: CniPluginConfig,
  runtimeConfig: CniRuntimeConfig | undefined,
  prevResult: CniResult | undefined,
): Record<string, unknown> {
  const wanted = Object.entries(plugin.capabilities ?? {})
    .filter(([, on]) => on)
    .map(([name]) => name);
  const runtime = Object.fromEntries(Object.entries(runtimeConfig ?? {}).filter(([name, value]) => wanted.includes(name) && value !== undefined));
  return {
    ...plugin,
    cniVersion: config.cniVersion,
    name: config.name,
    ...(Object.keys(runtime).length ? { runtimeConfig: runtime } : {}),
    ...(prevResult ? { prevResult } : {}),
  };
}

/** A plugin's failure as an error naming the network and container; "try again later" is Unavailable. */
export function pluginError(command: CniCommand, attachment: CniAttachment, plugin: CniPluginConfig, stdout: string, stderr: string): Error {
  let code: number | undefined;
  let msg = (stderr.trim() || stdout.trim() || 'no output').slice(0, 2000);
  let details: string | undefined;
  try {
    const parsed = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof parsed.code === 'number') code = parsed.code;
    if (typeof parsed.msg === 'string' && parsed.msg) msg = parsed.msg;
    if (typeof parsed.details === 'string' && parsed.details) details = parsed.details;
  } catch {
    // not a CNI error document: keep the raw output
  }
  const error = new CniPluginError(attachment.config.name, attachment.containerId, plugin.type, command, code, msg, details);
  return code === CNI_TRY_AGAIN_LATER ? new UnavailableError(error.message, 'CniTryAgainLater') : error;
}

function parseResult(stdout: string, attachment: CniAttachment, plugin: CniPluginConfig): CniResult {
  try {
    const result = JSON.parse(stdout) as CniResult;
    if (result && typeof result === 'object' && typeof result.cniVersion === 'string') return result;
  } catch {
    // fall through
  }
  const msg = `unreadable result: ${stdout.slice(0, 500)}`;
  throw new CniPluginError(attachment.config.name, attachment.containerId, plugin.type, 'ADD', undefined, msg, undefined);
}

/** A result naming only the static address, for a DEL after an ADD that never finished. */
export function fallbackResult(config: NetworkConfigList): CniResult {
  return {
    cniVersion: config.cniVersion,
    interfaces: [],
    ips: staticAddresses(config).map(({ address, gateway }) => ({ address, ...(gateway ? { gateway } : {}) })),
  };
}

async function readRecord(path: string): Promise<CniAttachmentRecord | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as CniAttachmentRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new InternalError(`unreadable CNI attachment record ${path}: ${(err as Error).message}`, 'CniRecordCorrupt');
  }
}
