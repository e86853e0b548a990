// panva oidc-provider (software we did not write) as the authorization server for authgate's
// Okta client: client_credentials with private_key_jwt only. Config comes in as JSON on
// PROVIDER_CONFIG ({client_id, jwk}); listens on 127.0.0.1:$PORT (0 = any) and prints
// {"port": N} once listening. Tokens are JWTs for the resource indicator so the test can read them.
import Provider from 'oidc-provider';

const { client_id: clientId, jwk } = JSON.parse(process.env.PROVIDER_CONFIG);
const requested = Number(process.env.PORT || 0);
const host = '127.0.0.1';

const boot = async () => {
  const server = (await import('node:http')).createServer();
  await new Promise((resolve) => server.listen(requested, host, resolve));
  const { port } = server.address();
  const issuer = `http://${host}:${port}`;
  const resource = 'urn:authgate:interop';
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      token_endpoint_auth_method: 'private_key_jwt',
      token_endpoint_auth_signing_alg: 'RS256',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      scope: 'api:read',
      jwks: { keys: [jwk] },
    }],
    scopes: ['api:read'],
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        getResourceServerInfo: () => ({ scope: 'api:read', accessTokenFormat: 'jwt', audience: resource }),
      },
    },
  });
  server.on('request', provider.callback());
  process.stdout.write(JSON.stringify({ port, issuer }) + '\n');
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
};

boot().catch((err) => {
  process.stderr.write(String(err && err.stack || err) + '\n');
  process.exit(1);
});
