// The examples of docs/sdk.md, compiled with the rest of the tree (`tsc -p tsconfig.json`)
// so that a change of the generated functions that breaks them breaks the types check;
// libs/sdk/docs.spec.ts checks that each TypeScript block of the guide is here word for word.
// Compiled where @berth/sdk is installed, it runs the whole flow against a Berth:
//   BERTH_URL=http://127.0.0.1:8080 BERTH_TOKEN=berth_… node quickstart.js busybox.tar
import { readFileSync } from 'node:fs';
import {
  type BerthClient,
  BerthProblem,
  createBerthClient,
  createContainer,
  followEvents,
  followLogs,
  getContainer,
  isBerthOperationFailed,
  isBerthProblem,
  listContainers,
  loadImage,
  paginate,
  readLogs,
  waitContainer,
  waitForOperation,
} from '@berth/sdk';

export function connect(): BerthClient {
  const client = createBerthClient({
    baseUrl: process.env.BERTH_URL ?? 'http://127.0.0.1:8080',
    token: process.env.BERTH_TOKEN, // the admin token npm start printed, or a team's token
  });
  return client;
}

export async function loadBusybox(client: BerthClient, tarPath: string): Promise<void> {
  const { data } = await loadImage({ client, body: new Blob([readFileSync(tarPath)]) });
  const loaded = await waitForOperation(client, data);
  console.log('loaded', loaded.result?.images);
}

export async function createAndWait(client: BerthClient): Promise<string> {
  const { data } = await createContainer({
    client,
    body: { image: 'busybox', cmd: ['sh', '-c', 'for i in 1 2 3; do echo line $i; sleep 1; done; echo done >&2'] },
  });
  // data is { container, operation }: the operation creates and starts it on a host.
  const operation = await waitForOperation(client, data, { timeoutMs: 60_000 });
  console.log(data.container.name, operation.status); // berth-…, succeeded
  return data.container.id;
}

export async function logs(client: BerthClient, id: string): Promise<void> {
  // Follow until the container exits (the server then ends the response).
  for await (const line of followLogs(client, id, { signal: AbortSignal.timeout(60_000) })) {
    console.log(line.time, line.stream, line.line);
  }
  // Or read what it wrote so far, at once.
  const lines = await readLogs(client, id, { tail: 100, stderr: false });
  console.log(lines.map((l) => l.line)); // [ 'line 1', 'line 2', 'line 3' ]
  const { data: exited } = await waitContainer({ client, path: { id }, query: { condition: 'exited', timeout: 30 } });
  console.log(exited.met, exited.exitCode); // true 0
}

export async function listAll(client: BerthClient): Promise<void> {
  for await (const container of paginate(listContainers, { client, query: { limit: 50, state: 'exited' } })) {
    console.log(container.id, container.name, container.exitCode);
  }
}

export async function watchEvents(client: BerthClient, id: string): Promise<void> {
  const stop = new AbortController();
  setTimeout(() => stop.abort(), 60_000);
  const events = followEvents(client, { types: ['container.'], signal: stop.signal });
  for await (const event of events) {
    console.log(event.type, event.id, event.attributes);
    if (event.id === id && event.type === 'container.deleted') stop.abort();
  }
  console.log('resume after', events.lastEventId); // undefined until the server sends ids
}

export async function handleProblems(client: BerthClient): Promise<void> {
  try {
    await createContainer({ client, body: { image: 'busybox', name: 'not a name!' } });
  } catch (error) {
    if (!(error instanceof BerthProblem)) throw error; // a network error
    console.log(error.status, error.reason, error.fieldError('name')); // 400 ValidationFailed name must start with a letter or digit …
    console.log('quote this when asking for help:', error.requestId);
  }

  const missing = await getContainer({ client, path: { id: 'no-such-container' } }).catch((error: unknown) => {
    if (isBerthProblem(error, 'ContainerNotFound')) return undefined;
    throw error;
  });
  console.log(missing); // undefined

  try {
    const { data } = await createContainer({ client, body: { image: 'nothing-here:1.0', pullPolicy: 'never' } });
    await waitForOperation(client, data); // accepted, then the operation fails on the host
  } catch (error) {
    if (!isBerthOperationFailed(error, 'ImageNotFound')) throw error;
    console.log(error.error?.message); // image docker.io/library/nothing-here:1.0 is not on host … (pullPolicy is never)
  }
}

/** Calls again while the API answers 503 (a host or Redis away), after the Retry-After it sent. */
export async function retryWhenUnavailable<T>(call: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isBerthProblem(error) || error.status !== 503 || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, (error.retryAfter ?? 1) * 1000));
    }
  }
}

async function main(): Promise<void> {
  const client = connect();
  if (process.argv[2]) await loadBusybox(client, process.argv[2]);
  const id = await createAndWait(client);
  await logs(client, id);
  await listAll(client);
  await handleProblems(client);
  const { data: page } = await retryWhenUnavailable(() => listContainers({ client, query: { limit: 10 } }));
  console.log(page.items.length, 'containers on the first page');
}

if (require.main === module) main().catch((error: unknown) => (console.error(error), process.exit(1)));
