// Webhooks end to end: a receiver in the test (node:http on loopback), real redis-server,
// iamq-emulator and `iamq worker`. A 503 then a 200; the HMAC verified; a worker SIGKILLed
// while a delivery is in flight (delivered after the restart); a 4xx kept as failed and sent
// again by `iamq webhooks retry`; a notify naming no webhook refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { execFileSync } from 'node:child_process';
import {
  startRedis, startEmulator, writeConfig, iamq, iamqAsync, redisCli, start, stopAll, iamqBin,
} from '../browser/harness.mjs';

const SECRET = 'webhook-test-secret-0123456789';
let redis, emulator, receiver, hookUrl;
const seen = [];       // every request the receiver got: {headers, body, answered}
let answer = [];       // what to answer next, in order: a status, or 'hang'; then 200
let onRequest = null;  // called with each request

before(async () => {
  redis = await startRedis();
  emulator = await startEmulator(['--generate-users', '6', '--random-seed', '5']);
  receiver = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const r = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered: null };
      seen.push(r);
      const next = answer.length ? answer.shift() : 200;
      if (onRequest) onRequest(r);
      if (next === 'hang') return;  // never answered: the worker is killed meanwhile
      r.answered = next;
      res.writeHead(next, { 'Content-Type': 'text/plain' });
      res.end(next === 200 ? 'ok' : 'no');
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
});

after(() => {
  receiver.closeAllConnections?.();
  receiver.close();
  stopAll();
});

function config(ns) {
  return writeConfig({
    redisUrl: redis.url, ns, endpoint: emulator.url,
    extra: `
[webhooks.hr]
url = "${hookUrl}"
secret = "${SECRET}"
events = ["succeeded", "failed", "dead"]
max_attempts = 4
timeout = "3s"
`,
  });
}

const verify = (r) => 'sha256=' + createHmac('sha256', SECRET).update(r.body).digest('hex') === r.headers['x-iamq-signature'];

test('a 503 is retried, the 200 ends it; the body is signed with HMAC-SHA256', async () => {
  seen.length = 0;
  answer = [503];
  const cfg = config('wh1');
  iamq(cfg, ['enqueue', 'offboard-user', '--user', 'user-00001', '--id', 'WH-1', '--notify', 'hr', '--meta', 'ticket=T-9']);
  await iamqAsync(cfg, ['worker', '--drain', '--metrics-listen', 'off']);  // drained = outbox empty too
  assert.equal(seen.length, 2, JSON.stringify(seen.map((r) => r.answered)));
  assert.deepEqual(seen.map((r) => r.answered), [503, 200]);
  for (const r of seen) {
    assert.ok(verify(r), 'X-Iamq-Signature is the HMAC-SHA256 of the body');
    assert.match(r.headers['x-iamq-timestamp'], /^\d{10}$/);
    assert.equal(r.headers['x-iamq-event'], 'succeeded');
    assert.equal(r.headers['content-type'], 'application/json');
  }
  assert.equal(seen[0].headers['x-iamq-delivery'], seen[1].headers['x-iamq-delivery'], 'one delivery id for every attempt');
  const body = JSON.parse(seen[1].body);
  assert.equal(body.id, 'WH-1');
  assert.equal(body.type, 'offboard_user');
  assert.equal(body.account, 'default');
  assert.equal(body.status, 'succeeded');
  assert.equal(body.outcome, 'done');
  assert.equal(body.error, '');
  assert.deepEqual(body.meta, { ticket: 'T-9' });
  // A wrong secret would not verify: the check above can fail.
  assert.notEqual('sha256=' + createHmac('sha256', 'other').update(seen[1].body).digest('hex'), seen[1].headers['x-iamq-signature']);
  const list = JSON.parse(iamq(cfg, ['webhooks', 'list', '--json']));
  assert.equal(list.outbox, 0);
  assert.equal(list.failed, 0);
});

