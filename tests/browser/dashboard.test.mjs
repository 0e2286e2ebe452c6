// The dashboard in a real browser: Debian's chromium (headless) driven by playwright-core,
// against a real redis-server, iamq-emulator, `iamq worker` and `iamq dashboard`.
// Screenshots are kept under <build>/tests/browser/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import {
  startRedis, startEmulator, writeConfig, iamq, redisCli, start, stopAll, artifactDir, iamqBin,
} from './harness.mjs';

const TOKEN = 'browser-test-token-0123456789abcdef';
const XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
const shots = artifactDir('screenshots');
let redis, emulator, config, dashboard, base, browser, context;

async function startDashboard(args) {
  const { child, match } = await start(iamqBin, ['--config', config, 'dashboard', '--listen', '127.0.0.1:0', ...args],
    { ready: /dashboard listening on (\S+)/ });
  return { child, url: match[1].replace(/\/$/, '') };
}

before(async () => {
  redis = await startRedis();
  emulator = await startEmulator(['--generate-users', '5', '--random-seed', '3']);
  config = writeConfig({ redisUrl: redis.url, ns: 'dash', endpoint: emulator.url });
  // Jobs with real step logs: three offboardings run by the worker, one with hostile meta.
  iamq(config, ['enqueue', 'offboard-user', '--user', 'user-00001', '--id', 'HR-1']);
  iamq(config, ['enqueue', 'offboard-user', '--user', 'user-00002', '--id', 'HR-2']);
  iamq(config, ['enqueue', '--file', '-'],
    JSON.stringify({ id: 'XSS-1', type: 'offboard_user', user_name: 'user-00003', meta: { note: XSS } }) + '\n');
  iamq(config, ['worker', '--drain', '--metrics-listen', 'off']);
  // Dead letters: a job for an account the config does not have (retryable once the config is
  // fixed), and a malformed job (invalid: never retried), both pushed straight into the stream.
  redisCli(redis.port, ['XADD', 'dash:jobs', '*', 'job', '{"id":"BAD-1","type":"offboard_user","user_name":"ghost","account":"nowhere"}']);
  redisCli(redis.port, ['XADD', 'dash:jobs', '*', 'job', '{"id":"BAD-2","type":"offboard_user","user_name":"no spaces allowed"}']);
  iamq(config, ['worker', '--drain', '--metrics-listen', 'off']);
  dashboard = await startDashboard(['--token', TOKEN]);
  base = dashboard.url;
  browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'iamq-chromium-')), {
    executablePath: process.env.IAMQ_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  context = browser;
});

after(async () => {
  if (browser) await browser.close();
  stopAll();
});

/// Logs in (the browser profile keeps the session cookie, so later tests are logged in already).
async function login(page) {
  await page.goto(base + '/');
  if (!/\/login$/.test(page.url())) return;
  await page.fill('input[name=token]', TOKEN);
  await Promise.all([page.waitForURL(base + '/'), page.click('button[type=submit]')]);
}

test('login refuses a wrong token, then the overview renders counts, accounts, consumers and the chart', async () => {
  const page = await context.newPage();
  const csp = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) csp.push(m.text()); });
  await page.goto(base + '/');
  assert.match(page.url(), /\/login$/, 'an unauthenticated visitor is sent to the login page');
  await page.fill('input[name=token]', 'wrong-token-wrong-token');
  await page.click('button[type=submit]');
  await page.waitForSelector('.error');
  assert.match(await page.textContent('.error'), /wrong token/);
  await login(page);
  assert.equal(await page.textContent('[data-count=succeeded]'), '3');
  assert.equal(await page.textContent('[data-count=dead]'), '2');
  assert.match(await page.textContent('table.accounts'), /default/);
  // uPlot draws into a canvas once /api/overview has answered.
  await page.waitForSelector('#chart canvas');
  await page.waitForSelector('#live.on');
  assert.match(await page.textContent('table.events'), /succeeded/);
  const res = await page.request.get(base + '/');
  assert.match(res.headers()['content-security-policy'], /script-src 'self'/);
  assert.doesNotMatch(await res.text(), new RegExp(TOKEN), 'the token is never rendered');
  await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });
  assert.deepEqual(csp, [], 'no Content-Security-Policy violation');
  await page.close();
});

test('jobs page: filter by status, search by user name and by id, link to the job', async () => {
  const page = await context.newPage();
  await login(page);
  await page.goto(base + '/jobs?status=succeeded');
  const rows = await page.$$eval('table.jobs tbody tr', (trs) => trs.map((tr) => tr.textContent));
  assert.equal(rows.length, 3, rows.join('\n'));
  await page.goto(base + '/jobs?status=dead');
  assert.match(await page.textContent('table.jobs tbody'), /BAD-1/);
  await page.fill('input[name=q]', 'user-00002');
  await page.selectOption('select[name=status]', '');
  await Promise.all([page.waitForNavigation(), page.click('.filters button')]);
  const found = await page.$$eval('table.jobs tbody tr', (trs) => trs.map((tr) => tr.textContent));
  assert.equal(found.length, 1);
  assert.match(found[0], /HR-2/);
  await page.goto(base + '/jobs?q=HR-1');
  await Promise.all([page.waitForNavigation(), page.click('table.jobs a[href="/jobs/HR-1"]')]);
  assert.match(await page.textContent('h1'), /HR-1/);
  await page.screenshot({ path: join(shots, 'jobs.png'), fullPage: true });
  await page.close();
});

