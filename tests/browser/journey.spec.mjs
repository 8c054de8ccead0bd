// The hosted journey in headless Chromium (Debian's /usr/bin/chromium through playwright-core),
// run by tests/browser.rs against the real local server. Environment:
//   TI_BASE          the server's base URL
//   TI_API_KEY       a tenant's API key (tenant branded "Acme Bank", redirect origin below)
//   TI_TENANT_ID     its id (the result token's audience)
//   TI_REDIRECT      an allowed redirect URL; requests to its origin are answered here
//   TI_EXPIRED_URL   the journey URL of a session already past its expiry
//   TI_SCREENSHOTS   where to save screenshots (390x844 and 1280x800 of every page)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { writeY4m } from './camera.mjs';

const env = (name) => {
  const v = process.env[name];
  assert.ok(v, `${name} must be set (run through tests/browser.rs)`);
  return v;
};
const BASE = env('TI_BASE');
const API_KEY = env('TI_API_KEY');
const TENANT_ID = env('TI_TENANT_ID');
const REDIRECT = env('TI_REDIRECT');
const EXPIRED_URL = env('TI_EXPIRED_URL');
const SHOTS = env('TI_SCREENSHOTS');
const REDIRECT_ORIGIN = new URL(REDIRECT).origin;
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const MAX_PAGE_BYTES = 150 * 1024;
const LOGO = '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="32"><rect width="120" height="32" rx="6" fill="#0a5cff"/></svg>';

let browser;
const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', BASE));

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'ti-browser-'));
  const video = writeY4m(join(work, 'camera.y4m'));
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // playwright-core gives every launch a fresh, temporary --user-data-dir.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${video}`],
  });
});

// Bounded: a browser that never answers its close must not hold the run open (playwright
// kills the process it launched when node exits).
after(async () => {
  await Promise.race([browser?.close(), new Promise((r) => setTimeout(r, 30000).unref())]);
}, { timeout: 40000 });

async function createSession(body) {
  const res = await fetch(new URL('/identity', BASE), {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ reference: 'browser', redirect_url: REDIRECT, first_name: 'Jane', last_name: 'Smith', birth_date: '1990-01-31', ...body }),
  });
  const json = await res.json();
  assert.equal(res.status, 201, JSON.stringify(json));
  return json;
}

// A browser context whose requests to the customer's origin are answered here: its logo,
// and the page the journey ends on (whose URL carries the token).
async function context(kind) {
  const options = kind === 'phone'
    ? { viewport: PHONE, isMobile: true, hasTouch: true, userAgent: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Mobile Safari/537.36' }
    : { viewport: DESKTOP };
  const ctx = await browser.newContext(options);
  await ctx.grantPermissions(['camera'], { origin: BASE });
  const landed = [];
  await ctx.route(`${REDIRECT_ORIGIN}/**`, (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/logo.svg') return route.fulfill({ contentType: 'image/svg+xml', body: LOGO });
    landed.push(url);
    return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>Back at Acme</title><h1>Back at Acme</h1>' });
  });
  return { ctx, landed };
}

// Watches one page: console errors, and the bytes of each page load (document, scripts,
// styles, our images; not the user's photos, which are blob: URLs, nor API calls).
// `allowed` lists HTTP statuses whose "Failed to load resource" lines are expected (a 410
// page, a deliberate 400 from the details API): Chromium logs every 4xx as a console error.
function watch(page, allowed = []) {
  const errors = [];
  const weight = { bytes: 0 };
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const expected = allowed.some((s) => m.text().includes(`status of ${s} `));
    if (!expected) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) weight.bytes = 0; });
  page.on('response', async (res) => {
    const type = res.request().resourceType();
    if (!['document', 'script', 'stylesheet', 'image', 'font'].includes(type) || res.url().startsWith('blob:')) return;
    if (new URL(res.url()).origin !== new URL(BASE).origin) return;
    try { weight.bytes += (await res.body()).length; } catch (_) { /* redirects have no body */ }
  });
  return { errors, weight, allowed };
}

