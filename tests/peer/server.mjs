// Loopback OpenID Connect provider used as an independent test peer.
//
// panva's `oidc-provider` (OpenID-certified) configured the way a self-hoster
// would configure a provider for RomM: confidential clients, client_secret_basic,
// authorization code flow, PKCE not required, scope claims in the ID token.
//
// Usage:  node server.mjs '<json config>'      (or PEER_CONFIG='<json>' node server.mjs)
// Stdout: exactly one line, `READY <issuer>`, once listening. Everything else
//         (oidc-provider's warnings, errors) goes to stderr.
// Exit:   when stdin closes (EOF), on SIGTERM or SIGINT.
//
// Config (all keys optional):
//   {
//     "clients": [ { "client_id": "...", "client_secret": "...",
//                    "redirect_uris": ["http://127.0.0.1:1234/callback"],
//                    "id_token_signed_response_alg": "RS256" | "ES256" | "EdDSA",
//                    ...any other oidc-provider client metadata, passed through } ],
//     "idTokenClaims": true,   // true: scope claims (email, ...) also in the ID token
//                              // false: conform mode, scope claims only from /me (userinfo)
//     "pkce": false            // true: PKCE required for every client
//   }
//
// Accounts: any login name is an account (sub = login). See `findAccount` below.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as http from 'node:http';

import Provider from 'oidc-provider';

function fail(message) {
  process.stderr.write(`peer: ${message}\n`);
  process.exit(2);
}

function loadConfig() {
  const raw = process.argv[2] ?? process.env.PEER_CONFIG ?? '{}';
  let cfg;
  try {
    cfg = JSON.parse(raw);
  } catch (err) {
    fail(`config is not valid JSON: ${err.message}`);
  }
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
    fail('config must be a JSON object');
  }
  const known = new Set(['clients', 'idTokenClaims', 'pkce']);
  for (const key of Object.keys(cfg)) {
    if (!known.has(key)) fail(`unknown config key ${JSON.stringify(key)} (known: ${[...known].join(', ')})`);
  }
  const clients = cfg.clients ?? [];
  if (!Array.isArray(clients)) fail('config.clients must be an array');
  for (const [i, c] of clients.entries()) {
    if (!c || typeof c !== 'object') fail(`config.clients[${i}] must be an object`);
    if (typeof c.client_id !== 'string' || !c.client_id) fail(`config.clients[${i}].client_id must be a non-empty string`);
    if (!Array.isArray(c.redirect_uris)) fail(`config.clients[${i}].redirect_uris must be an array`);
  }
  for (const key of ['idTokenClaims', 'pkce']) {
    if (key in cfg && typeof cfg[key] !== 'boolean') fail(`config.${key} must be a boolean`);
  }
  return {
    clients: clients.map((c) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...c,
    })),
    idTokenClaims: cfg.idTokenClaims ?? true,
    pkce: cfg.pkce ?? false,
  };
}

function signingKeys() {
  const suffix = randomBytes(4).toString('hex');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  // RS256 first: it is the default for clients that do not ask for another alg.
  return [
    { ...rsa, kid: `rsa-${suffix}` },
    { ...ec, kid: `ec-${suffix}` },
    { ...ed, kid: `ed25519-${suffix}` },
  ];
}

// Any login name is an account.
//   email          = <login>@example.com   (absent, with email_verified, if login starts with "noemail")
//   email_verified = false if login starts with "unverified", else true
//   groups         = ["romm-admins"] if login starts with "admin", else []
function accountClaims(login) {
  const claims = {
    sub: login,
    name: `Test User ${login}`,
    preferred_username: login,
    groups: login.startsWith('admin') ? ['romm-admins'] : [],
  };
  if (!login.startsWith('noemail')) {
    claims.email = `${login}@example.com`;
    claims.email_verified = !login.startsWith('unverified');
  }
  return claims;
}

async function findAccount(_ctx, id) {
  if (typeof id !== 'string' || !id) return undefined;
  return {
    accountId: id,
    async claims() {
      return accountClaims(id);
    },
  };
}

function main() {
  const cfg = loadConfig();
  const server = http.createServer();

  server.on('error', (err) => fail(`http server error: ${err.message}`));
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    const issuer = `http://127.0.0.1:${port}`;

    let provider;
    try {
      provider = new Provider(issuer, {
        clients: cfg.clients,
        findAccount,
        jwks: { keys: signingKeys() },
        cookies: { keys: [randomBytes(32).toString('base64url')] },
        claims: {
          openid: ['sub'],
          email: ['email', 'email_verified'],
          profile: ['name', 'preferred_username'],
          groups: ['groups'],
        },
        scopes: ['openid', 'offline_access', 'groups'],
        conformIdTokenClaims: !cfg.idTokenClaims,
        pkce: { required: () => cfg.pkce },
        enabledJWA: { idTokenSigningAlgValues: ['RS256', 'ES256', 'EdDSA'] },
        features: { devInteractions: { enabled: true } },
      });
    } catch (err) {
      fail(`invalid provider configuration: ${err.message}`);
    }

    // Surface errors on stderr (never stdout) to make failing tests debuggable.
    provider.on('server_error', (_ctx, err) => {
      process.stderr.write(`peer: server_error: ${err.stack ?? err}\n`);
    });
    for (const event of ['authorization.error', 'grant.error', 'userinfo.error']) {
      provider.on(event, (_ctx, err) => {
        const detail = err.error_detail ? ` (${err.error_detail})` : '';
        process.stderr.write(`peer: ${event}: ${err.error ?? err.name}: ${err.error_description ?? err.message}${detail}\n`);
      });
    }

    server.on('request', provider.callback());
    process.stdout.write(`READY ${issuer}\n`);
  });

  const shutdown = () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.stdin.on('end', shutdown);
  process.stdin.on('close', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}

main();
