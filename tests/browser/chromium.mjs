#!/usr/bin/env node
// The browser of the browser tests (tests/browser.rs): the system's headless
// Chromium, driven by playwright-core (locked in package-lock.json beside this
// file; it never downloads a browser). The doctor runs it as a user's browser,
// through --browser-command, with the login URL last:
//
//   node tests/browser/chromium.mjs --chromium PATH --dir DIR [--login NAME] [--stray-callback] URL
//
// It opens URL (the doctor's loopback listener), follows the listener's
// redirect to the provider, signs in there as a user would (oidc-provider's
// login form and consent page; the Pocket ID emulator's sign-in form) and waits
// for the listener's result page. With --stray-callback it first visits the
// listener's /callback with a state that is not the run's (the refused-state
// page) and a path the listener does not serve (its 404 page).
//
// Everything it writes is under DIR: Chromium's profile, its temporary files,
// one screenshot per page (DIR/shots/<page>.png) and, last, after Chromium has
// ended, the summary DIR/browser.json:
//   {"ok":bool,"error":?,"pid":N,"pages":[{"name","url","status","title",
//    "text","heading_color","text_font","shot"}],"listener":[{"method","url","status",
//    "location"}]}
// ("text" is document.body.innerText, what Chromium rendered; URLs carry no
// authorization code.) Exit 0 when the listener's result page was reached.

import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

/// The whole visit, every page and form included.
const VISIT_LIMIT_MS = 60_000;
/// Any one step (a page load, a form's answer).
const STEP_MS = 30_000;
/// As root on a closed network: no sandbox, no GPU, and no background
/// connections to Google's hosts (refused here, and noise everywhere).
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    chromium: { type: 'string' },
    dir: { type: 'string' },
    login: { type: 'string', default: 'alice' },
    'stray-callback': { type: 'boolean', default: false },
  },
});
const start = positionals.at(-1);
if (!opts.chromium || !opts.dir || !start) {
  process.stderr.write('usage: node chromium.mjs --chromium PATH --dir DIR [--login NAME] [--stray-callback] URL\n');
  process.exit(2);
}
const dir = path.resolve(opts.dir);
const shots = path.join(dir, 'shots');
fs.mkdirSync(shots, { recursive: true });
fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
// Playwright's and Chromium's temporary files go under DIR too.
process.env.TMPDIR = path.join(dir, 'tmp');

const summary = { ok: false, pid: process.pid, pages: [], listener: [] };

function hideCode(url) {
  return url.replace(/([?&]code=)[^&#]*/g, '$1<hidden>');
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// What a user does next on the page shown, or 'listener' when it is the
// listener's own page; undefined while nothing known is there yet.
async function whatIsShown(page, listener) {
  if (new URL(page.url()).origin === listener) return 'listener';
  const has = async (selector) => (await page.locator(selector).count()) > 0;
  if (await has('input[name="login"]')) return 'login';
  if (await has('input[name="prompt"][value="consent"]')) return 'consent';
  if (await has('input[name="username"]')) return 'sign-in';
  return undefined;
}

// Waits until the page is loaded and is one a user acts on (or the listener's).
async function settle(page, listener) {
  const deadline = Date.now() + STEP_MS;
  for (;;) {
    try {
      await page.waitForLoadState('load', { timeout: STEP_MS });
      const shown = await whatIsShown(page, listener);
      if (shown) return shown;
    } catch {
      // A navigation in flight (an auto-submitted form): look again.
    }
    if (Date.now() > deadline) {
      const text = await page.innerText('body').catch(() => '');
      throw new Error(`nothing to do on ${hideCode(page.url())}: ${text.slice(0, 300)}`);
    }
    await sleep(100);
  }
}

// Records what Chromium rendered, with a screenshot.
async function keep(page, name, response) {
  await page.waitForLoadState('load');
  const shot = path.join(shots, `${name}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  summary.pages.push({
    name,
    url: hideCode(page.url()),
    status: response ? response.status() : null,
    title: await page.title(),
    text: await page.innerText('body'),
    heading_color: await page
      .locator('h1')
      .first()
      .evaluate((h) => getComputedStyle(h).color)
      .catch(() => null),
    // The font of what follows the heading: the page's own text.
    text_font: await page
      .locator('h1 + *')
      .first()
      .evaluate((e) => `${getComputedStyle(e).fontSize} ${getComputedStyle(e).fontFamily}`)
      .catch(() => null),
    shot,
  });
}

// Submits the form shown, as a user would, and waits for the page to change.
async function act(page, shown) {
  const before = page.url();
  if (shown === 'login') {
    await page.fill('input[name="login"]', opts.login);
    await page.fill('input[name="password"]', 'any password');
  } else if (shown === 'sign-in') {
    await page.fill('input[name="username"]', opts.login);
  }
  await page.click('button[type="submit"]');
  await page.waitForURL((u) => u.href !== before, { timeout: STEP_MS, waitUntil: 'commit' });
}

async function visit(context) {
  const listener = new URL(start).origin;
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(STEP_MS);
  page.on('response', (r) => {
    if (new URL(r.url()).origin !== listener) return;
    summary.listener.push({
      method: r.request().method(),
      url: hideCode(r.url()),
      status: r.status(),
      location: r.headers().location ?? null,
    });
  });

  if (opts['stray-callback']) {
    // A stale tab's callback: another state, a made-up code.
    const stray = `${listener}/callback?code=stray-code-from-another-tab&state=not-this-runs-state`;
    await keep(page, 'refused', await page.goto(stray));
    await keep(page, 'not-here', await page.goto(`${listener}/elsewhere`));
  }

  await page.goto(start);
  let resultResponse = null;
  for (let step = 0; ; step += 1) {
    if (step > 8) throw new Error('still at the provider after 8 forms');
    const shown = await settle(page, listener);
    if (shown === 'listener') break;
    if (step === 0) await keep(page, 'redirect', null);
    if (shown === 'consent') await keep(page, 'consent', null);
    const answered = page.waitForResponse(
      (r) => new URL(r.url()).origin === listener && new URL(r.url()).pathname === '/callback',
      { timeout: VISIT_LIMIT_MS },
    );
    answered.catch(() => {});
    await act(page, shown);
    resultResponse = answered;
  }
  await keep(page, 'result', resultResponse ? await resultResponse : null);
  summary.ok = new URL(page.url()).pathname === '/callback';
}

async function main() {
  const { chromium } = await import('playwright-core');
  const context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: opts.chromium,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 900, height: 700 },
    timeout: STEP_MS,
  });
  const limit = setTimeout(() => {
    summary.error = `gave up after ${VISIT_LIMIT_MS} ms`;
    context.close().finally(finish);
  }, VISIT_LIMIT_MS);
  try {
    await visit(context);
  } catch (err) {
    summary.error = String(err?.stack ?? err);
  } finally {
    clearTimeout(limit);
    await context.close();
  }
}

// The summary is written last, after Chromium has ended, and renamed into
// place whole: its presence means the visit is over.
function finish() {
  const file = path.join(dir, 'browser.json');
  fs.writeFileSync(`${file}.part`, `${JSON.stringify(summary, null, 2)}\n`);
  fs.renameSync(`${file}.part`, file);
  process.exit(summary.ok ? 0 : 1);
}

main()
  .catch((err) => {
    summary.ok = false;
    summary.error = String(err?.stack ?? err);
  })
  .finally(finish);