// Screenshots at both sizes, and the checks every page must pass.
async function snap(page, watcher, name) {
  await page.waitForLoadState('load');
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.type !== 'hidden')
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
    .map((el) => el.outerHTML));
  assert.deepEqual(unlabelled, [], `${name}: every input has a label`);
  assert.ok(watcher.weight.bytes < MAX_PAGE_BYTES, `${name}: page weighs ${watcher.weight.bytes} bytes`);
  assert.deepEqual(watcher.errors, [], `${name}: no console errors`);
  const original = page.viewportSize();
  for (const [label, size] of [['390x844', PHONE], ['1280x800', DESKTOP]]) {
    await page.setViewportSize(size);
    await page.screenshot({ path: join(SHOTS, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(original);
}

const heading = (page, name) => page.getByRole('heading', { level: 1, name }).waitFor({ timeout: 30000 });

async function takePhoto(page, watcher, title, name) {
  await heading(page, title);
  const take = page.getByRole('button', { name: 'Take photo' });
  await take.and(page.locator(':enabled')).waitFor({ timeout: 20000 });
  await snap(page, watcher, `${name}-camera`);
  await take.click();
  await page.getByRole('img', { name: 'The photo you took' }).waitFor();
  await snap(page, watcher, `${name}-preview`);
  await page.getByRole('button', { name: 'Use this photo' }).click();
}

// Welcome → document (licence, both sides) → selfie and poses → details (if asked) → review.
async function completeOnPhone(page, watcher, { details, prefix, retake = false }) {
  await heading(page, /Verify your identity with Acme Bank/);
  await snap(page, watcher, `${prefix}welcome`);
  await page.getByRole('button', { name: 'Start' }).click();
  const error = page.getByText('Tick the box to agree before you start.');
  await error.waitFor();
  await snap(page, watcher, `${prefix}welcome-consent-error`);
  await page.getByLabel(/I agree that Acme Bank may check my identity/).check();
  await page.getByRole('button', { name: 'Start' }).click();

  await heading(page, 'Your photo ID');
  await snap(page, watcher, `${prefix}document-type`);
  await page.getByLabel('Driver licence').check();
  await page.getByRole('button', { name: 'Continue' }).click();
  if (retake) {
    // A photo from the native camera input that fails the quality gate: the page says why
    // in words and asks again.
    await heading(page, 'Front of your driver licence');
    await page.getByLabel('Take or choose a photo').setInputFiles({ name: 'dark.png', mimeType: 'image/png', buffer: darkPhoto() });
    await page.getByRole('button', { name: 'Use this photo' }).click();
    await page.getByText('We need another photo: the photo is too dark. Find more light.').waitFor({ timeout: 30000 });
    await snap(page, watcher, `${prefix}document-front-rejected`);
  }
  await takePhoto(page, watcher, 'Front of your driver licence', `${prefix}document-front`);
  await takePhoto(page, watcher, 'Back of your driver licence', `${prefix}document-back`);

  await heading(page, 'Selfie');
  const start = page.getByRole('button', { name: 'Start the selfie' });
  await start.and(page.locator(':enabled')).waitFor({ timeout: 20000 });
  await snap(page, watcher, `${prefix}selfie`);
  await start.click();
  await page.getByText(/Photo 3 of 3/).waitFor({ timeout: 20000 });

  if (details) {
    await heading(page, 'Your details');
    assert.equal(await page.getByLabel('Document type').inputValue(), 'driverslicence', 'the document chosen is pre-selected');
    await page.getByLabel('Document number').fill('12345678');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText('Choose your state or territory that issued the licence.').waitFor();
    await snap(page, watcher, `${prefix}details-errors`);
    // The server's own field error (a 400 naming `dvs.number`), shown at its field.
    await page.getByLabel('State or territory that issued the licence').selectOption('NSW');
    await page.getByLabel('Document number').fill('12-345');
    watcher.allowed.push(400);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByText(/Check your document number: must be 1 to 20 letters and digits/).waitFor();
    assert.equal(await page.getByLabel('Document number').getAttribute('aria-invalid'), 'true');
    await snap(page, watcher, `${prefix}details-server-error`);
    watcher.allowed.pop();
    await page.getByLabel('Document number').fill('12345678');
    await page.getByRole('button', { name: 'Continue' }).click();
  }

  await heading(page, 'Check and send');
  await snap(page, watcher, `${prefix}review`);
  // The progress page polls the session; its polls wait until it has been screenshotted.
  let release;
  const gate = new Promise((r) => { release = r; });
  const held = /\/j\/[^/]+\/session$/;
  await page.route(held, async (route) => { await gate; await route.continue(); });
  await page.getByRole('button', { name: 'Send for checking' }).click();
  await heading(page, 'Checking your identity');
  await page.getByText('Document issuer check').or(page.getByText('Screening lists')).first().waitFor();
  await snap(page, watcher, `${prefix}processing`);
  release();
  await page.unroute(held);
}

// A dim but detailed 1000x700 photo: mean luma about 20, under the gate's 45.
function darkPhoto() {
  const png = new PNG({ width: 1000, height: 700 });
  let seed = 12345;
  for (let i = 0; i < png.data.length; i += 4) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const v = (seed >>> 16) % 40;
    png.data[i] = v; png.data[i + 1] = v; png.data[i + 2] = v; png.data[i + 3] = 255;
  }
  return PNG.sync.write(png);
}

async function verifyToken(url, sessionId) {
  const token = url.searchParams.get('token');
  assert.ok(token, `the redirect carries a token: ${url}`);
  const { payload } = await jwtVerify(token, jwks, { audience: TENANT_ID });
  assert.equal(payload.sub, sessionId);
  assert.equal(payload.decision, 'approved');
  assert.equal(payload.status, 'finished');
  return payload;
}

async function waitForLanding(landed, what) {
  for (let i = 0; i < 600 && !landed.length; i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(landed.length, `${what} reached the redirect_url`);
  return landed[0];
}

test('a phone completes document, selfie and dvs and lands on redirect_url with a verifying token', async () => {
  const session = await createSession({ steps: ['document', 'liveness', 'dvs'] });
  const { ctx, landed } = await context('phone');
  const page = await ctx.newPage();
  const watcher = watch(page);
  await page.goto(session.identity_url);
  await completeOnPhone(page, watcher, { details: true, prefix: 'phone-', retake: true });
  const url = await waitForLanding(landed, 'the phone');
  const claims = await verifyToken(url, session.session_id);
  assert.equal(claims.evidence.dvs.decision, 'Y');
  assert.deepEqual(watcher.errors, []);
  await ctx.close();
});

test('a desktop hands off to a phone by QR code and finishes when the phone is done', async () => {
  const session = await createSession({ steps: ['document', 'liveness', 'peps'] });
  const desktop = await context('desktop');
  const page = await desktop.ctx.newPage();
  const watcher = watch(page);
  await page.goto(session.identity_url);
  await heading(page, /Verify your identity with Acme Bank/);
  await snap(page, watcher, 'desktop-welcome');
  await page.getByRole('button', { name: 'Continue on my phone' }).click();
  await heading(page, 'Scan with your phone');
  const qr = page.getByRole('img', { name: /QR code/ });
  await qr.waitFor();
  await snap(page, watcher, 'desktop-handoff-qr');
  const png = PNG.sync.read(await qr.screenshot());
  const decoded = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  assert.ok(decoded, 'the QR code decodes');
  const link = decoded.data;
  assert.equal(link, (await page.getByTestId('handoff-link').textContent()).trim());
  assert.match(link, /\/h\/[A-Za-z0-9_-]{65}$/);

  const phone = await context('phone');
  const mobile = await phone.ctx.newPage();
  const mobileWatcher = watch(mobile);
  await mobile.goto(link);
  await heading(mobile, 'Continue on this phone');
  await snap(mobile, mobileWatcher, 'handoff-landing');
  await mobile.getByRole('button', { name: 'Continue' }).click();
  await page.getByText('Your phone is connected.', { exact: false }).waitFor({ timeout: 20000 });
  await heading(page, 'Continue on your phone');
  assert.equal(await page.getByRole('img', { name: /QR code/ }).count(), 0, 'the used code is gone');
  await snap(page, watcher, 'desktop-following');
  await completeOnPhone(mobile, mobileWatcher, { details: false, prefix: 'handoff-phone-' });
  await heading(mobile, 'All done on this phone');
  await snap(mobile, mobileWatcher, 'handoff-phone-done');
  const url = await waitForLanding(desktop.landed, 'the desktop');
  await verifyToken(url, session.session_id);
  assert.equal(phone.landed.length, 0, 'the phone stays on its page');
  assert.deepEqual(watcher.errors, []);

  // The link was single-use: a second phone gets a clear page.
  const again = await context('phone');
  const reused = await again.ctx.newPage();
  const reusedWatcher = watch(reused, [410]);
  const res = await reused.goto(link);
  assert.equal(res.status(), 410);
  await heading(reused, 'This link has already been used');
  await snap(reused, reusedWatcher, 'handoff-used');
  // The finished journey, opened again on the desktop, offers the way back.
  const done = await page.context().newPage();
  const doneWatcher = watch(done);
  await done.goto(session.identity_url);
  await heading(done, 'All done');
  await snap(done, doneWatcher, 'finished');
  await Promise.all([desktop.ctx.close(), phone.ctx.close(), again.ctx.close()]);
});

test('expired, cancelled and unknown journeys get clear pages', async () => {
  const { ctx } = await context('phone');
  const page = await ctx.newPage();
  const watcher = watch(page, [404, 410]);
  let res = await page.goto(EXPIRED_URL);
  assert.equal(res.status(), 410);
  await heading(page, 'This link has expired');
  await snap(page, watcher, 'expired');

  const session = await createSession({ steps: ['document'] });
  const cancelled = await fetch(new URL(`/identity/${session.session_id}`, BASE), { method: 'DELETE', headers: { authorization: `Bearer ${API_KEY}` } });
  assert.equal(cancelled.status, 200);
  assert.equal((await cancelled.json()).status, 'cancelled');
  res = await page.goto(session.identity_url);
  assert.equal(res.status(), 410);
  await heading(page, 'This verification was cancelled');
  await snap(page, watcher, 'cancelled');

  res = await page.goto(new URL(`/j/${'x'.repeat(43)}`, BASE).href);
  assert.equal(res.status(), 404);
  await heading(page, "We can't find this page");
  await snap(page, watcher, 'not-found');
  const body = await page.content();
  assert.doesNotMatch(body, /panic|backtrace|stack/i);
  await ctx.close();
});

test('pages carry the security headers', async () => {
  const session = await createSession({ steps: ['document'] });
  const res = await fetch(session.identity_url);
  const csp = res.headers.get('content-security-policy');
  assert.ok(csp && !csp.includes('unsafe-inline') && csp.includes("frame-ancestors 'none'"), csp);
  assert.ok(csp.includes(`img-src 'self' data: blob: ${REDIRECT_ORIGIN}`), `the logo's origin: ${csp}`);
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=\d+/);
  const html = await res.text();
  const script = html.match(/src="(\/assets\/journey-[0-9a-f]+\.js)"/)[1];
  const asset = await fetch(new URL(script, BASE));
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('cache-control'), /immutable/);
  assert.equal(asset.headers.get('x-content-type-options'), 'nosniff');
  // Read every body: undici frees an unread one's connection only when it is collected.
  assert.ok((await asset.text()).length > 0);
});
