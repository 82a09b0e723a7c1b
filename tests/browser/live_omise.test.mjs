// Live payments through Omise in a real browser: Debian's chromium, headless, at a phone's width,
// against the API served locally with its live gateway at the Omise stand-in
// (tools/omise-standin/standin.py), whose omise.js tokenizes the card in the page.
//
// Environment (scripts/test sets it): LINKS_API_URL, LINKS_LIVE_KEY (a live key of an account
// paying through the stand-in, whose Omise account sends its signed webhooks to the service),
// OMISE_LIVE_SECRET_KEY (that Omise account's secret key at the stand-in, to steer its
// webhooks), LINKS_LIVE_3DS_KEY (the same, its Omise account asking for 3-D Secure),
// OMISE_STANDIN_URL, BROWSER_ARTIFACTS.
//
// Run: node --test tests/browser/

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const require = createRequire(new URL('../../scripts/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const api = required('LINKS_API_URL').replace(/\/$/, '');
const liveKey = required('LINKS_LIVE_KEY');
const secureKey = required('LINKS_LIVE_3DS_KEY');
const omiseSecretKey = required('OMISE_LIVE_SECRET_KEY');
const omise = required('OMISE_STANDIN_URL').replace(/\/$/, '');
const artifacts = process.env.BROWSER_ARTIFACTS || 'target/browser';
mkdirSync(artifacts, { recursive: true });

const CARD = '4242424242424242';

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
}

const authOf = (k) => ({ Authorization: 'Basic ' + Buffer.from(k + ':').toString('base64') });

async function createLink(params, as) {
  const response = await fetch(`${api}/links`, {
    method: 'POST',
    headers: { ...authOf(as), 'Content-Type': 'application/json' },
    body: JSON.stringify(params),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text);
}

async function getLink(id, as) {
  const response = await fetch(`${api}/links/${id}`, { headers: authOf(as) });
  assert.equal(response.status, 200);
  return response.json();
}

let userDataDir;
let context;

before(async () => {
  userDataDir = mkdtempSync(join(tmpdir(), 'links-chromium-live-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 375, height: 812 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
  });
});

after(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

/// A fresh page recording every request (with its body) and every console error.
async function openPage(locale) {
  const page = await context.newPage();
  await page.setExtraHTTPHeaders({ 'Accept-Language': locale });
  const seen = { requests: [], errors: [] };
  page.on('request', (r) => seen.requests.push({ url: r.url(), body: r.postData() || '' }));
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource: the server responded')) {
      seen.errors.push(m.text());
    }
  });
  page.on('pageerror', (e) => seen.errors.push(String(e)));
  return { page, seen };
}

