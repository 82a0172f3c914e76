// Stock is never stale (issue 15): a storefront listing answered from the
// response cache shows a sale, a release and a restock on the very next
// request, under any operation name, and on MariaDB + Redis on another
// replica too. Before the fix a listing kept `stockLevel: 1,
// availableForSale: true` for five minutes after the last unit sold.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { start } from '../lib/server.mjs';
import { client, ok } from '../lib/graphql.mjs';
import { createAdmin } from '../lib/accounts.mjs';

let servers = [];
before(async () => {
  const first = await start();
  servers.push(first);
  // Replicas share a database: MariaDB runs only.
  if (process.env.E2E_MYSQL_URL) servers.push(await start({}, { replicaOf: first }));
});
after(async () => {
  for (const s of servers.reverse()) await s.stop();
});

const listing = (name) => `query ${name}($tag: String!) {
  products(first: 5, filter: { tags: [$tag] }) { totalCount edges { node { id variants { id stockLevel availableForSale } } } }
}`;

test('stock: a sale, a release and a restock show at once in cached listings, on every replica', async () => {
  const [first] = servers;
  const admin = await createAdmin(first);
  const tag = 'stock-' + randomUUID().slice(0, 8);
  const product = ok(await admin.gql(
    `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id variants { id } } userErrors { field code message } } }`,
    { in: { title: 'Last One Mug', status: 'ACTIVE', tags: [tag], variants: [{ sku: tag.toUpperCase(), price: { amount: 2500, currency: 'AUD' }, onHand: 1 }] } },
  )).createProduct.product;
  ok(await admin.gql(
    `mutation($in: CreateShippingMethodInput!) { createShippingMethod(input: $in) { shippingMethod { id } userErrors { field message code } } }`,
    { in: { name: 'Standard', kind: 'FLAT', country: 'AU', price: 1000, currency: 'AUD' } },
  ));
  const variantId = product.variants[0].id;

  // Every replica, two operation names, each asked twice so the second
  // answer comes from the response cache.
  const expect = async (stockLevel, availableForSale, when) => {
    for (const s of servers) {
      const guest = client(s.base);
      for (const name of ['Shelf', 'OtherShelf']) {
        for (let i = 0; i < 2; i++) {
          const v = ok(await guest(listing(name), { tag })).products.edges[0].node.variants[0];
          assert.deepEqual({ stockLevel: v.stockLevel, availableForSale: v.availableForSale }, { stockLevel, availableForSale },
            `${when}: ${name} #${i + 1} on ${s.base}`);
        }
      }
    }
  };
  await expect(1, true, 'before the sale');

  // A guest orders the last unit: placing the order reserves it.
  const guest = client(first.base);
  const cartToken = ok(await guest(`mutation($in: CreateCartInput!) { createCart(input: $in) { cartToken userErrors { field message code } } }`,
    { in: { currency: 'AUD' } })).createCart.cartToken;
  ok(await guest(`mutation($in: AddCartLineInput!) { addCartLine(input: $in) { cart { id } userErrors { field message code } } }`,
    { in: { cartToken, variantId, quantity: 1 } }));
  const cart = ok(await guest(`mutation($in: SetCheckoutDetailsInput!) { setCheckoutDetails(input: $in) { cart { shippingMethods { id } } userErrors { field message code } } }`,
    { in: { cartToken, email: 'last@e2e.test', shippingAddress: { name: 'Pat Lee', line1: '1 George St', city: 'Sydney', region: 'nsw', postalCode: '2000', country: 'au' } } })).setCheckoutDetails.cart;
  ok(await guest(`mutation($in: SetCheckoutDetailsInput!) { setCheckoutDetails(input: $in) { cart { id } userErrors { field message code } } }`,
    { in: { cartToken, shippingMethodId: cart.shippingMethods[0].id } }));
  const orderId = ok(await guest(`mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { order { id } userErrors { field message code } } }`,
    { in: { cartToken, idempotencyKey: randomUUID() } })).placeOrder.order.id;
  await expect(0, false, 'after the order reserved the last unit');

  // Staff cancel the unpaid order: the unit is released.
  ok(await admin.gql(`mutation($in: CancelOrderInput!) { cancelOrder(input: $in) { order { state } userErrors { field message code } } }`,
    { in: { orderId, reason: 'customer changed their mind' } }));
  await expect(1, true, 'after the cancellation released it');

  // Stock taken and restocked by staff.
  ok(await admin.gql(`mutation($in: AdjustStockInput!) { adjustStock(input: $in) { userErrors { field message code } } }`,
    { in: { variantId, delta: -1, reason: 'damaged' } }));
  await expect(0, false, 'after the stock was written off');
  ok(await admin.gql(`mutation($in: AdjustStockInput!) { adjustStock(input: $in) { userErrors { field message code } } }`,
    { in: { variantId, delta: 3, reason: 'delivery' } }));
  await expect(3, true, 'after the restock');
});
