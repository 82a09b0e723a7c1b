// The payment page in a real browser: Debian's chromium, headless, driven by playwright-core, at a
// phone's width (375 px), against the API served locally (links-local, as scripts/dev serves it).
//
// Environment (scripts/test sets it): LINKS_API_URL (the local API, whose PAYMENT_BASE_URL is its
// own /pay), LINKS_TEST_KEY (a test secret key), LINKS_3DS_TEST_KEY (a test key of an account
// whose card payments go through 3-D Secure), BROWSER_ARTIFACTS (where screenshots go).
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
const secureKey = required('LINKS_3DS_TEST_KEY');
const artifacts = process.env.BROWSER_ARTIFACTS || 'target/browser';
mkdirSync(artifacts, { recursive: true });

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set`);
  return value;
}

const authOf = (k) => ({ Authorization: 'Basic ' + Buffer.from(k + ':').toString('base64') });
const auth = authOf(key);

async function createLink(params, as = key) {
  const response = await fetch(`${api}/links`, {
    method: 'POST',
    headers: { ...authOf(as), 'Content-Type': 'application/json' },
    body: JSON.stringify(params),
  });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text);
}

async function getLink(id, as = key) {
  const response = await fetch(`${api}/links/${id}`, { headers: authOf(as) });
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
  assert.match(await page.textContent('#card button[type=submit]'), /ชำระเงิน ฿1,234\.00/);
  assert.equal(await page.locator('.qr svg').count(), 1, 'the QR code');
  // The hashed inline stylesheet applied (a wrong hash would leave the button unstyled).
  const background = await page.$eval('#card button[type=submit]', (b) => getComputedStyle(b).backgroundColor);
  assert.equal(background, 'rgb(29, 78, 216)');
  // Mobile-first: nothing wider than the phone.
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `the page is ${width}px wide`);
  await shot(page, '1-payable-th');
  await assertAccessible(page, 'payable (th)');

  // Switched to English on the page.
  await page.click('a[hreflang=en]');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.match(await page.textContent('#card button[type=submit]'), /Pay ฿1,234\.00/);
  await shot(page, '2-payable-en');

  // A declined card: its reason, and the link stays payable.
  await fillCard(page, '4111 1111 1114 0011');
  const [declined] = await Promise.all([page.waitForNavigation(), page.click('#card button[type=submit]')]);
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
  const [invalid] = await Promise.all([page.waitForNavigation(), page.click('#card button[type=submit]')]);
  assert.equal(invalid.status(), 422);
  assert.equal(await page.getAttribute('#number', 'aria-invalid'), 'true');
  assert.match(await page.textContent('#number-error'), /not valid/);
  await shot(page, '4-invalid-en');
  await assertAccessible(page, 'invalid (en)');

  // A good card: the receipt.
  await fillCard(page, '4242 4242 4242 4242');
  const [paid] = await Promise.all([page.waitForNavigation(), page.click('#card button[type=submit]')]);
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

test('a merchant\'s way back is offered on the receipt, and an expired link says so', async () => {
  const later = new Date(Date.now() + 3600_000).toISOString();
  const link = await createLink({
    amount: 25000, currency: 'thb', title: 'ชุดของขวัญ', description: 'ห่อของขวัญ',
    expires_at: later, after_payment_uri: 'https://shop.example/orders/1042?from=line',
  });
  assert.equal(link.after_payment_uri, 'https://shop.example/orders/1042?from=line');
  const { page, seen } = await openPage('th-TH,th;q=0.9');
  await page.goto(link.payment_uri);
  assert.equal(await page.locator('a[href*="shop.example"]').count(), 0, 'not offered before paying');
  const paid = await submitCard(page, '4242 4242 4242 4242');
  assert.equal(paid.status(), 200);
  const back = page.locator('a.button[href^="https://shop.example/orders/1042?from=line&charge=chrg_test_"]');
  assert.equal(await back.count(), 1);
  assert.match(await back.textContent(), /กลับไปที่ร้านค้า \(shop\.example\)/);
  assert.match(await page.textContent('main'), /ชำระด้วย/);
  await shot(page, '17-receipt-way-back-th');
  await assertAccessible(page, 'receipt with the way back (th)');
  assert.ok(!seen.requests.some((u) => u.includes('shop.example')), 'nothing went there by itself');

  const soon = await createLink({
    amount: 9900, currency: 'thb', title: 'Flash sale', description: 'Ends in a moment',
    expires_at: new Date(Date.now() + 2000).toISOString(),
  });
  await new Promise((r) => setTimeout(r, 3000));
  const { page: en, seen: seenEn } = await openPage('en');
  const expired = await en.goto(soon.payment_uri);
  assert.equal(expired.status(), 410);
  assert.match(await en.textContent('main'), /This link has expired/);
  assert.equal(await en.locator('form').count(), 0);
  await shot(en, '18-expired-en');
  await assertAccessible(en, 'expired (en)');
  assert.deepEqual([...seen.errors, ...seenEn.errors], []);
  await page.close();
  await en.close();
});

test('a link limited to one payment: the receipt in Bangkok time, then all its payments taken', async () => {
  const link = await createLink({
    amount: 120000, currency: 'thb', title: 'บัตรคอนเสิร์ต', description: 'ที่นั่งสุดท้าย',
    multiple: true, usage_limit: 1, metadata: { order_id: 'A-1042' },
  });
  assert.equal(link.usage_limit, 1);
  assert.deepEqual(link.metadata, { order_id: 'A-1042' });
  const { page, seen } = await openPage('th-TH,th;q=0.9');
  await page.goto(link.payment_uri);
  const paid = await submitCard(page, '4242 4242 4242 4242');
  assert.equal(paid.status(), 200);
  // The receipt's time is the account's zone's (Bangkok unless set), labelled; the API keeps UTC.
  const main = await page.textContent('main');
  const [, shown] = main.match(/(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) \(Asia\/Bangkok, UTC\+07:00\)/) ?? [];
  assert.ok(shown, main);
  const charge = (await getLink(link.id)).charges.data[0];
  assert.match(charge.created, /Z$/);
  const bangkok = new Date(Date.parse(charge.created) + 7 * 3600_000).toISOString().slice(0, 16).replace('T', ' ');
  assert.equal(shown, bangkok);
  assert.deepEqual(charge.metadata, { order_id: 'A-1042' });
  await shot(page, '19-receipt-bangkok-time-th');

  const { page: en, seen: seenEn } = await openPage('en');
  const full = await en.goto(link.payment_uri);
  assert.equal(full.status(), 200);
  assert.match(await en.textContent('main'), /This link has taken all its payments/);
  assert.match(await en.textContent('main'), /The merchant's limit for this link, 1, has been reached/);
  assert.equal(await en.locator('form').count(), 0);
  await shot(en, '20-used-up-en');
  await assertAccessible(en, 'used up (en)');
  assert.deepEqual([...seen.errors, ...seenEn.errors], []);
  await page.close();
  await en.close();
});

/// The buyer's card form submitted, waiting for wherever it leads.
async function submitCard(page, number) {
  await fillCard(page, number);
  const [answer] = await Promise.all([page.waitForNavigation(), page.click('#card button[type=submit]')]);
  return answer;
}

test('a 3-D Secure payment goes to the bank and back, in Thai and in English', async () => {
  const link = await createLink(
    { amount: 89000, currency: 'thb', title: 'รองเท้าวิ่ง', description: 'ไซส์ 42' },
    secureKey,
  );
  const origin = new URL(link.payment_uri).origin;

  // Thai: card, the stand-in bank page, authenticated, the receipt.
  const { page, seen } = await openPage('th-TH,th;q=0.9');
  await page.goto(link.payment_uri);
  const atBank = await submitCard(page, '4242 4242 4242 4242');
  assert.equal(atBank.status(), 200);
  assert.match(page.url(), /\/authorize\?payment=pchg_test_/);
  assert.equal(await page.getAttribute('html', 'lang'), 'th');
  assert.match(await page.textContent('main'), /3-D Secure/);
  assert.match(await page.textContent('main'), /Visa •••• 4242/);
  await shot(page, '9-3ds-bank-th');
  await assertAccessible(page, '3-D Secure bank page (th)');
  const [back] = await Promise.all([page.waitForNavigation(), page.click('button[value=authenticate]')]);
  assert.equal(back.status(), 200);
  assert.match(page.url(), /\/complete\?attempt=/);
  assert.match(await page.textContent('main'), /ชำระเงินสำเร็จ/);
  await shot(page, '10-3ds-receipt-th');
  await assertAccessible(page, '3-D Secure receipt (th)');
  assert.equal((await getLink(link.id, secureKey)).used, true);

  // English: failed at the bank, the decline, then paid again.
  const second = await createLink(
    { amount: 45000, currency: 'thb', title: 'Running socks', description: 'Two pairs' },
    secureKey,
  );
  const { page: en, seen: seenEn } = await openPage('en');
  await en.goto(second.payment_uri);
  await submitCard(en, '4242 4242 4242 4242');
  await shot(en, '11-3ds-bank-en');
  await assertAccessible(en, '3-D Secure bank page (en)');
  const [failed] = await Promise.all([en.waitForNavigation(), en.click('button[value=fail]')]);
  assert.equal(failed.status(), 200);
  assert.match(await en.textContent('main'), /Payment failed/);
  assert.match(await en.textContent('main'), /bank rejected this payment/);
  await shot(en, '12-3ds-declined-en');
  await assertAccessible(en, '3-D Secure declined (en)');
  await submitCard(en, '4242 4242 4242 4242');
  const [paid] = await Promise.all([en.waitForNavigation(), en.click('button[value=authenticate]')]);
  assert.equal(paid.status(), 200);
  assert.match(await en.textContent('main'), /Payment successful/);
  await shot(en, '13-3ds-receipt-en');
  const after = await getLink(second.id, secureKey);
  assert.equal(after.used, true);
  assert.deepEqual(after.charges.data.map((c) => c.status), ['failed', 'successful']);

  for (const { requests, errors } of [seen, seenEn]) {
    assert.deepEqual(requests.filter((u) => new URL(u).origin !== origin), []);
    assert.deepEqual(errors, []);
  }
  await page.close();
  await en.close();
});

test('a PromptPay payment shows its QR code and the receipt once it is marked paid', async () => {
  const link = await createLink({ amount: 35000, currency: 'thb', title: 'ชาไทย 10 แก้ว', description: 'พร้อมเพย์' });
  const origin = new URL(link.payment_uri).origin;
  const { page, seen } = await openPage('en');
  await page.goto(link.payment_uri);
  const [waiting] = await Promise.all([page.waitForNavigation(), page.click('#promptpay button[type=submit]')]);
  assert.equal(waiting.status(), 200);
  assert.match(page.url(), /\/complete\?attempt=/);
  assert.match(await page.textContent('main'), /Scan to pay with PromptPay/);
  assert.match(await page.textContent('main'), /฿350\.00/);
  assert.equal(await page.locator('.qr svg').count(), 1, 'the QR code, inline');
  // It refreshes itself (an HTTP Refresh header: no script), and says how to stop that.
  assert.equal(waiting.headers()['refresh'], '5');
  assert.equal(await page.locator('a[href*="refresh=off"]').count(), 1);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375, `the page is ${width}px wide`);
  await shot(page, '14-promptpay-qr-en');
  await assertAccessible(page, 'PromptPay QR (en)');

  // The same page in Thai, as a Thai buyer sees it.
  const { page: th } = await openPage('th');
  await th.goto(page.url().replace('lang=en', 'lang=th'));
  assert.equal(await th.getAttribute('html', 'lang'), 'th');
  assert.match(await th.textContent('main'), /สแกนเพื่อชำระด้วยพร้อมเพย์/);
  await shot(th, '15-promptpay-qr-th');
  await assertAccessible(th, 'PromptPay QR (th)');
  await th.close();

  // Paid, as the bank would tell the processor: the page refreshes by itself into the receipt.
  const charges = await (await fetch(`${api}/links/${link.id}/charges`, { headers: auth })).json();
  const charge = charges.data[0];
  assert.equal(charge.status, 'pending');
  const marked = await fetch(`${api}/charges/${charge.id}/mark_as_paid`, { method: 'POST', headers: auth });
  assert.equal(marked.status, 200);
  await page.waitForFunction(() => /Payment successful/.test(document.body.textContent), null, { timeout: 15000 });
  assert.match(await page.textContent('main'), /PromptPay/);
  assert.equal(await page.locator('a[href*="refresh=off"]').count(), 0, 'nothing left to wait for');
  await shot(page, '16-promptpay-receipt-en');
  await assertAccessible(page, 'PromptPay receipt (en)');
  assert.equal((await getLink(link.id)).used, true);
  assert.deepEqual(seen.requests.filter((u) => new URL(u).origin !== origin), []);
  assert.deepEqual(seen.errors, []);
  await page.close();
});