test('job page: the record and the step log as a timeline; meta with HTML is shown as text', async () => {
  const page = await context.newPage();
  await login(page);
  await page.goto(base + '/jobs/XSS-1');
  const meta = await page.textContent('#meta');
  assert.equal(JSON.parse(meta).note, XSS, `meta shown as text: ${meta}`);
  assert.equal(await page.$('main img'), null, 'no <img> made from meta');
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'no script from meta ran');
  const steps = await page.$$eval('ol.timeline li', (lis) => lis.map((li) => li.textContent));
  assert.ok(steps.length >= 3, steps.join('\n'));
  assert.ok(steps.some((s) => /GetUser/.test(s) && /attempt 1/.test(s) && /HTTP 200/.test(s)), steps.join('\n'));
  assert.ok(steps.some((s) => /DeleteUser/.test(s)), steps.join('\n'));
  assert.match(await page.textContent('table.record'), /succeeded/);
  await page.screenshot({ path: join(shots, 'job.png'), fullPage: true });
  // The API gives the same job to a script with the token.
  const api = await page.request.get(base + '/api/jobs/XSS-1', { headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(api.status(), 200);
  const doc = await api.json();
  assert.equal(doc.record.job.meta.note, XSS);
  assert.ok(doc.steps.length >= 3);
  await page.close();
});

test('a live update arrives while the overview is open', async () => {
  const page = await context.newPage();
  await login(page);
  await page.waitForSelector('#live.on');
  assert.equal(await page.textContent('[data-count=queued]'), '0');
  iamq(config, ['enqueue', 'offboard-user', '--user', 'user-00004', '--id', 'LIVE-1']);
  await page.waitForFunction(() => document.querySelector('[data-count=queued]').textContent === '1',
    null, { timeout: 15000 });
  await page.waitForFunction(() => /LIVE-1/.test(document.getElementById('recent').textContent),
    null, { timeout: 15000 });
  await page.screenshot({ path: join(shots, 'overview-live.png'), fullPage: true });
  await page.close();
});

test('actions: refused without the token (401) and without the CSRF token (403), done with both', async () => {
  // No session, no token.
  const bare = await fetch(base + '/dead/BAD-1/retry', { method: 'POST' });
  assert.equal(bare.status, 401);
  const api = await fetch(base + '/api/jobs/BAD-1/retry', { method: 'POST' });
  assert.equal(api.status, 401);
  const wrong = await fetch(base + '/api/jobs/BAD-1/retry', { method: 'POST', headers: { Authorization: 'Bearer nope-nope-nope-nope' } });
  assert.equal(wrong.status, 401);
  const page = await context.newPage();
  await login(page);
  // A session without the CSRF token is refused.
  const noCsrf = await page.request.post(base + '/dead/BAD-1/retry', { form: { x: '1' } });
  assert.equal(noCsrf.status(), 403);
  const badCsrf = await page.request.post(base + '/dead/BAD-1/retry', { form: { csrf: 'f'.repeat(64) } });
  assert.equal(badCsrf.status(), 403);
  // The button on the dead-letters page carries it.
  await page.goto(base + '/dead');
  assert.match(await page.textContent('table.dead'), /BAD-1/);
  await page.screenshot({ path: join(shots, 'dead.png'), fullPage: true });
  await Promise.all([page.waitForNavigation(), page.click('table.dead form[action="/dead/BAD-1/retry"] button')]);
  assert.match(await page.textContent('main'), /BAD-1 is queued again/);
  // With the token, a script reads and acts on the API.
  const auth = { headers: { Authorization: `Bearer ${TOKEN}` } };
  const job = await (await fetch(base + '/api/jobs/BAD-1', auth)).json();
  assert.equal(job.record.status, 'queued');
  const again = await fetch(base + '/api/dead/BAD-1/retry', { method: 'POST', ...auth });
  assert.equal(again.status, 404, 'no longer a dead letter');
  const invalid = await fetch(base + '/api/dead/BAD-2/retry', { method: 'POST', ...auth });
  assert.equal(invalid.status, 409, 'an invalid letter is never retried');
  assert.match((await invalid.json()).error, /still invalid/);
  const ok = await fetch(base + '/api/dead/retry-all', { method: 'POST', ...auth });
  assert.equal(ok.status, 200);
  assert.match((await ok.json()).message, /^0 dead letter/);
  await page.close();
});

test('pause and resume an account, cancel a waiting job, retry only what can be retried', async () => {
  const auth = { headers: { Authorization: `Bearer ${TOKEN}` } };
  const post = (path) => fetch(base + path, { method: 'POST', ...auth });
  // A job no worker has taken yet: cancelling it makes no IAM call.
  iamq(config, ['enqueue', 'offboard-user', '--user', 'user-00004', '--id', 'WAIT-1']);
  const cancelled = await post('/api/jobs/WAIT-1/cancel');
  assert.equal(cancelled.status, 200, await cancelled.clone().text());
  assert.match((await cancelled.json()).message, /cancelled \(no IAM call made\)/);
  assert.equal((await (await fetch(base + '/api/jobs/WAIT-1', auth)).json()).record.status, 'cancelled');
  const ended = await post('/api/jobs/HR-1/cancel');
  assert.equal(ended.status, 409, 'a finished job cannot be cancelled');
  const notFailed = await post('/api/jobs/HR-1/retry');
  assert.equal(notFailed.status, 409, 'a succeeded job cannot be retried');
  assert.match((await notFailed.json()).error, /succeeded/);
  assert.equal((await post('/api/jobs/NOPE-1/cancel')).status, 404);

  // Pause by the API; the overview shows it and its Resume button lifts it.
  const paused = await post('/api/accounts/default/pause');
  assert.equal(paused.status, 200, await paused.clone().text());
  const ov = await (await fetch(base + '/api/overview', auth)).json();
  const acct = ov.accounts.find((a) => a.name === 'default');
  assert.equal(acct.paused, true);
  assert.equal(typeof acct.lane_depth, 'number');
  assert.equal(redisCli(redis.port, ['HEXISTS', 'dash:paused', 'default']).trim(), '1');
  const page = await context.newPage();
  await login(page);
  await page.goto(base + '/');
  const row = page.locator('table.accounts tbody tr', { hasText: 'default' });
  assert.match(await row.textContent(), /paused/);
  await page.screenshot({ path: join(shots, 'overview-paused.png'), fullPage: true });
  await Promise.all([page.waitForNavigation(), row.locator('form[action="/accounts/default/resume"] button').click()]);
  assert.match(await page.textContent('main'), /resumed/);
  assert.equal(redisCli(redis.port, ['HEXISTS', 'dash:paused', 'default']).trim(), '0');
  await page.close();

  // An account this config does not name (one a worker found through [organization], say) is
  // still listed once Redis knows it, with no limit of this config's to show.
  assert.equal((await post('/api/accounts/org-222222222222/pause')).status, 200);
  const ov2 = await (await fetch(base + '/api/overview', auth)).json();
  const other = ov2.accounts.find((a) => a.name === 'org-222222222222');
  assert.ok(other, JSON.stringify(ov2.accounts));
  assert.equal(other.paused, true);
  assert.equal(other.rate_limit, null);
  assert.equal((await post('/api/accounts/org-222222222222/resume')).status, 200);
  const ov3 = await (await fetch(base + '/api/overview', auth)).json();
  assert.ok(!ov3.accounts.some((a) => a.name === 'org-222222222222'), 'an unknown account with nothing left is not listed');
});

test('read-only mode refuses actions with 403 even with the token', async () => {
  const ro = await startDashboard(['--token', TOKEN, '--read-only']);
  const res = await fetch(ro.url + '/api/dead/retry-all', { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 403);
  assert.match((await res.json()).error, /read-only/);
  const read = await fetch(ro.url + '/api/counts', { headers: { Authorization: `Bearer ${TOKEN}` } });
  assert.equal(read.status, 200);
  ro.child.kill('SIGTERM');
});

test('bounded requests: an oversized body is refused with 413, a huge header with 431', async () => {
  const big = await fetch(base + '/login', { method: 'POST', body: 'token=' + 'a'.repeat(100000),
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(big.status, 413);
  const hdr = await fetch(base + '/', { headers: { 'X-Big': 'b'.repeat(20000) } });
  assert.equal(hdr.status, 431);
});

test('a fan-out parent lists its children, each linked to its own page', async () => {
  iamq(config, ['enqueue', 'offboard-user', '--user', 'user-00005', '--accounts', 'default', '--id', 'FAN-1']);
  iamq(config, ['worker', '--drain', '--metrics-listen', 'off']);
  const page = await context.newPage();
  await login(page);
  await page.goto(base + '/jobs/FAN-1');
  assert.match(await page.textContent('table.record'), /succeeded/);
  const row = page.locator('main table', { hasText: 'FAN-1/default' });
  assert.match(await row.textContent(), /succeeded/);
  await Promise.all([page.waitForNavigation(), row.locator('a', { hasText: 'FAN-1/default' }).click()]);
  assert.match(await page.textContent('h1'), /FAN-1\/default/);
  assert.ok((await page.$$('ol.timeline li')).length >= 1, 'the child has its own step log');
  const api = await (await fetch(base + '/api/jobs/FAN-1', { headers: { Authorization: `Bearer ${TOKEN}` } })).json();
  assert.equal(api.children.length, 1);
  assert.equal(api.children[0].id, 'FAN-1/default');
  await page.close();
});
