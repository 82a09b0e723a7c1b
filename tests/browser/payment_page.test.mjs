// The payment page in a real browser: Debian's chromium, headless, driven by playwright-core, at a
// phone's width (375 px), against the API served locally (links-local, as scripts/dev serves it).
//
// Environment (scripts/test sets it): LINKS_API_URL (the local API, whose PAYMENT_BASE_URL is its
// own /pay), LINKS_TEST_KEY (a test secret key), BROWSER_ARTIFACTS (where screenshots go).
//
// Run: node --test tests/browser/

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// playwright-core and axe-core are pinned in scripts/package.json, beside DynamoDB Local.
const require = createRequire(new URL('../../scripts/package.json', import.meta.url));
const { chromium } = require('playwright-core');
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const api = required('LINKS_API_URL').replace(/\/$/, '');
const key = required('LINKS_TEST_KEY');
const artifacts = process.env.BROWSER_ARTIFACTS || 'target/browser';
mkdirSync(artifacts, { recursive: true });

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
}

const auth = { Authorization: 'Basic ' + Buffer.from(key + ':').toString('base64') };

async function createLink(params) {
  const response = await fetch(`${api}/links`, {
    method: 'POST',
    headers: { ...auth, 'Content-Type': 'application/json' },
    body: JSON.stringify(params),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text);
}

async function getLink(id) {
  const response = await fetch(`${api}/links/${id}`, { headers: auth });
  assert.equal(response.status, 200);
  return response.json();
}

let userDataDir;
let context;

before(async () => {
  userDataDir = mkdtempSync(join(tmpdir(), 'links-chromium-'));
  // As root, chromium needs --no-sandbox; the networking flags stop it reaching outside hosts.
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
  console.log(`chromium ${context.browser()?.version() ?? '(persistent context)'}`);
});

after(async () => {
  await context?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

/// A fresh page in `locale`, recording every request it makes and every console error (a CSP
/// violation is one).
async function openPage(locale) {
  const page = await context.newPage();
  await page.setExtraHTTPHeaders({ 'Accept-Language': locale });
  const seen = { requests: [], errors: [] };
  page.on('request', (r) => seen.requests.push(r.url()));
  // Chromium also logs each 4xx page it shows as an error; those are expected here.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource: the server responded')) {
      seen.errors.push(m.text());
    }
  });
  page.on('pageerror', (e) => seen.errors.push(String(e)));
  return { page, seen };
}

