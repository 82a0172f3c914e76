// Package money is Frontdesk's value type for amounts: integer minor units
// (cents) and an ISO 4217 currency code, never floats. A Money is valid by
// construction when it comes from New or ParseCurrency.
package money

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Money is an amount in the minor units of Currency.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// ErrCurrency is returned for a code that is not a known ISO 4217 currency.
var ErrCurrency = errors.New("unknown ISO 4217 currency code")

// currencies maps the supported ISO 4217 codes to their number of minor
// unit digits and symbol. The list covers the currencies a shop is likely
// to price in; add codes here as needed.
var currencies = map[string]struct {
	digits int
	symbol string
}{
	"AUD": {2, "A$"}, "NZD": {2, "NZ$"}, "USD": {2, "$"}, "CAD": {2, "CA$"}, "EUR": {2, "€"},
	"GBP": {2, "£"}, "CHF": {2, "CHF "}, "SEK": {2, "SEK "}, "NOK": {2, "NOK "}, "DKK": {2, "DKK "},
	"PLN": {2, "PLN "}, "CZK": {2, "CZK "}, "JPY": {0, "¥"}, "KRW": {0, "₩"}, "CNY": {2, "CN¥"},
	"HKD": {2, "HK$"}, "SGD": {2, "S$"}, "INR": {2, "₹"}, "IDR": {2, "Rp"}, "MYR": {2, "RM"},
	"THB": {2, "฿"}, "PHP": {2, "₱"}, "ZAR": {2, "R"}, "BRL": {2, "R$"}, "MXN": {2, "MX$"},
	"AED": {2, "AED "}, "ILS": {2, "₪"}, "BHD": {3, "BHD "}, "KWD": {3, "KWD "}, "JOD": {3, "JOD "},
}

// ParseCurrency checks and normalises an ISO 4217 code ("aud" → "AUD").
func ParseCurrency(code string) (string, error) {
	c := strings.ToUpper(strings.TrimSpace(code))
	if _, ok := currencies[c]; !ok {
		return "", fmt.Errorf("%w: %q", ErrCurrency, code)
	}
	return c, nil
}

// New returns amount minor units of currency.
func New(amount int64, currency string) (Money, error) {
	c, err := ParseCurrency(currency)
	if err != nil {
		return Money{}, err
	}
	return Money{Amount: amount, Currency: c}, nil
}

// Digits returns the number of minor-unit digits of a currency (2 for AUD,
// 0 for JPY).
func Digits(currency string) int {
	if c, ok := currencies[currency]; ok {
		return c.digits
	}
	return 2
}

// Formatted renders m for display, such as "A$12.50" or "¥1200". It is a
// convenience for clients without a locale library; it does not localise.
func (m Money) Formatted() string {
	cur, ok := currencies[m.Currency]
	if !ok {
		cur.digits, cur.symbol = 2, m.Currency+" "
	}
	sign := ""
	a := m.Amount
	if a < 0 {
		sign, a = "-", -a
	}
	if cur.digits == 0 {
		return sign + cur.symbol + strconv.FormatInt(a, 10)
	}
	unit := int64(1)
	for range cur.digits {
		unit *= 10
	}
	return fmt.Sprintf("%s%s%d.%0*d", sign, cur.symbol, a/unit, cur.digits, a%unit)
}

// AddRate returns m increased by rate basis points (1000 = 10%), rounded
// half away from zero to the minor unit.
func (m Money) AddRate(basisPoints int64) Money {
	if basisPoints == 0 {
		return m
	}
	tax := m.Amount * basisPoints
	if tax >= 0 {
		tax = (tax + 5000) / 10000
	} else {
		tax = (tax - 5000) / 10000
	}
	return Money{Amount: m.Amount + tax, Currency: m.Currency}
}