test('a worker SIGKILLed during a delivery: the next worker delivers it', async () => {
  seen.length = 0;
  answer = ['hang'];
  const cfg = config('wh2');
  iamq(cfg, ['enqueue', 'offboard-user', '--user', 'user-00002', '--id', 'WH-2', '--notify', 'hr']);
  const first = new Promise((resolve) => { onRequest = resolve; });
  const { child } = await start(iamqBin, ['--config', cfg, 'worker', '--metrics-listen', 'off']);
  await first;  // the delivery is in flight, unanswered
  onRequest = null;
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  // The job is finished, the delivery is not: it waits in the outbox, pending.
  assert.match(redisCli(redis.port, ['HGET', 'wh2:job:WH-2', 'status']), /succeeded/);
  assert.equal(redisCli(redis.port, ['XLEN', 'wh2:outbox']).trim(), '1');
  // A new worker takes it over once the dead one's claim is idle (visibility_timeout 2s).
  await iamqAsync(cfg, ['worker', '--drain', '--metrics-listen', 'off']);
  assert.equal(seen.length, 2);
  assert.equal(seen[1].answered, 200);
  assert.equal(seen[0].headers['x-iamq-delivery'], seen[1].headers['x-iamq-delivery']);
  assert.ok(verify(seen[1]));
  assert.equal(JSON.parse(seen[1].body).id, 'WH-2');
  assert.equal(redisCli(redis.port, ['XLEN', 'wh2:outbox']).trim(), '0');
});

test('a 4xx is not retried: kept as failed, listed, and sent again by webhooks retry', async () => {
  seen.length = 0;
  answer = [400];
  const cfg = config('wh3');
  iamq(cfg, ['enqueue', 'offboard-user', '--user', 'user-00003', '--id', 'WH-3', '--notify', 'hr']);
  await iamqAsync(cfg, ['worker', '--drain', '--metrics-listen', 'off']);
  assert.deepEqual(seen.map((r) => r.answered), [400]);
  const text = iamq(cfg, ['webhooks', 'list']);
  assert.match(text, /failed 1/);
  assert.match(text, /WH-3/);
  assert.match(text, /HTTP 400/);
  assert.doesNotMatch(text, new RegExp(SECRET), 'the secret is never printed');
  assert.match(iamq(cfg, ['webhooks', 'retry', '--all']), /^1 delivery/);
  await iamqAsync(cfg, ['worker', '--drain', '--metrics-listen', 'off']);
  assert.deepEqual(seen.map((r) => r.answered), [400, 200]);
  assert.equal(JSON.parse(iamq(cfg, ['webhooks', 'list', '--json'])).failed, 0);
});

test('notify must name a configured webhook: enqueue refuses, the worker dead-letters a raw XADD', async () => {
  const cfg = config('wh4');
  assert.throws(() => execFileSync(iamqBin, ['--config', cfg, 'enqueue', 'offboard-user', '--user', 'bob', '--notify', 'nope'],
    { encoding: 'utf8', stdio: 'pipe' }), /names no webhook in the config/);
  redisCli(redis.port, ['XADD', 'wh4:jobs', '*', 'job', '{"id":"WH-4","type":"offboard_user","user_name":"bob","notify":"nope"}']);
  await iamqAsync(cfg, ['worker', '--drain', '--metrics-listen', 'off']);
  assert.match(redisCli(redis.port, ['HGET', 'wh4:job:WH-4', 'status']), /dead/);
  assert.match(redisCli(redis.port, ['HGET', 'wh4:job:WH-4', 'error']), /notify "nope" names no webhook/);
  // A URL can never come from the job: a job with one is refused outright.
  assert.throws(() => execFileSync(iamqBin, ['--config', cfg, 'enqueue', '--file', '-'],
    { input: '{"type":"offboard_user","user_name":"bob","notify":"http://evil.example/"}\n', encoding: 'utf8', stdio: 'pipe' }),
  /notify must be a webhook name/);
});
