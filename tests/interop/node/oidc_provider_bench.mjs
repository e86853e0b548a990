// npm oidc-provider (panva) configured for the same client-credentials grant as the authgate dev
// IdP benchmark (bench/idp.py): client_secret_basic, a JWT access token for one resource
// (resourceIndicators), RS256 with a 2048-bit key. It is a peer to measure against, not a test.
//
// Input: one JSON object on stdin: {client_id, client_secret, audience, scope}.
// Output: one JSON line on stdout once listening: {url, token_endpoint, pid}; then it serves
// until killed. The socket listens on 127.0.0.1:0, so runs never collide on a port.
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const input = JSON.parse(await new Promise((resolve) => {
  let data = '';
  process.stdin.on('data', (chunk) => { data += chunk; });
  process.stdin.on('end', () => resolve(data));
}));

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'RS256', use: 'sig' };

const server = createServer();
// Keep-alive as long as the load generator wants it (the authgate side runs uvicorn's default).
server.keepAliveTimeout = 60_000;
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address();
const url = `http://127.0.0.1:${port}`;

const resourceServer = {
  scope: input.scope,
  audience: input.audience,
  accessTokenTTL: 3600,
  accessTokenFormat: 'jwt',
  jwt: { sign: { alg: 'RS256' } },
};

const provider = new Provider(url, {
  clients: [{
    client_id: input.client_id,
    client_secret: input.client_secret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [signingKey] },
  scopes: input.scope.split(' '),
  ttl: { ClientCredentials: 3600 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => input.audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => resourceServer,
    },
  },
});
server.on('request', provider.callback());

process.stdout.write(`${JSON.stringify({ url, token_endpoint: `${url}/token`, pid: process.pid })}\n`);