async function assertAccessible(page, label) {
  // Through the DevTools protocol, which the page's policy does not govern.
  await page.evaluate(AXE);
  const results = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ['violations'] }));
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help}`), [], `${label}: accessibility violations`);
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

async function payByCard(page, number) {
  await page.fill('#name', 'สมชาย ใจดี');
  await page.fill('#number', number);
  await page.fill('#expiration_month', '12');
  await page.fill('#expiration_year', '2031');
  await page.fill('#security_code', '123');
  const [answer] = await Promise.all([page.waitForNavigation(), page.click('#card button[type=submit]')]);
  return answer;
}

/// What reached the service from the browser: no card number or security code in any of it.
function assertNoCardReachedTheService(seen, origin) {
  const toService = seen.requests.filter((r) => new URL(r.url).origin === origin);
  assert.ok(toService.some((r) => r.body.includes('omise_token=tokn_')), 'the token was posted');
  for (const { url, body } of toService) {
    assert.ok(!body.includes(CARD) && !body.includes('4111111111140011'), `a card number went to ${url}`);
    assert.ok(!/(^|&)(number|security_code)=/.test(body), `a card field went to ${url}: ${body}`);
  }
  // Everything else the page asked for was the stand-in's: its script and its vault.
  const elsewhere = seen.requests.filter((r) => new URL(r.url).origin !== origin);
  for (const { url } of elsewhere) assert.equal(new URL(url).origin, omise, url);
}

test('a live card is tokenized in the page by omise.js and paid; a decline is told', async () => {
  const link = await createLink({ amount: 150000, currency: 'thb', title: 'ข้าวมันไก่', description: 'สองกล่อง' }, liveKey);
  const origin = new URL(link.payment_uri).origin;
  const { page, seen } = await openPage('th-TH,th;q=0.9');
  const opened = await page.goto(link.payment_uri);
  const policy = opened.headers()['content-security-policy'];
  assert.match(policy, new RegExp(`script-src 'sha256-[^']+' ${omise};`));
  assert.equal(await page.locator('#number').getAttribute('name'), null);
  await shot(page, '20-live-card-th');
  await assertAccessible(page, 'live card form (th)');
  const paid = await payByCard(page, '4242 4242 4242 4242');
  assert.equal(paid.status(), 200);
  assert.match(await page.textContent('main'), /ชำระเงินสำเร็จ/);
  await shot(page, '21-live-receipt-th');
  await assertAccessible(page, 'live receipt (th)');
  const after = await getLink(link.id, liveKey);
  assert.equal(after.used, true);
  assert.deepEqual(after.charges.data.map((c) => [c.status, c.livemode, c.card.last_digits]), [['successful', true, '4242']]);
  assertNoCardReachedTheService(seen, origin);
  assert.deepEqual(seen.errors, []);

  const second = await createLink({ amount: 45000, currency: 'thb', title: 'Socks', description: 'Two pairs' }, liveKey);
  const { page: en, seen: seenEn } = await openPage('en');
  await en.goto(second.payment_uri);
  const declined = await payByCard(en, '4111 1111 1114 0011');
  assert.equal(declined.status(), 402);
  assert.match(await en.textContent('main'), /Payment failed/);
  await shot(en, '22-live-declined-en');
  await assertAccessible(en, 'live decline (en)');
  assertNoCardReachedTheService(seenEn, origin);
  assert.deepEqual(seenEn.errors, []);
  await page.close();
  await en.close();
});

test('a live 3-D Secure payment goes to Omise\'s page and back, read from Omise', async () => {
  const link = await createLink({ amount: 89000, currency: 'thb', title: 'Running shoes', description: 'Size 42' }, secureKey);
  const origin = new URL(link.payment_uri).origin;
  const { page, seen } = await openPage('en');
  await page.goto(link.payment_uri);
  const atBank = await payByCard(page, '4242 4242 4242 4242');
  assert.equal(atBank.status(), 200);
  assert.equal(new URL(page.url()).origin, omise, page.url());
  await shot(page, '23-live-3ds-bank-en');
  const [back] = await Promise.all([page.waitForNavigation(), page.click('button[value=pass]')]);
  assert.equal(back.status(), 200);
  assert.match(page.url(), /\/complete\?attempt=/);
  assert.match(await page.textContent('main'), /Payment successful/);
  await shot(page, '24-live-3ds-receipt-en');
  await assertAccessible(page, 'live 3-D Secure receipt (en)');
  assert.equal((await getLink(link.id, secureKey)).used, true);
  assertNoCardReachedTheService(seen, origin);
  assert.deepEqual(seen.errors, []);
  await page.close();
});

