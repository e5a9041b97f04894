import { type Client, createClient, createConfig } from './generated/client';
import { BerthProblem } from './problem';

export type BerthClient = Client;

export interface BerthClientOptions {
  /** Where the API is, e.g. `http://127.0.0.1:8080` (no `/v1`). */
  baseUrl: string;
  /** An API token (`berth_…`), or a function answering one (called for each request). */
  token?: string | (() => string | Promise<string>);
  /** A fetch of your own (tests, proxies); the global one by default. */
  fetch?: typeof fetch;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
}

/**
 * A client for the generated functions: `await createContainer({ client, body })`.
 * It sends the token as a bearer and turns every error answer into a thrown
 * {@link BerthProblem}; network failures are thrown as they are.
 */
export function createBerthClient(options: BerthClientOptions): BerthClient {
  const token = options.token;
  const client = createClient(
    createConfig({
      baseUrl: options.baseUrl.replace(/\/+$/, ''),
      auth: typeof token === 'function' ? () => token() : token,
      fetch: options.fetch,
      headers: options.headers,
      throwOnError: true,
    }),
  );
  client.interceptors.error.use((error, response) => (response ? BerthProblem.fromResponse(error, response) : error));
  return client;
}
