// Storefront text search is never stale: `products(filter: { search })`,
// sorted by relevance (the default with a search, asked for explicitly,
// and reversed), shows a created, a renamed, an archived and a draft
// product as they are on the very next request, answered fresh or from
// the response cache, on embedded SQLite and on MariaDB + Redis on another
// replica too. Searched words are made up per run, so nothing else
// matches. Only membership, counts and paging are asserted, never the
// order between matches: the ranking itself may change.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { start } from '../lib/server.mjs';
import { client, ok } from '../lib/graphql.mjs';
import { createAdmin } from '../lib/accounts.mjs';

// Every check is asked many times over (each relevance order, twice, on
// every replica), more than the 300 guest requests a minute one address
// may make by default; rate limiting is not what this file tests, so the
// guest budget is off.
const env = { FRONTDESK_RATE_LIMIT_ANONYMOUS: 'off' };

let servers = [];
before(async () => {
  const first = await start(env);
  servers.push(first);
  // Replicas share a database: MariaDB runs only.
  if (process.env.E2E_MYSQL_URL) servers.push(await start(env, { replicaOf: first }));
});
after(async () => {
  for (const s of servers.reverse()) await s.stop();
});

const searchQuery = `query Search($filter: ProductFilter, $sort: ProductSort, $reverse: Boolean, $first: Int, $after: Cursor) {
  products(first: $first, after: $after, filter: $filter, sort: $sort, reverse: $reverse) {
    totalCount
    edges { cursor node { id title status } }
    pageInfo { hasNextPage endCursor }
  }
}`;

// A made-up word of letters and digits, unlike anything other tests write.
const madeUp = (lead) => lead + randomUUID().replace(/-/g, '').slice(0, 8);

// The relevance orders a membership check is asked in: the default with a
// search, RELEVANCE named, and RELEVANCE reversed.
const orders = [
  { label: 'default sort', vars: {} },
  { label: 'sort RELEVANCE', vars: { sort: 'RELEVANCE' } },
  { label: 'sort RELEVANCE reverse', vars: { sort: 'RELEVANCE', reverse: true } },
];

const createProduct = `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id title status } userErrors { field code message } } }`;

