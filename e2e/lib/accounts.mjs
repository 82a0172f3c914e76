// Accounts made the way an operator and a customer make them: the first
// admin with the CLI, everyone else through the API.
import assert from 'node:assert/strict';
import { client, ok } from './graphql.mjs';

export async function createAdmin(server, email = 'admin@e2e.test', password = 'correct horse battery staple') {
  const res = await server.cli(['users', 'create', '--email', email, '--name', 'E2E Admin', '--role', 'ADMIN'], { input: password + '\n' });
  assert.equal(res.code, 0, `users create: ${res.stdout}${res.stderr}`);
  return signIn(server, email, password);
}

export async function signIn(server, email, password) {
  const data = ok(await client(server.base)(
    'mutation($in: SignInInput!) { signIn(input: $in) { token user { id role } userErrors { field message code } } }',
    { in: { email, password } },
  ));
  assert.ok(data.signIn.token, 'signIn gave no token');
  return { token: data.signIn.token, user: data.signIn.user, gql: client(server.base, data.signIn.token) };
}

export async function register(server, email, name = 'Pat Lee', password = 'a long passphrase here') {
  const data = ok(await client(server.base)(
    'mutation($in: RegisterInput!) { register(input: $in) { token user { id } userErrors { field message code } } }',
    { in: { email, name, password } },
  ));
  return { token: data.register.token, user: data.register.user, gql: client(server.base, data.register.token) };
}
