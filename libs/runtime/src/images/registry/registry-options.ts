export interface RegistryCredentials {
  username: string;
  password: string;
}

export interface RegistryClientOptions {
  /** Registries (`host` or `host:port`) spoken to over plain HTTP; loopback ones always are. */
  insecureRegistries?: string[];
  /** Basic credentials for a registry (`host[:port]` as in the reference), or undefined for anonymous. */
  credentials?: (registry: string) => Promise<RegistryCredentials | undefined>;
  /** Defaults to the global fetch; tests wrap it to count requests. */
  fetch?: typeof fetch;
  /** For requests without a large body; default 30 s. */
  requestTimeoutMs?: number;
  /** For blob transfers; default 30 min. */
  blobTimeoutMs?: number;
  userAgent?: string;
}

export function basicAuthorization(credentials: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}