async function standin(path, body) {
  const response = await fetch(`${omise}/__standin${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text);
}

async function apiGet(path) {
  const response = await fetch(`${api}${path}`, { headers: authOf(liveKey) });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text);
}

/// Opens `link`'s page and chooses PromptPay: the page that waits, what it asked for from the
/// moment PromptPay was chosen, the charge as the service has it, and its id at Omise.
async function startPromptPay(link, locale) {
  const { page, seen } = await openPage(locale);
  await page.goto(link.payment_uri);
  const from = seen.requests.length;
  const [waiting] = await Promise.all([page.waitForNavigation(), page.click('#promptpay button[type=submit]')]);
  assert.equal(waiting.status(), 200);
  assert.match(page.url(), /\/complete\?attempt=/);
  const charges = await apiGet(`/links/${link.id}/charges`);
  assert.equal(charges.data.length, 1);
  const response = await fetch(`${omise}/__standin/charges?secret_key=${omiseSecretKey}`);
  const atOmise = (await response.json()).data.filter((c) => c.metadata.link === link.id);
  assert.equal(atOmise.length, 1);
  return { page, seen, asked: seen.requests.slice(from), charge: charges.data[0], omiseId: atOmise[0].id };
}

/// Waits until the service's own record of `id` (never asking Omise) is `status`.
async function recordedAs(id, status) {
  for (let i = 0; i < 100; i++) {
    const charge = await apiGet(`/charges/${id}`);
    if (charge.status === status) return charge;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`charge ${id} never became ${status}`);
}

/// The service's `charge.complete` events of charge `id`.
async function completions(id) {
  const events = await apiGet('/events?limit=100&order=reverse_chronological');
  return events.data.filter((e) => e.key === 'charge.complete' && e.data.id === id);
}

test('live PromptPay: Omise\'s QR redrawn in the page, paid at the bank, told by Omise\'s webhook twice', async () => {
  const link = await createLink({ amount: 35000, currency: 'thb', title: 'ชานมไข่มุก', description: 'หวานน้อย' }, liveKey);
  const origin = new URL(link.payment_uri).origin;
  const { page, seen, asked, charge, omiseId } = await startPromptPay(link, 'th-TH,th;q=0.9');
  assert.equal(charge.status, 'pending');
  assert.equal(charge.source.type, 'promptpay');

  // The code is Omise's image redrawn inline: shapes only, nothing of its script or text, and
  // nothing loaded from Omise.
  assert.equal(await page.locator('.qr svg[role=img] path').count(), 1);
  assert.equal(await page.locator('script, .qr text, .qr image').count(), 0);
  assert.ok(!(await page.content()).includes('STAND-IN'));
  assert.ok(asked.length > 0);
  for (const { url } of asked) assert.equal(new URL(url).origin, origin, url);
  await shot(page, '25-live-promptpay-qr-th');
  await assertAccessible(page, 'live PromptPay QR (th)');
  const waitingAt = page.url();
  // Closed, so that nothing but Omise's webhook can tell the service.
  await page.close();

  // The buyer's bank pays; Omise sends charge.complete twice.
  await standin('/webhooks', { secret_key: omiseSecretKey, mode: 'duplicate' });
  await standin('/scan', { charge: omiseId, paid: true });
  await recordedAs(charge.id, 'successful');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await completions(charge.id)).length, 1, 'the duplicate changed nothing');
  assert.equal((await getLink(link.id, liveKey)).used, true);

  const { page: back, seen: seenBack } = await openPage('th-TH,th;q=0.9');
  await back.goto(waitingAt);
  assert.match(await back.textContent('main'), /ชำระเงินสำเร็จ/);
  await shot(back, '26-live-promptpay-receipt-th');
  await assertAccessible(back, 'live PromptPay receipt (th)');
  assert.deepEqual([...seen.errors, ...seenBack.errors], []);
  await back.close();
  await standin('/webhooks', { secret_key: omiseSecretKey, mode: 'normal' });
});

test('live PromptPay: Omise\'s webhooks out of order settle each payment as Omise says', async () => {
  const paid = await createLink({ amount: 12000, currency: 'thb', title: 'Iced tea', description: 'Large' }, liveKey);
  const failed = await createLink({ amount: 9000, currency: 'thb', title: 'Coffee', description: 'Hot' }, liveKey);
  const first = await startPromptPay(paid, 'en');
  const second = await startPromptPay(failed, 'en');
  await first.page.close();
  await second.page.close();

  // The first notice is held back and sent after the second.
  await standin('/webhooks', { secret_key: omiseSecretKey, mode: 'reorder' });
  await standin('/scan', { charge: first.omiseId, paid: true });
  await standin('/scan', { charge: second.omiseId, paid: false });
  await recordedAs(first.charge.id, 'successful');
  const declined = await recordedAs(second.charge.id, 'failed');
  assert.equal(declined.failure_code, 'failed_processing');
  assert.equal(await standin('/webhooks/flush', {}).then((r) => r.sent), 0, 'nothing left held');
  assert.equal((await getLink(paid.id, liveKey)).used, true);
  assert.equal((await getLink(failed.id, liveKey)).used, false, 'a failed PromptPay payment leaves the link payable');
  await standin('/webhooks', { secret_key: omiseSecretKey, mode: 'normal' });
});
