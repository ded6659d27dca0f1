#!/usr/bin/env node
// A stand-in for a real web browser, for integration tests.
//
//   node tests/support/browser.mjs <url>
//
// The URL is the LAST argument (so the script can be used as `$BROWSER` or as a
// `--browser-command` that gets the URL appended). Starting there it follows
// HTTP redirects by hand, to any host, keeping a cookie jar like a browser does,
// and fills in the login/consent forms of:
//   - panva oidc-provider's dev interactions: login form (an input name="login")
//     -> POST prompt=login&login=<LOGIN>&password=x; consent form
//     (input name="prompt" value="consent") -> POST prompt=consent;
//   - a response_mode=form_post page (a form submitted by script on load): POSTed
//     like a browser would;
//   - the Pocket ID emulator's interaction page: a form with an input
//     name="username" -> POST username=<LOGIN> (plus the form's hidden inputs)
//     to the form's action (e.g. /interaction/<id>/login).
// It stops at the first response that is neither a redirect nor a known form
// (normally the redirect-URI listener's page), or after 30 requests.
//
// Environment:
//   BROWSER_LOGIN    login name to sign in as (default "alice")
//   BROWSER_MODE     "stop-at-callback": never request a URL whose path is
//                    /callback; print it on stderr as `CALLBACK <url>` instead
//                    (exit 0; a form_post callback's fields are in the summary's
//                    "callback_form"). Any other value or unset: follow everything.
//   BROWSER_SUMMARY  a file to write the summary line to as well (stderr is
//                    shared with the program that launched the browser, whose
//                    notes may interleave with a long line there).
//   BROWSER_CONSENT  "deny": on oidc-provider's consent page, follow its abort
//                    link instead of consenting (-> error=access_denied).
//
// Output: nothing on stdout. On stderr, one JSON line (last line):
//   {"ok":bool,"final_url":..,"status":..,"hops":..,"error":..?,"page_text":..?,
//    "callback":..?,"callback_form":..?,"trail":["GET <url> -> 303", ...]}
// ("page_text": the final page's text, tags stripped, when not ok; "error": why
// it stopped early: network error, timeout, loop, bad usage.)
// Exit code: 0 if the last page was reached with a 2xx status and is not an
// error page (Pocket ID style /interaction/error); 1 otherwise (HTTP >= 300 at
// the end, network error/timeout, too many hops, bad usage).

import fs from 'node:fs';
const MAX_HOPS = 30;
const TIMEOUT_MS = 10_000;
const LOGIN = process.env.BROWSER_LOGIN || 'alice';
const STOP_AT_CALLBACK = process.env.BROWSER_MODE === 'stop-at-callback';
const DENY_CONSENT = process.env.BROWSER_CONSENT === 'deny';

const trail = [];
let finished = false;

function finish(summary) {
  if (finished) return;
  finished = true;
  const line = JSON.stringify({ ...summary, trail });
  process.stderr.write(`${line}\n`);
  if (process.env.BROWSER_SUMMARY) {
    fs.writeFileSync(process.env.BROWSER_SUMMARY, `${line}\n`);
  }
  process.exit(summary.ok ? 0 : 1);
}

process.on('unhandledRejection', (err) => {
  finish({ ok: false, error: `unhandled rejection: ${err?.stack ?? err}` });
});
process.on('uncaughtException', (err) => {
  finish({ ok: false, error: `uncaught exception: ${err?.stack ?? err}` });
});

// ---------------------------------------------------------------- cookies (RFC 6265, simplified)

const jar = [];

