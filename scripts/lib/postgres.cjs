'use strict';
/**
 * A private PostgreSQL cluster for tests: initdb in a temp dir, listening on
 * 127.0.0.1 only (and a unix socket in that dir), run as the `postgres` user.
 * Only Node built-ins here.
 */
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

/** The newest installed server's bin directory (Debian's postgresql package), or undefined. */
function postgresBin() {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  return fs
    .readdirSync(root)
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => path.join(root, v, 'bin'))
    .find((bin) => fs.existsSync(path.join(bin, 'initdb')));
}

function asPostgres(cmd, args) {
  return execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' });
}

/**
 * Starts a cluster under `dir` on `port` with one database, `database`; answers
 * its URL and `stop()` (immediate shutdown; the directory is removed).
 */
function startPostgres({ dir, port, database = 'berth' }) {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL is not installed (npm test installs the postgresql package)');
  fs.mkdirSync(dir, { recursive: true });
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
  fs.chownSync(dir, uid, gid);
  const data = path.join(dir, 'data');
  asPostgres(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const options = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=200`;
  asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-w', '-o', options, 'start']);
  const stop = () => {
    if (fs.existsSync(path.join(data, 'postmaster.pid'))) {
      try {
        asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    asPostgres(path.join(bin, 'createdb'), ['-h', dir, '-p', String(port), database]);
  } catch (err) {
    stop();
    throw err;
  }
  return { url: `postgres://postgres@127.0.0.1:${port}/${database}`, stop };
}

module.exports = { postgresBin, startPostgres };
