// A real OAuth 2.0 authorization server for credd's tests: oidc-provider on 127.0.0.1.
//
//   node server.mjs            listens on a free port, prints {"issuer": "http://127.0.0.1:N"}
//                              on its first line of standard output, serves until killed
//
// Environment: ACCESS_TOKEN_TTL (seconds, default 5); GRANT_TTL (seconds, default 3600: how
// long a login's grant and refresh tokens last, longer for a soak); ID_TOKEN_TTL (seconds,
// default 3600: the ID tokens a login with scope openid gets, on every refresh too).
// Turned on: dynamic registration (RFC 7591), PKCE, the device grant (RFC 8628), revocation
// (RFC 7009, which revokes the whole grant for a refresh token), introspection, refresh
// token rotation (reuse of a rotated refresh token revokes the grant), and the provider's
// development login and consent pages, which the tests fill in as a browser would.
//
// Test-only controls under /test (not part of any OAuth protocol):
//   GET  /test/stats                 {"refresh_requests": N, "faulted_requests": F}: refresh
//                                    grant requests the provider handled, and token endpoint
//                                    requests a fault answered instead
//   POST /test/fault?mode=M&count=C  the next C token endpoint requests fail: M = "503"
//                                    (answered at once) or "hang" (unanswered for 30 s, then
//                                    504, never handled); or M = "delay" (&ms=N): handled,
//                                    but only after N ms
//   POST /test/reset                 counters and faults back to zero
import http from 'node:http';

import Provider from 'oidc-provider';

const ttl = Number(process.env.ACCESS_TOKEN_TTL || '5');
const grantTtl = Number(process.env.GRANT_TTL || '3600');
const idTokenTtl = Number(process.env.ID_TOKEN_TTL || '3600');

const state = {
  refreshRequests: 0, faultedRequests: 0, fault: null, faultCount: 0, delayMs: 3000,
};

function json(res, status, value) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(value));
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  const provider = new Provider(issuer, {
    clients: [],
    cookies: { keys: ['credd-tests-only-cookie-key'] },
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
    },
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    ttl: {
      AccessToken: ttl,
      AuthorizationCode: 60,
      DeviceCode: 120,
      Grant: grantTtl,
      IdToken: idTokenTtl,
      Interaction: 600,
      RefreshToken: grantTtl,
      Session: grantTtl,
    },
  });
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token' && state.fault && state.faultCount > 0) {
      state.faultCount -= 1;
      const mode = state.fault;
      if (state.faultCount === 0) state.fault = null;
      if (mode === 'delay') {
        // Slow, but answered: the request is handled after the delay.
        await new Promise((resolve) => { setTimeout(resolve, state.delayMs); });
      } else {
        state.faultedRequests += 1;
        if (mode === 'hang') await new Promise((resolve) => { setTimeout(resolve, 30000); });
        ctx.status = mode === 'hang' ? 504 : 503;
        ctx.body = { error: 'temporarily_unavailable' };
        return;
      }
    }
    await next();
    if (ctx.path === '/token' && ctx.oidc?.params?.grant_type === 'refresh_token') {
      state.refreshRequests += 1;
    }
  });
  const app = provider.callback();

  server.on('request', (req, res) => {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/test/stats') {
      json(res, 200, {
        refresh_requests: state.refreshRequests, faulted_requests: state.faultedRequests,
      });
      return;
    }
    if (url.pathname === '/test/fault' && req.method === 'POST') {
      state.fault = url.searchParams.get('mode');
      state.faultCount = Number(url.searchParams.get('count') || '1');
      state.delayMs = Number(url.searchParams.get('ms') || '3000');
      json(res, 200, { fault: state.fault, count: state.faultCount });
      return;
    }
    if (url.pathname === '/test/reset' && req.method === 'POST') {
      Object.assign(state, { refreshRequests: 0, faultedRequests: 0, fault: null, faultCount: 0 });
      json(res, 200, {});
      return;
    }
    app(req, res);
  });
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});
