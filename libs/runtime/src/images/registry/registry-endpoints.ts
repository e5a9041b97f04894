/**
 * How registries are reached: HTTPS, except loopback registries and those listed
 * as insecure, which are spoken to over plain HTTP. `docker.io` lives at registry-1.
 */
export class RegistryEndpoints {
  private readonly insecure: Set<string>;

  constructor(insecureRegistries: string[] = []) {
    this.insecure = new Set(insecureRegistries.map((r) => r.toLowerCase()));
  }

  /** The base URL for a registry name as references spell it. */
  baseUrl(registry: string): string {
    const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
    return `${this.usesHttp(registry) ? 'http' : 'https'}://${host}`;
  }

  usesHttp(registry: string): boolean {
    const name = registry.toLowerCase();
    if (this.insecure.has(name)) return true;
    const host = hostOf(name);
    if (this.insecure.has(host)) return true;
    return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  }
}

function hostOf(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(0, registry.indexOf(']') + 1);
  const colon = registry.lastIndexOf(':');
  return colon >= 0 ? registry.slice(0, colon) : registry;
}
