// The package as a user gets it: `npm pack` builds it (prepack) into a tarball
// that installs offline into an empty project (it has no dependencies) and
// works there from CommonJS and from an ES module, against a local server.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { json, scriptServer } from './src/testing/script-server';

const run = promisify(execFile);
/** npm and node as a user runs them: none of the npm_* settings of a surrounding npm run, no NODE_PATH. */
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'NODE_PATH' && key !== 'NODE_OPTIONS'));

interface Packed {
  filename: string;
  files: { path: string }[];
}

describe('the @berth/sdk package', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(path.join(tmpdir(), 'berth-sdk-pack-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('packs, installs offline into a plain Node project and works there', async () => {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: __dirname, env, encoding: 'utf8' });
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Packed[];
    const files = packed.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining(['package.json', 'openapi.json', 'dist/index.js', 'dist/index.d.ts', 'dist/operations.js', 'dist/generated/sdk.gen.js']),
    );
    expect(files.filter((f) => /\.spec\.|testing\/|^src\/|\.tsbuildinfo$/.test(f))).toEqual([]);

    const manifest = JSON.parse(readFileSync(path.join(__dirname, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect([manifest.dependencies, manifest.peerDependencies, manifest.optionalDependencies]).toEqual([undefined, undefined, undefined]);

    const project = path.join(tmp, 'project');
    mkdirSync(project);
    writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'plain-project', version: '1.0.0', private: true }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', path.join(tmp, packed.filename)], { cwd: project, env });

    const server = await scriptServer([
      json(202, { container: { id: 'ctr-1' }, operation: { id: 'op-1', kind: 'container.create', status: 'queued' } }),
      json(200, { id: 'op-1', kind: 'container.create', status: 'succeeded' }),
    ]);
    try {
      const cjs = [
        "const sdk = require('@berth/sdk');",
        "const names = ['createBerthClient', 'createContainer', 'waitForOperation', 'BerthProblem', 'paginate', 'followLogs', 'followEvents'];",
        'const client = sdk.createBerthClient({ baseUrl: process.env.BERTH_URL, token: "berth_x" });',
        "sdk.createContainer({ client, body: { image: 'alpine' } })",
        '  .then(({ data }) => sdk.waitForOperation(client, data))',
        '  .then((op) => console.log(JSON.stringify({ kinds: names.map((n) => typeof sdk[n]), status: op.status, where: require.resolve("@berth/sdk") })));',
      ].join('\n');
      const out = await run(process.execPath, ['-e', cjs], { cwd: project, env: { ...env, BERTH_URL: server.baseUrl }, encoding: 'utf8' });
      const result = JSON.parse(out.stdout) as { kinds: string[]; status: string; where: string };
      expect(result.kinds).toEqual(Array(7).fill('function'));
      expect(result.status).toBe('succeeded');
      expect(result.where).toBe(path.join(project, 'node_modules', '@berth', 'sdk', 'dist', 'index.js'));
      expect(server.requests.map((r) => `${r.method} ${r.path} ${r.headers.authorization}`)).toEqual([
        'POST /v1/containers Bearer berth_x',
        'GET /v1/operations/op-1/wait Bearer berth_x',
      ]);

      const esm =
        "import { createBerthClient, BerthProblem, isBerthProblem } from '@berth/sdk'; console.log(typeof createBerthClient, typeof BerthProblem, typeof isBerthProblem);";
      const imported = await run(process.execPath, ['--input-type=module', '-e', esm], { cwd: project, env, encoding: 'utf8' });
      expect(imported.stdout.trim()).toBe('function function function');
    } finally {
      await server.close();
    }
  }, 60_000);
});