test('search: created, renamed, archived and draft products show at once in search, on every replica', async () => {
  const [first] = servers;
  const admin = await createAdmin(first);
  const staffOn = Object.fromEntries(servers.map((s) => [s.base, client(s.base, admin.token)]));

  const word = madeUp('zq');
  const prefix = word.slice(0, 5);
  const newWord = madeUp('zr');
  const draftWord = madeUp('zd');
  const Word = word[0].toUpperCase() + word.slice(1);

  // search asks one server, as a guest or as staff, and returns the page.
  const search = async (s, { staff = false, filter, ...rest }, label) => {
    const gql = staff ? staffOn[s.base] : client(s.base);
    const vars = { first: 20, filter, ...rest };
    const res = await gql(searchQuery, vars);
    assert.equal(res.errors, undefined, `${label}: ${JSON.stringify(vars)} on ${s.base}: ${JSON.stringify(res.errors)}`);
    return res.data.products;
  };

  // expect checks on every replica, in every relevance order, each asked
  // twice (the second answer may come from the response cache), that the
  // search finds exactly the products in ids (in any order).
  const expect = async (step, { staff = false, filter }, ids) => {
    const want = [...ids].sort();
    for (const s of servers) {
      for (const o of orders) {
        for (let i = 1; i <= 2; i++) {
          const label = `${step}: ${staff ? 'staff' : 'guest'} ${JSON.stringify(filter)} ${o.label} #${i} on ${s.base}`;
          const page = await search(s, { staff, filter, ...o.vars }, label);
          const got = page.edges.map((e) => e.node.id);
          assert.deepEqual([...got].sort(), want, `${label}: found ${JSON.stringify(page.edges.map((e) => e.node))}`);
          assert.equal(page.totalCount, want.length, `${label}: totalCount`);
          assert.equal(page.pageInfo.hasNextPage, false, `${label}: hasNextPage`);
        }
      }
    }
  };

  // pages walks a search one product at a time; on every replica (and,
  // with two, starting on one and continuing on the other) it must give
  // each of ids once, hasNextPage true until the last page.
  const expectPages = async (step, filter, ids) => {
    const want = [...ids].sort();
    const routes = servers.map((s) => [s, s]);
    if (servers.length > 1) routes.push([servers[0], servers[1]], [servers[1], servers[0]]);
    for (const [a, b] of routes) {
      for (const o of orders) {
        for (let i = 1; i <= 2; i++) {
          const label = `${step}: paging ${o.label} #${i} from ${a.base} to ${b.base}`;
          const seen = [];
          let cursor = null;
          for (let n = 0; n < want.length; n++) {
            const s = n === 0 ? a : b;
            const page = await search(s, { filter, first: 1, ...(cursor ? { after: cursor } : {}), ...o.vars }, `${label} page ${n + 1}`);
            assert.equal(page.edges.length, 1, `${label} page ${n + 1}: ${JSON.stringify(page)}`);
            assert.equal(page.totalCount, want.length, `${label} page ${n + 1}: totalCount`);
            assert.equal(page.pageInfo.hasNextPage, n < want.length - 1, `${label} page ${n + 1}: hasNextPage`);
            assert.ok(page.pageInfo.endCursor, `${label} page ${n + 1}: endCursor`);
            seen.push(page.edges[0].node.id);
            cursor = page.pageInfo.endCursor;
          }
          assert.deepEqual([...seen].sort(), want, `${label}: each product once, got ${JSON.stringify(seen)}`);
        }
      }
    }
  };

  // Step 3: nothing has the word yet.
  await expect('step 3, before any product', { filter: { search: word } }, []);
  await expect('step 3, before any product, prefix', { filter: { search: prefix } }, []);

  // Step 4: one active product with the word in its title.
  const one = ok(await admin.gql(createProduct, {
    in: { title: `${Word} teapot`, status: 'ACTIVE', variants: [{ sku: 'S' + madeUp('a').toUpperCase(), price: { amount: 2500, currency: 'AUD' }, onHand: 5 }] },
  })).createProduct.product;
  assert.equal(one.status, 'ACTIVE', 'step 4: product 1 status');
  await expect('step 4, product 1 created', { filter: { search: word } }, [one.id]);
  await expect('step 4, product 1 created, prefix', { filter: { search: prefix } }, [one.id]);
  await expect('step 4, product 1 created, upper case', { filter: { search: word.toUpperCase() } }, [one.id]);
  await expect('step 4, priceMax below the price', { filter: { search: word, priceMax: 2499 } }, []);
  await expect('step 4, priceMax at the price', { filter: { search: word, priceMax: 2500 } }, [one.id]);
  await expect('step 4, priceMax above the price', { filter: { search: word, priceMax: 10000 } }, [one.id]);
  await expect('step 4, priceMin above the price', { filter: { search: word, priceMin: 2501 } }, []);

  // Step 5: a second active product, the word twice in its title and once
  // in its description, at a higher price.
  const two = ok(await admin.gql(createProduct, {
    in: {
      title: `${Word} ${word} bowl`, description: `A **bowl** for ${word} lovers.`, status: 'ACTIVE',
      variants: [{ sku: 'S' + madeUp('b').toUpperCase(), price: { amount: 4000, currency: 'AUD' }, onHand: 5 }],
    },
  })).createProduct.product;
  await expect('step 5, product 2 created', { filter: { search: word } }, [one.id, two.id]);
  await expect('step 5, product 2 created, prefix', { filter: { search: prefix } }, [one.id, two.id]);
  await expect('step 5, priceMax between the prices', { filter: { search: word, priceMax: 3000 } }, [one.id]);
  await expect('step 5, priceMin between the prices', { filter: { search: word, priceMin: 3000 } }, [two.id]);
  await expect('step 5, bowl and the word', { filter: { search: `bowl ${word}` } }, [two.id]);
  await expectPages('step 5', { search: word }, [one.id, two.id]);

  // Step 6: product 1 renamed; its title no longer has the word.
  const renamed = ok(await admin.gql(
    `mutation($in: UpdateProductInput!) { updateProduct(input: $in) { product { id title } userErrors { field code message } } }`,
    { in: { id: one.id, title: `Plain ${newWord} teapot` } },
  )).updateProduct.product;
  assert.equal(renamed.title, `Plain ${newWord} teapot`, 'step 6: the rename');
  await expect('step 6, product 1 renamed', { filter: { search: word } }, [two.id]);
  await expect('step 6, product 1 renamed, prefix', { filter: { search: prefix } }, [two.id]);
  await expect('step 6, product 1 renamed, new word', { filter: { search: newWord } }, [one.id]);
  await expectPages('step 6', { search: word }, [two.id]);

  // Step 7: product 2 archived; guests no longer find it, staff asking for
  // archived products do.
  const archived = ok(await admin.gql(
    `mutation($in: ProductRefInput!) { archiveProduct(input: $in) { product { id status } userErrors { field code message } } }`,
    { in: { id: two.id } },
  )).archiveProduct.product;
  assert.equal(archived.status, 'ARCHIVED', 'step 7: archiveProduct status');
  await expect('step 7, product 2 archived', { filter: { search: word } }, []);
  await expect('step 7, product 2 archived, prefix', { filter: { search: prefix } }, []);
  await expect('step 7, product 2 archived, guest asking for ARCHIVED', { filter: { search: word, status: ['ARCHIVED'] } }, []);
  await expect('step 7, product 2 archived', { staff: true, filter: { search: word, status: ['ARCHIVED'] } }, [two.id]);
  await expect('step 7, product 2 archived, new word still', { filter: { search: newWord } }, [one.id]);

  // Step 8: a draft with the word is never found by a guest; staff asking
  // for drafts do find it, so it is in the index.
  const draft = ok(await admin.gql(createProduct, {
    in: { title: `${Word} ${draftWord} jug`, description: `Not yet: ${word}.`, variants: [{ sku: 'S' + madeUp('c').toUpperCase(), price: { amount: 1000, currency: 'AUD' }, onHand: 5 }] },
  })).createProduct.product;
  assert.equal(draft.status, 'DRAFT', 'step 8: default status');
  await expect('step 8, draft created', { filter: { search: word } }, []);
  await expect('step 8, draft created, prefix', { filter: { search: prefix } }, []);
  await expect('step 8, draft created, its own word', { filter: { search: draftWord } }, []);
  await expect('step 8, draft created, guest asking for DRAFT', { filter: { search: draftWord, status: ['DRAFT'] } }, []);
  await expect('step 8, draft created', { staff: true, filter: { search: word, status: ['DRAFT'] } }, [draft.id]);
  await expect('step 8, draft created', { staff: true, filter: { search: word, status: ['DRAFT', 'ARCHIVED'] } }, [two.id, draft.id]);
});
