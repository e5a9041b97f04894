import 'reflect-metadata';
import { join } from 'node:path';
import { Worker } from 'bullmq';
import IORedis from 'ioredis';
import pino from 'pino';
import { JobName, UnavailableError, hostQueueName, redisOptionsFromUrl } from '@berth/domain';
import { HostNetworks, ImageStore, RuncRuntime } from '@berth/runtime';
import { loadWorkerConfig } from './config';
import { ContainerConverger } from './container-converger';
import { ContainerNetworking, type OverlaySettings } from './container-networking';
import { ContainerStateStore } from './container-state-store';
import { HealthMonitor } from './health-monitor';
import { HostHeartbeat } from './host-heartbeat';
import { ImageLoader } from './image-loader';
import { JobProcessor } from './job-processor';
import { RegistryImages } from './registry-images';
import { Reporter } from './reporter';
import { RpcServer } from './rpc-server';
import { SealingKey } from './sealing-key';
import { VolumeStore } from './volume-store';

/** This host's overlay address and the MTU it leaves containers, or undefined when networks do not span to it. */
async function overlaySettings(networks: HostNetworks, configured: string): Promise<OverlaySettings | undefined> {
  if (configured === 'off') return undefined;
  const address = configured === 'auto' ? await networks.defaultRouteAddress() : configured;
  if (!address) return undefined;
  const mtu = await networks.overlayMtu(address);
  if (mtu === undefined) throw new Error(`BERTH_OVERLAY_ADDRESS ${address} is not an address of this host`);
  return { address, mtu };
}

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const log = pino({ name: 'berth-worker', level: config.logLevel, base: { host: config.hostName }, timestamp: pino.stdTimeFunctions.isoTime });
  if (process.getuid?.() !== 0) throw new Error('the worker runs containers and must run as root');

  const redisOptions = { ...redisOptionsFromUrl(config.redisUrl), maxRetriesPerRequest: null };
  const runtime = new RuncRuntime({
    root: join(config.dataDir, 'runtime'),
    runcPath: config.runcPath,
    conmonPath: config.conmonPath,
    seccompProfilePath: config.seccompProfilePath,
  });
  const images = new ImageStore({ root: join(config.dataDir, 'images') });
  await images.init();
  const states = new ContainerStateStore(join(config.dataDir, 'containers'));
  await states.init();
  const reporter = new Reporter(redisOptions, config.hostName);
  const housekeepingFailed = (err: unknown, container: string) => log.warn({ err: (err as Error).message, container }, 'container housekeeping failed');
  const health = new HealthMonitor(runtime, (id, observed) => reporter.container(id, observed), housekeepingFailed);
  const loader = new ImageLoader(images, config.apiUrl, join(config.dataDir, 'downloads'));
  const sealingKey = await SealingKey.load(join(config.dataDir, 'sealing-key.pem'), config.hostName);
  const registryImages = new RegistryImages(images, reporter, {
    logins: sealingKey,
    insecureRegistries: config.insecureRegistries,
    removalGraceMs: config.imageRemovalGraceMs,
  });
  const volumes = new VolumeStore(join(config.dataDir, 'volumes'));
  const members = async () => {
    const out = [];
    for (const id of await states.ids()) {
      const network = (await states.get(id)).network;
      if (network) out.push({ id, meta: network });
    }
    return out;
  };
  const hostNetworks = new HostNetworks({ stateDir: join(config.dataDir, 'networks'), ...(config.hostNetns ? { hostNetns: config.hostNetns } : {}) });
  const overlay = await overlaySettings(hostNetworks, config.overlayAddress);
  log.info({ overlay: overlay ?? 'off', hostNetns: config.hostNetns }, 'networks across hosts');
  const networking = new ContainerNetworking(hostNetworks, runtime, members, {
    hostName: config.hostName,
    syncDir: join(config.dataDir, 'network-syncs'),
    bridgeIdleMs: config.bridgeIdleMs,
    ...(overlay ? { overlay } : {}),
    onError: housekeepingFailed,
  });
  const converger = new ContainerConverger(runtime, images, states, reporter, config.hostName, housekeepingFailed, health, registryImages, volumes, networking);
  const imagesInUse = async () => new Set((await runtime.list()).map((c) => c.metadata.imageDigest).filter((d): d is string => typeof d === 'string'));

  const processor = new JobProcessor(
    {
      [JobName.ContainerConverge]: (job) => converger.converge(job),
      [JobName.ContainerSignal]: (job) => converger.signal(job),
      [JobName.ContainerPause]: (job) => converger.freeze(job, true),
      [JobName.ContainerUnpause]: (job) => converger.freeze(job, false),
      [JobName.ContainerRestart]: (job) => converger.restart(job),
      [JobName.ContainerUpdate]: (job) => converger.update(job),
      [JobName.ContainerNetworks]: (job) => converger.rewire(job),
      [JobName.NetworkSync]: async (job) => {
        // A sync is safe to run again: whatever failed is retried with backoff.
        await networking.sync(job).catch((err: Error) => {
          throw err instanceof UnavailableError
            ? err
            : new UnavailableError(`network ${job.networkId} revision ${job.revision}: ${err.message}`, 'NetworkSyncFailed');
        });
      },
      [JobName.ImageLoad]: async (job) => {
        const loaded = await loader.load(job);
        await reporter.imagesLoaded(
          job.operationId,
          job.teamId,
          await Promise.all(loaded.map(async (i) => ({ ...i, history: await images.history(i.digest) }))),
        );
      },
      [JobName.ImagePull]: async (job) => {
        const image = await registryImages.pull(job);
        return { digest: image.digest, references: image.references };
      },
      [JobName.ImagePush]: (job) => registryImages.push(job),
      [JobName.ImageRemove]: async (job) => registryImages.remove(job, await imagesInUse()),
      [JobName.VolumeRemove]: async (job) => {
        for (const id of job.volumeIds) await volumes.remove(id);
        return { removed: job.volumeIds };
      },
    },
    reporter,
    log,
  );

  runtime.onExit((info) => {
    converger.reportExit(info).catch((err) => log.warn({ err: err.message, container: info.id }, 'reporting an exit failed'));
  });

  const heartbeat = new HostHeartbeat(config.hostName, runtime, states, reporter, config.heartbeatMs, log, {
    volumesDir: volumes.root,
    sealingKey: sealingKey.publicKey,
    ...(overlay ? { overlayAddress: overlay.address } : {}),
  });
  await heartbeat.start();
  await converger.resume();
  await networking.reconcile().catch((err) => log.warn({ err: err.message }, 'network reconcile failed'));

  const rpcClient = new IORedis(redisOptions);
  const rpc = new RpcServer(new IORedis(redisOptions), rpcClient, runtime, config.hostName, log, images, volumes);
  rpc.start();

  const worker = new Worker(hostQueueName(config.hostName), processor.process, { connection: redisOptions, concurrency: config.concurrency });
  worker.on('error', (err) => log.warn({ err: err.message }, 'host queue'));
  log.info({ queue: hostQueueName(config.hostName), dataDir: config.dataDir }, 'worker ready');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping; containers keep running under conmon');
    heartbeat.stop();
    converger.close();
    networking.close();
    health.close();
    await worker.close();
    await rpc.stop();
    rpcClient.disconnect();
    await reporter.close();
    await runtime.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`berth-worker failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