/// axe-core's verdict on the page as it is: no serious or critical violation. Evaluated through
/// the DevTools protocol, which the page's CSP does not govern (the page itself runs no script).
async function assertAccessible(page, label) {
  await page.evaluate(AXE);
  const results = await page.evaluate(() => globalThis.axe.run(document, { resultTypes: ['violations'] }));
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`),
    [],
    `${label}: accessibility violations`,
  );
}

async function shot(page, name) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
}

async function fillCard(page, number) {
  await page.fill('#name', 'สมชาย ใจดี');
  await page.fill('#number', number);
  await page.fill('#expiration_month', '12');
  await page.fill('#expiration_year', '2031');
  await page.fill('#security_code', '123');
}

test('a buyer pays a link in Thai and in English on a phone, and it is paid once', async () => {
  const title = 'ข้าวมันไก่ <b>2</b> กล่อง & "น้ำ"';
  const link = await createLink({
    amount: 123400,
    currency: 'thb',
    title,
    description: 'ส่งฟรีในซอย\nโทร 081-234-5678',
  });
  const uri = link.payment_uri;
  const origin = new URL(uri).origin;

  // Thai, from Accept-Language.
  const { page, seen } = await openPage('th-TH,th;q=0.9');
  const shown = await page.goto(uri);
  assert.equal(shown.status(), 200);
  assert.equal(await page.getAttribute('html', 'lang'), 'th');
  assert.equal(await page.textContent('h1'), title, 'the title exactly as stored, not as HTML');
  assert.equal(await page.locator('h1 b').count(), 0);
  assert.match(await page.textContent('.desc'), /ส่งฟรีในซอย\nโทร 081-234-5678/);
  assert.match(await page.textContent('button[type=submit]'), /ชำระเงิน ฿1,234\.00/);
  assert.equal(await page.locator('.qr svg').count(), 1, 'the QR code');
  // The hashed inline stylesheet applied (a wrong hash would leave the button unstyled).
  const background = await page.$eval('button[type=submit]', (b) => getComputedStyle(b).backgroundColor);
  assert.equal(background, 'rgb(29, 78, 216)');
  // Mobile-first: nothing wider than the phone.
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `the page is ${width}px wide`);
  await shot(page, '1-payable-th');
  await assertAccessible(page, 'payable (th)');

  // Switched to English on the page.
  await page.click('a[hreflang=en]');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.match(await page.textContent('button[type=submit]'), /Pay ฿1,234\.00/);
  await shot(page, '2-payable-en');

  // A declined card: its reason, and the link stays payable.
  await fillCard(page, '4111 1111 1114 0011');
  const [declined] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  assert.equal(declined.status(), 402);
  assert.match(await page.textContent('main'), /Payment failed/);
  assert.match(await page.textContent('main'), /not enough funds/);
  assert.equal(await page.inputValue('#number'), '', 'the number is never sent back');
  assert.equal(await page.inputValue('#security_code'), '');
  assert.equal((await getLink(link.id)).used, false);
  await shot(page, '3-declined-en');
  await assertAccessible(page, 'declined (en)');

  // Invalid details are shown beside their fields.
  await page.fill('#number', '4242 4242 4242 4241');
  await page.fill('#security_code', '1');
  const [invalid] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  assert.equal(invalid.status(), 422);
  assert.equal(await page.getAttribute('#number', 'aria-invalid'), 'true');
  assert.match(await page.textContent('#number-error'), /not valid/);
  await shot(page, '4-invalid-en');
  await assertAccessible(page, 'invalid (en)');

  // A good card: the receipt.
  await fillCard(page, '4242 4242 4242 4242');
  const [paid] = await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  assert.equal(paid.status(), 200);
  assert.match(await page.textContent('main'), /Payment successful/);
  assert.match(await page.textContent('main'), /Visa •••• 4242/);
  const receiptCharge = (await page.textContent('main')).match(/chrg_test_[0-9a-z]+/)[0];
  await shot(page, '5-receipt-en');
  await assertAccessible(page, 'receipt (en)');

  // Reloading the receipt submits the same form again: the same receipt, no second charge.
  const reloaded = await page.reload();
  assert.equal(reloaded.status(), 200);
  assert.match(await page.textContent('main'), new RegExp(receiptCharge));

  // Opening the link again: already paid, in Thai.
  const { page: again, seen: seenAgain } = await openPage('th');
  await again.goto(uri);
  assert.match(await again.textContent('main'), /ลิงก์นี้ชำระเงินแล้ว/);
  assert.equal(await again.locator('#number').count(), 0, 'no form on a paid link');
  await shot(again, '6-paid-th');
  await assertAccessible(again, 'paid (th)');

  const after = await getLink(link.id);
  assert.equal(after.used, true);
  assert.equal(after.charges.total, 2, 'one declined, one successful');
  assert.equal(after.charges.data[1].id, receiptCharge);
  assert.equal(after.charges.data[1].card.name, 'สมชาย ใจดี');

  // Nothing but the service itself was ever asked for anything, and nothing broke its policy.
  for (const { requests, errors } of [seen, seenAgain]) {
    assert.deepEqual(requests.filter((u) => new URL(u).origin !== origin), []);
    assert.deepEqual(errors, []);
  }
  await page.close();
  await again.close();
});

test('a destroyed link and an unknown token each have their own page', async () => {
  const link = await createLink({ amount: 5000, currency: 'thb', title: 'withdrawn', description: 'x' });
  const destroyed = await fetch(`${api}/links/${link.id}`, { method: 'DELETE', headers: auth });
  assert.equal(destroyed.status, 200);
  const { page } = await openPage('en');
  const gone = await page.goto(link.payment_uri);
  assert.equal(gone.status(), 410);
  assert.match(await page.textContent('main'), /no longer available/);
  await shot(page, '7-destroyed-en');
  await assertAccessible(page, 'destroyed (en)');
  const unknown = await page.goto(new URL('/pay/0000000000000000000', link.payment_uri).href);
  assert.equal(unknown.status(), 404);
  assert.match(await page.textContent('main'), /Payment link not found/);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  await shot(page, '8-unknown-en');
  await assertAccessible(page, 'unknown (en)');
  await page.close();
});
