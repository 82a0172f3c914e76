// Package errcode holds the error vocabulary shared by every domain package
// and the one GraphQL error presenter.
//
// Two kinds of failure exist in the API. Expected business failures (slot
// taken, out of stock, duplicate slug) are *UserError values that mutations
// return inside their payload's `userErrors`. Everything else reaches the
// client as a top-level GraphQL error whose `extensions.code` is one of the
// Code constants below; errors that carry no code are faults and are shown
// only as INTERNAL with a request id.
package errcode

import (
	"errors"
	"strings"
	"time"
)

// Code is the value of `extensions.code` on a top-level GraphQL error.
type Code string

// Top-level error codes. Clients switch on these; never rename one.
const (
	Unauthenticated Code = "UNAUTHENTICATED"
	Forbidden       Code = "FORBIDDEN"
	NotFound        Code = "NOT_FOUND"
	BadUserInput    Code = "BAD_USER_INPUT"
	RateLimited     Code = "RATE_LIMITED"
	Internal        Code = "INTERNAL"

	ParseFailed      Code = "GRAPHQL_PARSE_FAILED"
	ValidationFailed Code = "GRAPHQL_VALIDATION_FAILED"
	// Limits that protect the server each have their own code.
	ComplexityLimit Code = "COMPLEXITY_LIMIT_EXCEEDED"
	DepthLimit      Code = "DEPTH_LIMIT_EXCEEDED"
	AliasLimit      Code = "ALIAS_LIMIT_EXCEEDED"
	TokenLimit      Code = "TOKEN_LIMIT_EXCEEDED"
	OperationLimit  Code = "OPERATION_LIMIT_EXCEEDED"
	PageSizeLimit   Code = "PAGE_SIZE_LIMIT_EXCEEDED"
	// Limits on the size of a document, checked before validation.
	FieldLimit          Code = "FIELD_LIMIT_EXCEEDED"
	FragmentLimit       Code = "FRAGMENT_LIMIT_EXCEEDED"
	InlineFragmentLimit Code = "INLINE_FRAGMENT_LIMIT_EXCEEDED"
	DirectiveLimit      Code = "DIRECTIVE_LIMIT_EXCEEDED"
	VariableLimit       Code = "VARIABLE_LIMIT_EXCEEDED"
	// ErrorLimit is the last error of a response that had more errors
	// than a response carries; the rest were dropped.
	ErrorLimit Code = "ERROR_LIMIT_EXCEEDED"
	// IntrospectionDisabled refuses __schema and __type where
	// introspection is switched off (production by default).
	IntrospectionDisabled Code = "INTROSPECTION_DISABLED"
	// SubscriptionLimit refuses a subscription over the per-connection
	// cap; ConnectionLimit a WebSocket over the per-user or per-IP cap.
	SubscriptionLimit Code = "SUBSCRIPTION_LIMIT_EXCEEDED"
	ConnectionLimit   Code = "CONNECTION_LIMIT_EXCEEDED"
	RequestTooLarge   Code = "REQUEST_TOO_LARGE"
	Timeout           Code = "TIMEOUT"
	MethodNotAllowed  Code = "METHOD_NOT_ALLOWED"
	PersistedNotFound Code = "PERSISTED_QUERY_NOT_FOUND"
)

// Error is an error that carries a top-level code and a message that is safe
// to show to any client.
type Error struct {
	Code    Code
	Message string
	// RetryAfter, when set, is reported as extensions.retryAfter (seconds).
	RetryAfter time.Duration
	// Err is an optional cause kept for logs and errors.Is; never shown.
	Err error
}

// New returns an *Error with the given code and client-safe message.
func New(code Code, message string) *Error { return &Error{Code: code, Message: message} }

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes two *Error values with the same code and message match, so that
// sentinels declared with New work with errors.Is after wrapping.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Message == e.Message
}

// Wrap returns a copy of e that records cause for logs.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// Of returns the code of the first *Error or *UserError in err's chain, and
// Internal for anything else.
func Of(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var u *UserError
	if errors.As(err, &u) {
		return BadUserInput
	}
	return Internal
}

// UserErrorCode classifies an expected business failure returned in a
// mutation payload. The GraphQL enum UserErrorCode mirrors these values.
type UserErrorCode string

// User error codes. Domain packages add theirs here so that the GraphQL enum
// stays the single list clients can rely on.
const (
	Invalid         UserErrorCode = "INVALID"
	Required        UserErrorCode = "REQUIRED"
	TooLong         UserErrorCode = "TOO_LONG"
	Taken           UserErrorCode = "TAKEN"
	Missing         UserErrorCode = "NOT_FOUND"
	Conflict        UserErrorCode = "CONFLICT"
	OutOfStock      UserErrorCode = "OUT_OF_STOCK"
	SlotUnavailable UserErrorCode = "SLOT_UNAVAILABLE"
	HoldLimit       UserErrorCode = "HOLD_LIMIT_REACHED"
	NotEligible     UserErrorCode = "NOT_ELIGIBLE"
	TooLate         UserErrorCode = "TOO_LATE"
	PaymentFailed   UserErrorCode = "PAYMENT_FAILED"
	Unsupported     UserErrorCode = "UNSUPPORTED"
)

// UserError is an expected business failure, tied to an input field when
// one is to blame. Field is the path inside the mutation's input, such as
// ["lines", "0", "quantity"].
type UserError struct {
	Field   []string
	Message string
	Code    UserErrorCode
}

// Invalidf returns a *UserError for the dotted field path.
func Invalidf(code UserErrorCode, field, message string) *UserError {
	var path []string
	if field != "" {
		path = strings.Split(field, ".")
	}
	return &UserError{Field: path, Message: message, Code: code}
}

func (e *UserError) Error() string {
	if len(e.Field) == 0 {
		return e.Message
	}
	return strings.Join(e.Field, ".") + ": " + e.Message
}

// UserErrors is a list of user errors returned together, such as every
// invalid field of one input.
type UserErrors []*UserError

func (l UserErrors) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// OrNil returns nil when the list is empty, so validators can end with
// `return errs.OrNil()`.
func (l UserErrors) OrNil() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// AsUserErrors extracts user errors from err. ok is false when err is not
// (or does not wrap) a user error, in which case the caller must treat it
// as a top-level error.
func AsUserErrors(err error) (list []*UserError, ok bool) {
	var many UserErrors
	if errors.As(err, &many) {
		return many, true
	}
	var one *UserError
	if errors.As(err, &one) {
		return []*UserError{one}, true
	}
	return nil, false
}
