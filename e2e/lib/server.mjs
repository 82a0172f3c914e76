// Starts the frontdesk binary the way an operator would: from an empty data
// directory (or an empty MariaDB database), on a free loopback port, and
// talks to it only through its public surfaces: the CLI, HTTP, WebSocket.
//
// Environment:
//   FRONTDESK_BIN            the binary to run (make e2e builds it); built
//                            with `go build` into e2e/.bin when unset
//   E2E_MYSQL_URL            run on MariaDB: a server URL such as
//                            mysql://root@127.0.0.1:3306/ ; each server
//                            gets a throwaway database, dropped at the end
//   E2E_REDIS_URL            run with Redis, e.g. redis://127.0.0.1:6379/0
//                            (each server gets its own key prefix)
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const e2eDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const repo = join(e2eDir, '..');

export function binary() {
  if (process.env.FRONTDESK_BIN) return process.env.FRONTDESK_BIN;
  const bin = join(e2eDir, '.bin', 'frontdesk');
  if (!existsSync(bin)) {
    mkdirSync(dirname(bin), { recursive: true });
    execFileSync('go', ['build', '-o', bin, './cmd/frontdesk'], { cwd: repo, stdio: 'inherit', timeout: 600_000 });
  }
  return bin;
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function mysqlClient(url, sql) {
  const u = new URL(url);
  const args = ['--protocol=tcp', '-h', u.hostname, '-P', u.port || '3306', '-u', decodeURIComponent(u.username || 'root'), '-e', sql];
  if (u.password) args.push(`-p${decodeURIComponent(u.password)}`);
  execFileSync('mariadb', args, { stdio: ['ignore', 'ignore', 'inherit'], timeout: 30_000 });
}

// start runs `frontdesk serve` and resolves once /readyz answers 200.
// With replicaOf (an earlier server, MariaDB runs only) it starts a second
// replica of that server: same database, same Redis and key prefix.
export async function start(extraEnv = {}, { replicaOf } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'frontdesk-e2e-'));
  const port = await freePort();
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    FRONTDESK_ENV: 'development',
    FRONTDESK_ADDR: `127.0.0.1:${port}`,
    FRONTDESK_DATA_DIR: dataDir,
    FRONTDESK_LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  let database;
  if (replicaOf) {
    if (!replicaOf.env.FRONTDESK_DATABASE_URL) throw new Error('replicas need a shared database (E2E_MYSQL_URL)');
    for (const k of ['FRONTDESK_DATABASE_URL', 'FRONTDESK_REDIS_URL', 'FRONTDESK_REDIS_PREFIX']) {
      if (replicaOf.env[k]) env[k] = replicaOf.env[k];
    }
  } else if (process.env.E2E_MYSQL_URL) {
    database = 'e2e_' + randomBytes(5).toString('hex');
    mysqlClient(process.env.E2E_MYSQL_URL, `CREATE DATABASE ${database} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    const u = new URL(process.env.E2E_MYSQL_URL);
    u.pathname = '/' + database;
    env.FRONTDESK_DATABASE_URL = u.toString();
  }
  if (process.env.E2E_REDIS_URL && !replicaOf) {
    env.FRONTDESK_REDIS_URL = process.env.E2E_REDIS_URL;
    env.FRONTDESK_REDIS_PREFIX = 'e2e:' + randomBytes(5).toString('hex') + ':';
  }
  const base = `http://127.0.0.1:${port}`;
  const proc = spawn(binary(), ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk) => {
    log += chunk;
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  proc.stdout.on('data', keep);
  proc.stderr.on('data', keep);
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`frontdesk serve exited with ${proc.exitCode}:\n${log}`);
    try {
      const res = await fetch(base + '/readyz', { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`frontdesk serve not ready after 90 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return {
    base,
    env,
    log: () => log,
    // cli runs another frontdesk command against the same storage.
    cli(args, { input = '', timeout = 60_000 } = {}) {
      return new Promise((resolve, reject) => {
        const p = spawn(binary(), args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        p.stdout.on('data', (c) => (stdout += c));
        p.stderr.on('data', (c) => (stderr += c));
        const timer = setTimeout(() => p.kill('SIGKILL'), timeout);
        p.on('error', reject);
        p.on('exit', (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
        p.stdin.end(input);
      });
    },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dataDir, { recursive: true, force: true });
      if (database) mysqlClient(process.env.E2E_MYSQL_URL, `DROP DATABASE IF EXISTS ${database}`);
      return exited;
    },
  };
}
