import { InvalidArgumentError } from './errors';
import { familiarImageReference, normalizeImageReference, normalizeRegistryServer, parseImageReference } from './image-reference';

describe('image references, parsed as Docker does', () => {
  it.each([
    ['busybox', 'docker.io/library/busybox:latest'],
    ['busybox:1.36', 'docker.io/library/busybox:1.36'],
    ['team/app', 'docker.io/team/app:latest'],
    ['localhost/app:1', 'localhost/app:1'],
    ['localhost:5000/team/app:1.2', 'localhost:5000/team/app:1.2'],
    ['registry.example:5000/team/app:1.2', 'registry.example:5000/team/app:1.2'],
    ['index.docker.io/library/busybox', 'docker.io/library/busybox:latest'],
    [`busybox@sha256:${'a'.repeat(64)}`, `docker.io/library/busybox@sha256:${'a'.repeat(64)}`],
    [`app:1@sha256:${'b'.repeat(64)}`, `docker.io/library/app:1@sha256:${'b'.repeat(64)}`],
    ['[::1]:5000/app', '[::1]:5000/app:latest'],
  ])('%s → %s', (input, expected) => {
    expect(normalizeImageReference(input)).toBe(expected);
  });

  it.each([
    ['', 'empty'],
    ['Busybox', 'upper case'],
    ['busy box', 'a space'],
    ['busybox:', 'an empty tag'],
    ['busybox@sha256:abc', 'a short digest'],
    ['a//b', 'an empty path component'],
    ['busybox:-bad', 'a tag starting with a dash'],
  ])('refuses %j (%s) with an InvalidArgument error naming the field', (input) => {
    let caught: unknown;
    try {
      parseImageReference(input, 'image');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidArgumentError);
    expect((caught as InvalidArgumentError).violations[0].field).toBe('image');
  });

  it('shows the familiar short form', () => {
    expect(familiarImageReference(parseImageReference('busybox'))).toBe('busybox:latest');
    expect(familiarImageReference(parseImageReference('team/app:2'))).toBe('team/app:2');
    expect(familiarImageReference(parseImageReference('localhost:5000/app:1'))).toBe('localhost:5000/app:1');
  });
});

describe('normalizeRegistryServer', () => {
  it('keeps host and port, drops a scheme and a path, and names Docker Hub docker.io', () => {
    expect(normalizeRegistryServer('127.0.0.1:5000')).toBe('127.0.0.1:5000');
    expect(normalizeRegistryServer('https://Registry.Example.com/v2/')).toBe('registry.example.com');
    expect(normalizeRegistryServer('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normalizeRegistryServer('registry-1.docker.io')).toBe('docker.io');
    expect(normalizeRegistryServer('[::1]:5000')).toBe('[::1]:5000');
  });

  it('refuses what is not a host, naming the field', () => {
    for (const bad of ['', '   ', 'http://', 'bad host', 'a..b', 'host:port']) {
      expect(() => normalizeRegistryServer(bad)).toThrow(
        expect.objectContaining({ reason: 'InvalidRegistry', violations: [expect.objectContaining({ field: 'server' })] }),
      );
    }
  });
});
