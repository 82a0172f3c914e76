package model

import (
	"time"

	"frontdesk/commerce/address"
	"frontdesk/ent"
	"frontdesk/ent/order"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/money"
)

// Hand-written commerce models: a cart is shown as package commerce prices
// it for this request, so its fields are filled once from that view.

// Totals are the amounts of a cart or order.
type Totals struct {
	Subtotal     money.Money `json:"subtotal"`
	Discount     money.Money `json:"discount"`
	Shipping     money.Money `json:"shipping"`
	Tax          money.Money `json:"tax"`
	Total        money.Money `json:"total"`
	TaxInclusive bool        `json:"taxInclusive"`
}

// Cart is a cart priced as of now.
type Cart struct {
	ID              gid.ID               `json:"id"`
	Currency        string               `json:"currency"`
	Lines           []*CartLine          `json:"lines"`
	Quantity        int                  `json:"quantity"`
	Totals          *Totals              `json:"totals"`
	PriceChanged    bool                 `json:"priceChanged"`
	Problems        []*errcode.UserError `json:"problems"`
	Email           *string              `json:"email,omitempty"`
	ShippingAddress *address.Address     `json:"shippingAddress,omitempty"`
	BillingAddress  *address.Address     `json:"billingAddress,omitempty"`
	DiscountCode    *string              `json:"discountCode,omitempty"`
	SignedIn        bool                 `json:"signedIn"`
	OrderID         *gid.ID              `json:"orderId,omitempty"`
	CreatedAt       time.Time            `json:"createdAt"`
	UpdatedAt       time.Time            `json:"updatedAt"`
	// Entity is the stored cart, for the field resolvers.
	Entity *ent.Cart `json:"-"`
}

// CartLine is one priced cart line.
type CartLine struct {
	ID                 gid.ID             `json:"id"`
	VariantID          gid.ID             `json:"variantId"`
	Quantity           int                `json:"quantity"`
	UnitPrice          money.Money        `json:"unitPrice"`
	UnitPriceWhenAdded money.Money        `json:"unitPriceWhenAdded"`
	PriceChanged       bool               `json:"priceChanged"`
	LineTotal          money.Money        `json:"lineTotal"`
	Available          bool               `json:"available"`
	Problem            *errcode.UserError `json:"problem,omitempty"`
}

// PaymentIntent is what the client confirms the payment with.
type PaymentIntent struct {
	Gateway      string      `json:"gateway"`
	ClientSecret *string     `json:"clientSecret,omitempty"`
	Amount       money.Money `json:"amount"`
}

// OrderStatusChange is one live change of an order.
type OrderStatusChange struct {
	OrderID   gid.ID       `json:"orderId"`
	FromState *order.State `json:"fromState,omitempty"`
	State     order.State  `json:"state"`
	Reason    string       `json:"reason"`
	At        time.Time    `json:"at"`
	Order     *ent.Order   `json:"order"`
}
