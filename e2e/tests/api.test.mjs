// The first hour of an operator and a partner: the CLI makes the first
// admin, the HTTP transport passes the GraphQL-over-HTTP audit, a partner
// API key reads within its scopes only, and a WebSocket with bad
// credentials is told why it was refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { serverAudits } from 'graphql-http';
import WebSocket from 'ws';
import { start } from '../lib/server.mjs';
import { client, ok } from '../lib/graphql.mjs';
import { createAdmin, signIn } from '../lib/accounts.mjs';

let server;
before(async () => {
  server = await start();
});
after(async () => {
  await server?.stop();
});

describe('the first admin, from the CLI', () => {
  test('users create makes an ADMIN who can sign in', async () => {
    const admin = await createAdmin(server);
    assert.equal(admin.user.role, 'ADMIN');
    const data = ok(await admin.gql('{ viewer { role permissions } }'));
    assert.ok(data.viewer.permissions.includes('MANAGE_USERS'));
  });

  test('bad input is refused with a message and a non-zero exit, changing nothing', async () => {
    const bad = await server.cli(['users', 'create', '--email', 'x@e2e.test', '--name', 'X', '--role', 'OWNER'], { input: 'a long passphrase\n' });
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr + bad.stdout, /role/i);
    const again = await server.cli(['users', 'create', '--email', 'admin@e2e.test', '--name', 'Twice', '--role', 'ADMIN'], { input: 'another long passphrase\n' });
    assert.notEqual(again.code, 0, 'a second account with the same email was created');
    const res = await client(server.base)(
      'mutation($in: SignInInput!) { signIn(input: $in) { token userErrors { code } } }',
      { in: { email: 'x@e2e.test', password: 'a long passphrase' } },
    );
    assert.equal(res.data.signIn.token, null, 'the refused account exists');
  });

  test('users set-role changes a role', async () => {
    const reg = await client(server.base)(
      'mutation($in: RegisterInput!) { register(input: $in) { token userErrors { code } } }',
      { in: { email: 'staff@e2e.test', name: 'Sam Staff', password: 'a long passphrase here' } },
    );
    assert.ok(reg.data.register.token);
    const res = await server.cli(['users', 'set-role', 'staff@e2e.test', 'STAFF']);
    assert.equal(res.code, 0, res.stderr);
    const staff = await signIn(server, 'staff@e2e.test', 'a long passphrase here');
    assert.equal(staff.user.role, 'STAFF');
  });
});

test('graphql-http server audits: every audit passes, no warnings', async () => {
  const results = [];
  for (const audit of serverAudits({ url: server.base + '/graphql', fetchFn: fetch })) {
    const result = await audit.fn();
    results.push({ id: audit.id, name: audit.name, status: result.status, reason: result.reason });
  }
  assert.ok(results.length > 40, `only ${results.length} audits ran`);
  const notOk = results.filter((r) => r.status !== 'ok');
  assert.deepEqual(notOk, [], `${notOk.length} of ${results.length} audits did not pass`);
});

test('a partner API key reads within its scopes and is refused outside them', async () => {
  const admin = await signIn(server, 'admin@e2e.test', 'correct horse battery staple');
  const created = ok(await admin.gql(
    'mutation($in: CreateApiKeyInput!) { createApiKey(input: $in) { token apiKey { id prefix scopes } userErrors { field message code } } }',
    { in: { name: 'E2E partner', scopes: ['MANAGE_ORDERS'], expiresAt: new Date(Date.now() + 86_400_000).toISOString() } },
  ));
  const key = created.createApiKey.token;
  assert.match(key, /^fdk_/);
  const partner = client(server.base, key);

  const within = await partner('{ orders(first: 5) { totalCount } }');
  assert.equal(within.errors, undefined, JSON.stringify(within.errors));
  assert.equal(typeof within.data.orders.totalCount, 'number');

  for (const outside of ['{ users(first: 1) { totalCount } }', '{ auditLog(first: 1) { edges { node { action } } } }', '{ apiKeys(first: 1) { totalCount } }']) {
    const res = await partner(outside);
    const codes = (res.errors ?? []).map((e) => e.extensions?.code);
    assert.ok(codes.includes('FORBIDDEN'), `${outside}: ${JSON.stringify(res)}`);
  }
  const mint = await partner(
    'mutation($in: CreateApiKeyInput!) { createApiKey(input: $in) { token userErrors { code } } }',
    { in: { name: 'child', scopes: ['MANAGE_ORDERS'] } },
  );
  assert.ok(!mint.data?.createApiKey?.token, 'a key minted another key');
});

test('a WebSocket with bad credentials is closed with 4403 and says why', async () => {
  const ws = new WebSocket(server.base.replace(/^http/, 'ws') + '/graphql', 'graphql-transport-ws');
  const closed = new Promise((resolve, reject) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on('error', reject);
  });
  ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: 'Bearer fds_not_a_real_token' } })));
  const { code, reason } = await closed;
  assert.equal(code, 4403);
  assert.match(reason, /credentials/);
});
