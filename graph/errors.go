package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"frontdesk/ent"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/requestid"
)

// errRecovered marks an error made from a recovered panic.
var errRecovered = errors.New("panic in resolver")

// Errors presents errors and recovers panics for the GraphQL server,
// logging what clients must not see.
type Errors struct {
	Log *slog.Logger
	// Suggestions keeps gqlparser's "Did you mean …?" hints. Off (the
	// zero value, and production's default) strips them from every
	// message, whichever rule or coercion path wrote them: they name
	// fields, arguments, types and enum values an attacker did not know.
	Suggestions bool
}

// maxMessageBytes bounds one error message. Messages quote parts of the
// request (a value, a name), and an error must never echo a request back
// at its own size.
const maxMessageBytes = 300

// Present is the one place where errors become GraphQL errors. Known
// errors get their code and client-safe message; anything else is logged
// with its request id and shown only as INTERNAL, so internal details
// (SQL, stack traces, hostnames) never reach a client.
func (e Errors) Present(ctx context.Context, err error) *gqlerror.Error {
	out := graphql.DefaultErrorPresenter(ctx, err)
	code, message, retryAfter := classify(err, out)
	if code == errcode.Internal && argumentError(ctx, out) {
		code, message = errcode.BadUserInput, "invalid value: "+out.Message
	}
	if code == errcode.Internal {
		e.Log.ErrorContext(ctx, "graphql internal error", "error", err.Error(), "path", out.Path.String())
		message = "internal error"
		if id := requestid.From(ctx); id != "" {
			message = fmt.Sprintf("internal error (request id %s)", id)
		}
	}
	out.Message = e.clean(message)
	if out.Extensions == nil {
		out.Extensions = map[string]any{}
	}
	out.Extensions["code"] = string(code)
	if retryAfter > 0 {
		out.Extensions["retryAfter"] = retryAfter
	}
	if id := requestid.From(ctx); id != "" && code == errcode.Internal {
		out.Extensions["requestId"] = id
	}
	return out
}

// clean strips suggestions unless they are on and bounds the length.
func (e Errors) clean(message string) string {
	if !e.Suggestions {
		if i := strings.Index(message, " Did you mean "); i >= 0 {
			message = message[:i]
		}
	}
	if len(message) > maxMessageBytes {
		cut := maxMessageBytes
		for cut > 0 && !utf8.RuneStart(message[cut]) {
			cut--
		}
		message = message[:cut] + "…"
	}
	return message
}

// classify finds the code and public message of err. presented is gqlgen's
// default rendering, which already carries a code for parse and
// validation errors.
func classify(err error, presented *gqlerror.Error) (errcode.Code, string, int) {
	var ce *errcode.Error
	switch {
	case errors.As(err, &ce):
		return ce.Code, ce.Message, int(ce.RetryAfter.Seconds() + 0.999)
	case errors.Is(err, errRecovered):
		return errcode.Internal, "", 0
	case errors.Is(err, context.DeadlineExceeded):
		return errcode.Timeout, "the operation took longer than the server allows; narrow the query or try again", 0
	case errors.Is(err, context.Canceled):
		return errcode.Timeout, "the request was cancelled", 0
	case errors.Is(err, gid.ErrMalformed):
		return errcode.BadUserInput, "invalid ID: IDs are opaque strings returned by this API", 0
	case ent.IsNotFound(err):
		return errcode.NotFound, "not found", 0
	case err.Error() == "introspection disabled":
		// gqlgen's own refusal, should a document reach execution
		// without passing DocumentLimits: a client error, not a fault.
		return errcode.IntrospectionDisabled, "introspection is disabled on this server; use the published schema (schema.graphqls) instead", 0
	case strings.HasPrefix(presented.Message, "json request body could not be decoded"):
		// gqlgen's transports append the whole body to this message; it
		// must not come back to the client.
		if strings.Contains(presented.Message, "cannot unmarshal array") {
			return errcode.BadUserInput, "the request body is a JSON array: batched operations are not supported; send one operation per request", 0
		}
		return errcode.BadUserInput, "the request body is not a JSON object with query, variables, operationName and extensions", 0
	}
	if list, ok := errcode.AsUserErrors(err); ok {
		return errcode.BadUserInput, list[0].Error(), 0
	}
	if code, ok := presented.Extensions["code"].(string); ok && code != "" {
		// Parse and validation errors come from gqlparser with a code and
		// a message written for client developers.
		if strings.Contains(presented.Message, "exceeded token limit") {
			return errcode.TokenLimit, "the document has too many tokens; send a smaller query", 0
		}
		return errcode.Code(code), presented.Message, 0
	}
	var gqlErr *gqlerror.Error
	if errors.As(err, &gqlErr) && gqlErr.Err == nil && gqlErr.Rule != "" {
		return errcode.ValidationFailed, presented.Message, 0
	}
	// Input coercion failures (a string where an Int was expected, an
	// unknown enum value) are raised by generated code as plain gqlerrors
	// with a path and no cause; they are the client's fault.
	if errors.As(err, &gqlErr) && gqlErr.Err == nil {
		return errcode.BadUserInput, presented.Message, 0
	}
	return errcode.Internal, "", 0
}

// argumentError reports whether presented is a field argument the
// generated code could not unmarshal: a Time that is not RFC 3339, a
// cursor that is not one of ours, in the document or in a variable. gqlgen
// reports it with the scalar's error as its cause (so classify cannot tell
// it from a fault) on the argument's path, which is below the field's own;
// an error of the resolver itself is on the field's path.
func argumentError(ctx context.Context, presented *gqlerror.Error) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return false
	}
	field := fc.Path()
	return len(presented.Path) > len(field) && slices.Equal(presented.Path[:len(field)], field)
}

// Recover turns a panic in a resolver into an INTERNAL error. The stack
// goes to the log with the request id; the client sees only the id.
func (e Errors) Recover(ctx context.Context, p any) error {
	e.Log.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return fmt.Errorf("%w: %v", errRecovered, p)
}

// ErrorCap bounds the errors of one response: the first Max are kept and
// one ERROR_LIMIT_EXCEEDED error says how many were dropped. Without it a
// document that repeats a mistake draws one error per repetition, an
// answer many times the size of the request.
type ErrorCap struct {
	Max int
}

var (
	_ graphql.HandlerExtension    = ErrorCap{}
	_ graphql.ResponseInterceptor = ErrorCap{}
)

// ExtensionName implements graphql.HandlerExtension.
func (ErrorCap) ExtensionName() string { return "ErrorCap" }

// Validate implements graphql.HandlerExtension.
func (c ErrorCap) Validate(graphql.ExecutableSchema) error {
	if c.Max <= 0 {
		return fmt.Errorf("error cap must be positive, got %d", c.Max)
	}
	return nil
}

// InterceptResponse implements graphql.ResponseInterceptor.
func (c ErrorCap) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if resp == nil || len(resp.Errors) <= c.Max {
		return resp
	}
	dropped := len(resp.Errors) - c.Max
	resp.Errors = append(resp.Errors[:c.Max:c.Max], &gqlerror.Error{
		Message:    fmt.Sprintf("too many errors: %d more were dropped; fix the first ones and try again", dropped),
		Extensions: map[string]any{"code": string(errcode.ErrorLimit)},
	})
	return resp
}
