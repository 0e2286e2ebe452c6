// Shared by the browser and webhook tests: real redis-server, iamq-emulator and iamq
// processes on free loopback ports, each stopped when the test ends.
import { spawn, execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const buildDir = process.env.IAMQ_BINARY_DIR || join(process.cwd(), 'build');
export const iamqBin = process.env.IAMQ_BIN || join(buildDir, 'bin', 'iamq');
export const emulatorBin = process.env.IAMQ_EMULATOR_BIN || join(buildDir, 'bin', 'iamq-emulator');

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const children = new Set();
export function stopAll() {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* gone */ }
  }
  children.clear();
}
process.on('exit', stopAll);

/// Starts a process; resolves with {child, line} once a stdout line matches `ready` (a RegExp),
/// or with {child} at once when `ready` is null. Rejects after `timeoutMs`.
export function start(cmd, args, { ready = null, env = {}, timeoutMs = 20000, log = null } = {}) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const stderr = [];
  child.stderr.on('data', (d) => { stderr.push(d.toString()); if (log) log(d.toString()); });
  if (!ready) {
    child.stdout.resume();
    return Promise.resolve({ child });
  }
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start: ${stderr.join('')}`)), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${stderr.join('')}`));
    });
    rl.on('line', (line) => {
      const m = line.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ child, line, match: m });
      }
    });
  });
}

export async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'iamq-redis-'));
  await start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir], { ready: /Ready to accept connections/ });
  return { port, url: `redis://127.0.0.1:${port}/0` };
}

export async function startEmulator(extra = []) {
  const { child, match } = await start(emulatorBin, ['--listen', '127.0.0.1:0', ...extra],
    { ready: /listening on (\S+)/ });
  return { child, url: `http://${match[1]}` };
}

/// A config file for the tests: one account on the emulator, short timeouts.
export function writeConfig({ redisUrl, ns, endpoint, extra = '' }) {
  const dir = mkdtempSync(join(tmpdir(), 'iamq-cfg-'));
  const path = join(dir, 'iamq.toml');
  writeFileSync(path, `redis_url = "${redisUrl}"
namespace = "${ns}"
metrics_listen = ""
visibility_timeout = "2s"
delay_threshold = "1s"

[backoff.transient]
base = "50ms"
cap = "200ms"
max_attempts = 5

[accounts.default]
credentials = "static"
access_key_id = "AKIDEXAMPLE"
secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
endpoint = "${endpoint}"
rate = 500
burst = 500
${extra}
`);
  return path;
}

/// Runs iamq to completion; returns stdout. Throws with stderr on a non-zero exit.
export function iamq(config, args, input) {
  return execFileSync(iamqBin, ['--config', config, ...args], { encoding: 'utf8', input, timeout: 60000 });
}

/// The same without blocking this process's event loop (needed while a server in the test,
/// such as a webhook receiver, must answer the command's requests).
export function iamqAsync(config, args) {
  return new Promise((resolve, reject) => {
    execFile(iamqBin, ['--config', config, ...args], { encoding: 'utf8', timeout: 120000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`iamq ${args.join(' ')}: ${err.message}\n${stderr}`));
      resolve(stdout);
    });
  });
}

export function redisCli(port, args) {
  return execFileSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 10000 });
}

export function artifactDir(name) {
  const dir = join(buildDir, 'tests', 'browser', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function waitFor(fn, { timeoutMs = 15000, stepMs = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
