import { readFileSync } from 'node:fs';
import {
  type BerthClient,
  BerthProblem,
  type Container,
  type ContainerWaitCondition,
  type ContainerWaitResult,
  type CreateContainerRequest,
  createBerthClient,
  createContainer,
  getContainerLogs,
  loadImage,
  type Operation,
  waitContainer,
  waitOperation,
} from '@berth/sdk';
import { ContractValidator } from './contract';
import { e2eEnv } from './e2e-env';

const contract = new ContractValidator();

/** Media types whose answers stay open: checked for status and type, not read. */
const STREAMING = new Set(['text/event-stream']);
/** Media types whose bodies are bytes (tars): checked for status and type. */
const BINARY = new Set(['application/x-tar', 'application/octet-stream']);

/**
 * An SDK client for one token against the e2e stack (or `baseUrl`), which checks every answer
 * against the checked-in OpenAPI document: a status, media type or body the
 * document does not describe fails the call that got it.
 */
export function sdkClient(token: string, options: { baseUrl?: string; fetch?: typeof fetch } = {}): BerthClient {
  const client = createBerthClient({ baseUrl: options.baseUrl ?? e2eEnv().url, token, fetch: options.fetch });
  client.interceptors.response.use(async (response, _request, options) => {
    const method = options.method ?? 'GET';
    const template = options.url;
    const query = (options.query ?? {}) as Record<string, unknown>;
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0].trim();
    const open = STREAMING.has(mediaType) || query.follow === true || query.stream === true;
    let body: { json?: unknown; lines?: unknown[] } | undefined;
    if (!open && response.status !== 204 && !BINARY.has(mediaType)) {
      const text = await response.clone().text();
      if (mediaType === 'application/x-ndjson')
        body = {
          lines: text
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as unknown),
        };
      else if (mediaType.endsWith('json')) body = { json: text ? (JSON.parse(text) as unknown) : undefined };
      else if (mediaType.startsWith('text/')) body = { json: text };
    }
    const problems = contract.check(method, template, response.status, response.headers.get('content-type'), body);
    if (problems.length) throw new Error(`the answer does not match openapi/openapi.json:\n  ${problems.join('\n  ')}`);
    return response;
  });
  return client;
}

/** The admin team's client. */
export const adminSdk = (): BerthClient => sdkClient(e2eEnv().adminToken);

/** Waits for an operation to finish (long-polls; fails the test if it is still running at the timeout). */
export async function finished(client: BerthClient, operationId: string, timeoutSec = 60): Promise<Operation> {
  const { data } = await waitOperation({ client, path: { id: operationId }, query: { timeout: timeoutSec } });
  if (data.status === 'queued' || data.status === 'running') throw new Error(`operation ${operationId} still ${data.status} after ${timeoutSec}s`);
  return data;
}

/** Creates a container and waits for its create operation to succeed; answers the container. */
export async function runContainer(client: BerthClient, body: CreateContainerRequest): Promise<Container> {
  const created = await createContainer({ client, body });
  const op = await finished(client, created.data.operation.id);
  if (op.status !== 'succeeded') throw new Error(`create failed: ${JSON.stringify(op.error)}`);
  return created.data.container;
}

/** A container's logs as text (query as getContainerLogs takes it). */
export async function logText(client: BerthClient, id: string, query: NonNullable<Parameters<typeof getContainerLogs>[0]['query']> = {}): Promise<string> {
  const { data } = await getContainerLogs({ client, path: { id }, query, parseAs: 'text' });
  return String(data);
}

/** Loads an image tar (OCI layout or docker save) and waits for it. */
export async function loadImageTar(client: BerthClient, tarPath: string, timeoutSec = 120): Promise<Operation> {
  const { data } = await loadImage({ client, body: new Blob([readFileSync(tarPath)]), headers: { 'Content-Type': 'application/x-tar' } });
  return finished(client, data.operation.id, timeoutSec);
}

/** The BerthProblem a call threw (fails the test when it did not throw one). */
export async function problemOf(call: Promise<unknown>): Promise<BerthProblem> {
  const outcome = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(outcome instanceof BerthProblem)) throw new Error(`expected a BerthProblem, got ${outcome === undefined ? 'success' : String(outcome)}`);
  return outcome;
}

/** Waits for a container to reach a condition; answers what the wait saw (`met` false when the timeout passed first). */
export async function waitForContainer(client: BerthClient, id: string, condition: ContainerWaitCondition, timeoutSec = 60): Promise<ContainerWaitResult> {
  return (await waitContainer({ client, path: { id }, query: { condition, timeout: timeoutSec } })).data;
}

/** The BerthProblem of an error answer beside the answer itself, for what its headers say (call with `throwOnError: false`). */
export async function problemAnswer(call: Promise<{ error?: unknown; response?: Response }>): Promise<{ problem: BerthProblem; response: Response }> {
  const { error, response } = await call;
  if (!(error instanceof BerthProblem) || !response) throw new Error(`expected a BerthProblem, got ${error === undefined ? 'success' : String(error)}`);
  return { problem: error, response };
}
