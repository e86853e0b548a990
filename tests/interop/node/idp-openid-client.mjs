// openid-client v6 (panva) against the authgate dev IdP: discovery, client credentials with
// client_secret_basic and private_key_jwt, password + refresh, token exchange, introspection.
// Input: one JSON object on stdin (see tests/interop/test_idp_openid_client.py).
// Output: one JSON object on stdout with what each step saw; errors are reported, not thrown.
import * as client from 'openid-client';

const input = JSON.parse(await new Promise((resolve) => {
  let data = '';
  process.stdin.on('data', (chunk) => { data += chunk; });
  process.stdin.on('end', () => resolve(data));
}));
const insecure = { execute: [client.allowInsecureRequests] };
const out = {};

async function step(name, fn) {
  try {
    out[name] = { ok: true, value: await fn() };
  } catch (err) {
    out[name] = {
      ok: false,
      name: err?.name,
      error: err?.error ?? err?.cause?.error,
      error_description: err?.error_description ?? err?.cause?.error_description,
      status: err?.status ?? err?.response?.status,
      message: String(err?.message ?? err),
    };
  }
}

const issuer = new URL(input.issuer);
const basic = await client.discovery(
  issuer, input.service.client_id, input.service.client_secret,
  client.ClientSecretBasic(input.service.client_secret), insecure);

await step('discovery', async () => ({
  issuer: basic.serverMetadata().issuer,
  token_endpoint: basic.serverMetadata().token_endpoint,
  grant_types_supported: basic.serverMetadata().grant_types_supported,
}));

await step('client_credentials_basic', async () => {
  const t = await client.clientCredentialsGrant(basic, { scope: 'api:read' });
  return { token_type: t.token_type, scope: t.scope, expires_in: t.expiresIn(), access_token: t.access_token };
});

const key = await crypto.subtle.importKey(
  'jwk', input.jwt.private_jwk, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
const privateKey = { key, kid: input.jwt.private_jwk.kid };

// openid-client puts the issuer in the assertion `aud`; Okta wants the endpoint URL.
const defaultAud = await client.discovery(
  issuer, input.jwt.client_id, {}, client.PrivateKeyJwt(privateKey), insecure);
await step('private_key_jwt_default_aud', async () =>
  (await client.clientCredentialsGrant(defaultAud, { scope: 'api:read' })).token_type);

const tokenEndpoint = basic.serverMetadata().token_endpoint;
const oktaAud = await client.discovery(issuer, input.jwt.client_id, {},
  client.PrivateKeyJwt(privateKey, {
    [client.modifyAssertion]: (_header, payload) => { payload.aud = tokenEndpoint; },
  }), insecure);
await step('private_key_jwt', async () => {
  const t = await client.clientCredentialsGrant(oktaAud, { scope: 'api:read' });
  return { token_type: t.token_type, scope: t.scope };
});

const native = await client.discovery(
  issuer, input.native.client_id, input.native.client_secret,
  client.ClientSecretBasic(input.native.client_secret), insecure);
let userTokens;
await step('password', async () => {
  userTokens = await client.genericGrantRequest(native, 'password', {
    username: input.user.login, password: input.user.password,
    scope: 'openid profile offline_access api:read',
  });
  return { has_refresh: Boolean(userTokens.refresh_token), sub: userTokens.claims()?.sub };
});

await step('refresh', async () => {
  const t = await client.refreshTokenGrant(native, userTokens.refresh_token);
  return { same_refresh: t.refresh_token === userTokens.refresh_token, scope: t.scope,
    id_token_sub: t.claims()?.sub };
});

const exchanger = await client.discovery(
  issuer, input.exchange.client_id, input.exchange.client_secret,
  client.ClientSecretBasic(input.exchange.client_secret), insecure);
await step('token_exchange', async () => {
  const t = await client.genericGrantRequest(exchanger, 'urn:ietf:params:oauth:grant-type:token-exchange', {
    subject_token: userTokens.access_token,
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    audience: 'api://default', scope: 'api:read',
  });
  return { issued_token_type: t.issued_token_type, token_type: t.token_type, access_token: t.access_token };
});

await step('introspection', async () => {
  const active = await client.tokenIntrospection(basic, userTokens.access_token);
  const inactive = await client.tokenIntrospection(basic, 'not-a-token');
  return { active: active.active, username: active.username, inactive };
});

await step('bad_secret', async () => {
  const wrong = await client.discovery(issuer, input.service.client_id, 'wrong',
    client.ClientSecretBasic('wrong'), insecure);
  return client.clientCredentialsGrant(wrong, { scope: 'api:read' });
});

process.stdout.write(JSON.stringify(out));
