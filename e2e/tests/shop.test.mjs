// The shop from an empty database: an admin (made with the CLI) sets up a
// product, shipping, tax and a discount code through the API; a guest
// browses, fills a cart, checks out with a discount, pays with the
// development gateway while watching orderStatusChanged live; staff fulfil
// and refund, and each change arrives on the subscription. Operations as in
// docs/catalog.md and docs/checkout.md.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { start } from '../lib/server.mjs';
import { client, ok, subscribe, wsClient } from '../lib/graphql.mjs';
import { createAdmin } from '../lib/accounts.mjs';

let server;
let ws;
before(async () => {
  server = await start();
});
after(async () => {
  await ws?.dispose();
  await server?.stop();
});

const CartFields = `fragment CartFields on Cart {
  id currency quantity
  lines { id quantity variant { id sku } }
  totals { subtotal { amount } discount { amount } shipping { amount } tax { amount } total { amount currency } taxInclusive }
  shippingMethods { id name price { amount } }
  shippingMethod { id }
  discountCode
  problems { field message code }
}`;

test('shop: browse, cart, address, shipping, discount, order, pay, fulfil, refund, live', async () => {
  const admin = await createAdmin(server);

  // Staff set the shop up.
  const product = ok(await admin.gql(
    `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id slug variants { id sku } } userErrors { field code message } } }`,
    { in: { title: 'E2E Linen Shirt', status: 'ACTIVE', tags: ['e2e'], variants: [{ sku: 'E2E-LS', price: { amount: 5000, currency: 'AUD' }, onHand: 5 }] } },
  )).createProduct.product;
  const shipping = ok(await admin.gql(
    `mutation($in: CreateShippingMethodInput!) { createShippingMethod(input: $in) { shippingMethod { id } userErrors { field message code } } }`,
    { in: { name: 'Standard', kind: 'FLAT', country: 'AU', price: 1000, currency: 'AUD' } },
  )).createShippingMethod.shippingMethod;
  ok(await admin.gql(
    `mutation($in: CreateTaxRateInput!) { createTaxRate(input: $in) { taxRate { id } userErrors { field message code } } }`,
    { in: { name: 'GST', country: 'AU', rateBp: 1000, inclusive: true } },
  ));
  ok(await admin.gql(
    `mutation($in: CreateDiscountCodeInput!) { createDiscountCode(input: $in) { userErrors { field message code } } }`,
    { in: { code: 'E2E10', kind: 'PERCENT', value: 1000 } },
  ));

  // A guest browses the catalog.
  const guest = client(server.base);
  const listing = ok(await guest(`{ products(first: 20) { totalCount edges { node { id slug variants { id sku price { amount currency } availableForSale } } } } }`));
  const found = listing.products.edges.map((e) => e.node).find((p) => p.id === product.id);
  assert.ok(found, 'the new product is not listed');
  const variant = found.variants[0];
  assert.equal(variant.availableForSale, true);

  // Cart, details, shipping, discount.
  const created = ok(await guest(`mutation($in: CreateCartInput!) { createCart(input: $in) { cartToken cart { id } userErrors { field message code } } }`, { in: { currency: 'AUD' } }));
  const cartToken = created.createCart.cartToken;
  let cart = ok(await guest(`mutation($in: AddCartLineInput!) { addCartLine(input: $in) { cart { ...CartFields } userErrors { field message code } } } ${CartFields}`,
    { in: { cartToken, variantId: variant.id, quantity: 2 } })).addCartLine.cart;
  assert.equal(cart.totals.subtotal.amount, 10000);
  cart = ok(await guest(`mutation($in: SetCheckoutDetailsInput!) { setCheckoutDetails(input: $in) { cart { ...CartFields } userErrors { field message code } } } ${CartFields}`,
    { in: { cartToken, email: 'pat@e2e.test', shippingAddress: { name: 'Pat Lee', line1: '1 George St', city: 'Sydney', region: 'nsw', postalCode: '2000', country: 'au' } } })).setCheckoutDetails.cart;
  assert.ok(cart.shippingMethods.some((m) => m.id === shipping.id), 'the shipping method is not offered');
  cart = ok(await guest(`mutation($in: SetCheckoutDetailsInput!) { setCheckoutDetails(input: $in) { cart { ...CartFields } userErrors { field message code } } } ${CartFields}`,
    { in: { cartToken, shippingMethodId: shipping.id } })).setCheckoutDetails.cart;
  cart = ok(await guest(`mutation($in: ApplyDiscountCodeInput!) { applyDiscountCode(input: $in) { cart { ...CartFields } userErrors { field message code } } } ${CartFields}`,
    { in: { cartToken, code: 'e2e10' } })).applyDiscountCode.cart;
  assert.equal(cart.totals.discount.amount, 1000);
  assert.equal(cart.totals.shipping.amount, 1000);
  assert.equal(cart.totals.total.amount, 10000, JSON.stringify(cart.totals));

  // Place the order (twice with one key: one order).
  const key = randomUUID();
  const place = `mutation($in: PlaceOrderInput!) { placeOrder(input: $in) { order { id number state totals { total { amount } } } payment { gateway clientSecret } userErrors { field message code } } }`;
  const placed = ok(await guest(place, { in: { cartToken, idempotencyKey: key } })).placeOrder;
  assert.equal(placed.order.state, 'PENDING_PAYMENT');
  assert.equal(placed.payment.gateway, 'development');
  const again = ok(await guest(place, { in: { cartToken, idempotencyKey: key } })).placeOrder;
  assert.equal(again.order.id, placed.order.id);
  const orderId = placed.order.id;

  // Watch it live, as the guest, over graphql-transport-ws.
  ws = wsClient(server.base);
  const live = await subscribe(ws,
    `subscription($orderId: ID!, $orderToken: String) { orderStatusChanged(orderId: $orderId, orderToken: $orderToken) { orderId fromState state reason } }`,
    { orderId, orderToken: cartToken });

  // Pay with the development gateway.
  ok(await guest(`mutation($in: CompleteDevelopmentPaymentInput!) { completeDevelopmentPayment(input: $in) { order { id state } userErrors { field message code } } }`,
    { in: { orderId, orderToken: cartToken, succeed: true } }));
  assert.equal((await live.next((e) => e.data?.orderStatusChanged?.state === 'PAID')).data.orderStatusChanged.fromState, 'PENDING_PAYMENT');

  // Staff fulfil and refund part of it.
  ok(await admin.gql(`mutation($in: FulfilOrderInput!) { fulfilOrder(input: $in) { order { id state } userErrors { field message code } } }`,
    { in: { orderId, carrier: 'Australia Post', trackingNumber: 'E2E123' } }));
  await live.next((e) => e.data?.orderStatusChanged?.state === 'FULFILLED');
  ok(await admin.gql(`mutation($in: RefundOrderInput!) { refundOrder(input: $in) { order { id state } userErrors { field message code } } }`,
    { in: { orderId, amount: 500, reason: 'one box damaged', idempotencyKey: randomUUID() } }));
  await live.next((e) => e.data?.orderStatusChanged?.state === 'PARTIALLY_REFUNDED', 30_000);

  const order = ok(await guest(`query($id: ID!, $t: String) { order(id: $id, orderToken: $t) { state amountRefunded { amount } history { toState } } }`, { id: orderId, t: cartToken })).order;
  assert.equal(order.state, 'PARTIALLY_REFUNDED');
  assert.equal(order.amountRefunded.amount, 500);
  live.stop();
});
