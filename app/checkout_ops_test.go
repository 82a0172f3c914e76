package app_test

// The GraphQL operations of a checkout, exactly as docs/checkout.md shows
// them (TestCheckoutDocsShowTheTestedOperations keeps the two in step).

const cartFields = `fragment CartFields on Cart {
  id
  currency
  quantity
  priceChanged
  lines {
    id
    quantity
    priceChanged
    available
    problem { code message }
    unitPrice { amount currency formatted }
    unitPriceWhenAdded { amount formatted }
    lineTotal { amount formatted }
    variant { id title sku product { title } }
  }
  totals {
    subtotal { amount formatted }
    discount { amount formatted }
    shipping { amount formatted }
    tax { amount formatted }
    total { amount currency formatted }
    taxInclusive
  }
  email
  shippingAddress { name line1 city region postalCode country }
  shippingMethod { id name }
  shippingMethods { id name kind price { amount formatted } }
  discountCode
  problems { field message code }
}`

const opCreateCart = `mutation CreateCart($input: CreateCartInput!) {
  createCart(input: $input) {
    cartToken
    cart { ...CartFields }
    userErrors { field message code }
  }
}
` + cartFields

const opAddCartLine = `mutation AddCartLine($input: AddCartLineInput!) {
  addCartLine(input: $input) {
    cart { ...CartFields }
    userErrors { field message code }
  }
}
` + cartFields

const opUpdateCartLine = `mutation UpdateCartLine($input: UpdateCartLineInput!) {
  updateCartLine(input: $input) {
    cart { ...CartFields }
    userErrors { field message code }
  }
}
` + cartFields

const opCart = `query Cart($cartToken: String) {
  cart(cartToken: $cartToken) { ...CartFields }
}
` + cartFields

const opMergeCart = `mutation MergeCart($input: MergeCartInput!) {
  mergeCart(input: $input) {
    cart { ...CartFields }
    userErrors { field message code }
  }
}
` + cartFields

const opSetCheckoutDetails = `mutation SetCheckoutDetails($input: SetCheckoutDetailsInput!) {
  setCheckoutDetails(input: $input) {
    cart { ...CartFields }
    userErrors { field message code }
  }
}
` + cartFields

const opApplyDiscountCode = `mutation ApplyDiscountCode($input: ApplyDiscountCodeInput!) {
  applyDiscountCode(input: $input) {
    cart { ...CartFields }
    userErrors { field message code }
  }
}
` + cartFields

const opPlaceOrder = `mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    order { id number state reservedUntil totals { total { amount currency formatted } } }
    payment { gateway clientSecret amount { amount currency } }
    userErrors { field message code }
  }
}`

const opCompleteDevelopmentPayment = `mutation CompleteDevelopmentPayment($input: CompleteDevelopmentPaymentInput!) {
  completeDevelopmentPayment(input: $input) {
    order { id state }
    userErrors { field message code }
  }
}`

const orderFields = `fragment OrderFields on Order {
  id
  number
  state
  email
  currency
  paymentFailure
  shippingMethodName
  discountCode
  shippingAddress { name line1 city region postalCode country }
  lines { title variantTitle sku quantity unitPrice { amount formatted } lineTotal { amount formatted } }
  totals {
    subtotal { amount formatted }
    discount { amount formatted }
    shipping { amount formatted }
    tax { amount formatted }
    total { amount currency formatted }
    taxInclusive
  }
  amountRefunded { amount formatted }
  carrier
  trackingNumber
  trackingUrl
  createdAt
  paidAt
  history { fromState toState actor reason at }
}`

const opOrder = `query Order($id: ID!, $orderToken: String) {
  order(id: $id, orderToken: $orderToken) { ...OrderFields }
}
` + orderFields

const opOrderStatusChanged = `subscription OrderStatusChanged($orderId: ID!, $orderToken: String) {
  orderStatusChanged(orderId: $orderId, orderToken: $orderToken) {
    orderId
    fromState
    state
    reason
    at
    order { id state paymentFailure }
  }
}`

const opMyOrders = `query MyOrders($first: Int, $after: Cursor) {
  myOrders(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id number state createdAt totals { total { amount formatted } } } }
  }
}`

const opOrders = `query Orders($first: Int, $after: Cursor, $filter: OrderFilter) {
  orders(first: $first, after: $after, filter: $filter) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id number state email customerId createdAt totals { total { amount formatted } } } }
  }
}`

const opFulfilOrder = `mutation FulfilOrder($input: FulfilOrderInput!) {
  fulfilOrder(input: $input) {
    order { id state carrier trackingNumber trackingUrl fulfilledAt }
    userErrors { field message code }
  }
}`

const opCancelOrder = `mutation CancelOrder($input: CancelOrderInput!) {
  cancelOrder(input: $input) {
    order { id state cancelledAt }
    userErrors { field message code }
  }
}`

const opRefundOrder = `mutation RefundOrder($input: RefundOrderInput!) {
  refundOrder(input: $input) {
    order { id state amountRefunded { amount formatted } }
    userErrors { field message code }
  }
}`

// checkoutOps are the operations docs/checkout.md must show verbatim.
var checkoutOps = map[string]string{
	"CreateCart": opCreateCart, "AddCartLine": opAddCartLine, "UpdateCartLine": opUpdateCartLine,
	"Cart": opCart, "MergeCart": opMergeCart, "SetCheckoutDetails": opSetCheckoutDetails,
	"ApplyDiscountCode": opApplyDiscountCode, "PlaceOrder": opPlaceOrder,
	"CompleteDevelopmentPayment": opCompleteDevelopmentPayment, "Order": opOrder,
	"OrderStatusChanged": opOrderStatusChanged, "MyOrders": opMyOrders, "Orders": opOrders,
	"FulfilOrder": opFulfilOrder, "CancelOrder": opCancelOrder, "RefundOrder": opRefundOrder,
	"CreateShippingMethod": opCreateShippingMethod, "CreateTaxRate": opCreateTaxRate,
	"CreateDiscountCode": opCreateDiscountCode, "DiscountCodes": opDiscountCodes,
}

// Pricing rules administration (staff with MANAGE_ORDERS).

const opCreateShippingMethod = `mutation CreateShippingMethod($input: CreateShippingMethodInput!) {
  createShippingMethod(input: $input) {
    shippingMethod { id name kind country region price { amount formatted } freeOver { amount formatted } active }
    userErrors { field message code }
  }
}`

const opCreateTaxRate = `mutation CreateTaxRate($input: CreateTaxRateInput!) {
  createTaxRate(input: $input) {
    taxRate { id name country region rateBp inclusive }
    userErrors { field message code }
  }
}`

const opCreateDiscountCode = `mutation CreateDiscountCode($input: CreateDiscountCodeInput!) {
  createDiscountCode(input: $input) {
    discountCode { id code kind value currency minSubtotal usageLimit perCustomerLimit usedCount active }
    userErrors { field message code }
  }
}`

const opDiscountCodes = `query DiscountCodes($first: Int, $filter: DiscountCodeFilter) {
  discountCodes(first: $first, filter: $filter) {
    totalCount
    edges { node { id code kind value usedCount usageLimit active } }
  }
}`