function isLoopback(host) {
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function defaultPath(url) {
  const p = url.pathname;
  if (!p.startsWith('/')) return '/';
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

function pathMatches(requestPath, cookiePath) {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

function storeCookies(url, headers) {
  const setCookies = typeof headers.getSetCookie === 'function' ? headers.getSetCookie() : [];
  const now = Date.now();
  for (const header of setCookies) {
    const [pair, ...attrs] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const cookie = {
      name: pair.slice(0, eq).trim(),
      value: pair.slice(eq + 1).trim(),
      domain: url.hostname,
      hostOnly: true,
      path: defaultPath(url),
      secure: false,
      expires: Infinity,
    };
    let maxAgeSeen = false;
    for (const attr of attrs) {
      const aeq = attr.indexOf('=');
      const key = (aeq === -1 ? attr : attr.slice(0, aeq)).trim().toLowerCase();
      const val = aeq === -1 ? '' : attr.slice(aeq + 1).trim();
      if (key === 'path' && val.startsWith('/')) cookie.path = val;
      else if (key === 'domain' && val) {
        const d = val.replace(/^\./, '').toLowerCase();
        if (url.hostname === d || url.hostname.endsWith(`.${d}`)) {
          cookie.domain = d;
          cookie.hostOnly = false;
        } else {
          cookie.rejected = true;
        }
      } else if (key === 'max-age' && /^-?\d+$/.test(val)) {
        maxAgeSeen = true;
        const secs = Number(val);
        cookie.expires = secs <= 0 ? 0 : now + secs * 1000;
      } else if (key === 'expires' && !maxAgeSeen) {
        const t = Date.parse(val);
        if (!Number.isNaN(t)) cookie.expires = t;
      } else if (key === 'secure') cookie.secure = true;
    }
    if (cookie.rejected) continue;
    const idx = jar.findIndex((c) => c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path);
    if (idx !== -1) jar.splice(idx, 1);
    if (cookie.expires > now) jar.push(cookie);
  }
}

function cookieHeader(url) {
  const now = Date.now();
  const secureOk = url.protocol === 'https:' || isLoopback(url.hostname);
  return jar
    .filter((c) => c.expires > now)
    .filter((c) => (c.hostOnly ? url.hostname === c.domain
      : url.hostname === c.domain || url.hostname.endsWith(`.${c.domain}`)))
    .filter((c) => pathMatches(url.pathname, c.path))
    .filter((c) => !c.secure || secureOk)
    .sort((a, b) => b.path.length - a.path.length)
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
}

// ---------------------------------------------------------------- minimal HTML form parsing

function decodeEntities(s) {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function parseAttrs(s) {
  const attrs = {};
  const re = /([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;
  let m;
  while ((m = re.exec(s)) !== null) {
    attrs[m[1].toLowerCase()] = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return attrs;
}

function parseForms(html) {
  const forms = [];
  const formRe = /<form\b([^>]*)>([\s\S]*?)<\/form>/gi;
  let m;
  while ((m = formRe.exec(html)) !== null) {
    const attrs = parseAttrs(m[1]);
    const inputs = [];
    const inputRe = /<(?:input|button)\b([^>]*)>/gi;
    let im;
    while ((im = inputRe.exec(m[2])) !== null) inputs.push(parseAttrs(im[1]));
    forms.push({ action: attrs.action, method: (attrs.method || 'get').toLowerCase(), inputs });
  }
  return forms;
}

function findLink(html, pattern) {
  const re = /<a\b([^>]*)>/gi;
  let m;
  while ((m = re.exec(html)) !== null) {
    const { href } = parseAttrs(m[1]);
    if (href && pattern.test(href)) return href;
  }
  return undefined;
}

// What a user would read on the page: tags, styles and scripts stripped.
function pageText(html) {
  const text = decodeEntities(html
    .replace(/<(style|script)\b[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]*>/g, ' '))
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > 400 ? `${text.slice(0, 400)}...` : text;
}

// Decide what a browser-driving user would do on this page; undefined = stop here.
function nextAction(pageUrl, html, status) {
  const forms = parseForms(html);
  const named = (form, name) => form.inputs.find((i) => i.name === name);
  const hidden = (form) => form.inputs
    .filter((i) => i.type === 'hidden' && i.name)
    .map((i) => [i.name, i.value ?? '']);
  const submit = (form, fields, what) => ({
    what,
    method: form.method === 'post' ? 'POST' : 'GET',
    url: new URL(form.action || pageUrl.href, pageUrl),
    fields,
  });

  // response_mode=form_post: a page whose script submits its (hidden-input) form on load.
  if (forms.length && forms[0].method === 'post' && /\.submit\(\)/.test(html)) {
    return submit(forms[0], hidden(forms[0]), 'auto-submit');
  }
  if (status !== 200) return undefined;

  for (const form of forms) {
    // oidc-provider devInteractions: login.
    if (named(form, 'login')) {
      return submit(form, [['prompt', 'login'], ['login', LOGIN], ['password', 'x']], 'login');
    }
    // oidc-provider devInteractions: consent.
    const prompt = named(form, 'prompt');
    if (prompt && prompt.value === 'consent') {
      if (DENY_CONSENT) {
        const abort = findLink(html, /\/abort(?:$|[?#])/);
        if (abort) return { what: 'deny', method: 'GET', url: new URL(abort, pageUrl), fields: [] };
      }
      return submit(form, [['prompt', 'consent']], 'consent');
    }
    // Pocket ID emulator: username form.
    if (named(form, 'username')) {
      const fields = hidden(form).filter(([k]) => k !== 'username');
      fields.push(['username', LOGIN]);
      return submit(form, fields, 'username');
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- driver

async function main() {
  const start = process.argv.length > 2 ? process.argv[process.argv.length - 1] : undefined;
  if (!start) {
    finish({ ok: false, error: 'usage: node browser.mjs <url>' });
    return;
  }
  let request;
  try {
    request = { method: 'GET', url: new URL(start), fields: null, origin: null };
  } catch {
    finish({ ok: false, error: `not a URL: ${start}` });
    return;
  }

  for (let hops = 0; ; ) {
    const { url } = request;
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      finish({ ok: false, final_url: url.href, hops, error: `unsupported URL scheme ${url.protocol}` });
      return;
    }
    if (STOP_AT_CALLBACK && url.pathname === '/callback') {
      process.stderr.write(`CALLBACK ${url.href}\n`);
      const summary = { ok: true, final_url: url.href, status: null, hops, callback: url.href };
      if (request.method === 'POST') summary.callback_form = Object.fromEntries(request.fields ?? []);
      finish(summary);
      return;
    }
    if (hops >= MAX_HOPS) {
      finish({ ok: false, final_url: url.href, hops, error: `gave up after ${MAX_HOPS} requests (redirect loop?)` });
      return;
    }
    hops += 1;

    const headers = {
      'user-agent': 'romm-oidc-test-browser/1 (node)',
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    };
    const cookies = cookieHeader(url);
    if (cookies) headers.cookie = cookies;
    let body;
    if (request.method === 'POST') {
      body = new URLSearchParams(request.fields ?? []).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
      if (request.origin) headers.origin = request.origin;
    }

    let res;
    let text;
    try {
      res = await fetch(url, {
        method: request.method,
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      storeCookies(url, res.headers);
      text = await res.text();
    } catch (err) {
      trail.push(`${request.method} ${url.href} -> ${err?.name ?? 'error'}`);
      const reason = err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(err);
      finish({ ok: false, final_url: url.href, hops, error: `${request.method} failed: ${reason}` });
      return;
    }
    trail.push(`${request.method} ${url.href} -> ${res.status}`);

    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      let next;
      try {
        next = new URL(location, url);
      } catch {
        finish({ ok: false, final_url: url.href, status: res.status, hops, error: `bad Location: ${location}` });
        return;
      }
      const keepMethod = res.status === 307 || res.status === 308;
      request = keepMethod
        ? { ...request, url: next }
        : { method: 'GET', url: next, fields: null, origin: null };
      continue;
    }

    const contentType = res.headers.get('content-type') ?? '';
    const action = contentType.includes('html') ? nextAction(url, text, res.status) : undefined;
    if (action) {
      request = { method: action.method, url: action.url, fields: action.fields, origin: url.origin };
      if (action.method === 'GET' && action.fields.length) {
        for (const [k, v] of action.fields) request.url.searchParams.set(k, v);
        request.fields = null;
      }
      continue;
    }

    const errorPage = /\/interaction\/error\/?$/.test(url.pathname);
    const ok = res.status >= 200 && res.status < 300 && !errorPage;
    const summary = { ok, final_url: url.href, status: res.status, hops };
    if (!ok) summary.page_text = pageText(text);
    finish(summary);
    return;
  }
}

main().catch((err) => finish({ ok: false, error: `internal error: ${err?.stack ?? err}` }));
