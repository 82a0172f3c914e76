package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
	"go.opentelemetry.io/otel/trace"

	"frontdesk/cache"
	"frontdesk/config"
	"frontdesk/graph"
	"frontdesk/telemetry"
)

// newGraphQLHandler assembles the GraphQL server explicitly, one transport
// and one extension at a time, so each is a deliberate choice.
func newGraphQLHandler(cfg *config.Config, es graphql.ExecutableSchema, wsNext *wsTransport, ws *gorillaWebsocket, wsInit transport.WebsocketInitFunc, store cache.Store, queries *queryCache, log *slog.Logger, m *metrics, tracer trace.Tracer, extra []graphql.HandlerExtension) *handler.Server {
	srv := handler.New(graph.Complexity{ExecutableSchema: es, DefaultPageSize: cfg.DefaultPageSize})

	// Transports, most specific first: gqlgen picks the first that
	// supports a request.
	// graphql-transport-ws is served by our own transport (wstransport.go);
	// gqlgen's serves the legacy graphql-ws protocol only.
	srv.AddTransport(wsNext)
	readLimit := cfg.WSReadLimit
	// Keep-alives (ping, or ka on the legacy protocol) come from one loop
	// in the adapter, not from gqlgen's goroutine and ticker per
	// connection; a client that stops answering pings is dropped after
	// twice the interval.
	ws.keepAlive = cfg.WSKeepAlive
	srv.AddTransport(transport.Websocket{
		Implementation:   ws,
		InitTimeout:      cfg.WSInitTimeout,
		PayloadReadLimit: &readLimit,
		InitFunc:         wsInit,
		ErrorFunc: func(ctx context.Context, err error) {
			log.DebugContext(ctx, "websocket closed with error", "error", err.Error())
		},
	})
	srv.AddTransport(transport.Options{})
	// Our own GET and POST (httptransport.go): gqlgen's decoding and
	// executor, GraphQL-over-HTTP statuses, and `data` written as the
	// executor wrote it. GET serves queries only (graph.QueriesOnlyOverGET
	// refuses the rest with 405), so a link or an image tag can never
	// change state.
	srv.AddTransport(getTransport{})
	srv.AddTransport(postTransport{maxVariableValues: cfg.MaxVariableValues})
	srv.AddTransport(transport.MultipartForm{
		MaxUploadSize: cfg.MaxUploadBytes,
		MaxMemory:     min(cfg.MaxUploadBytes, 8<<20),
	})

	srv.SetQueryCache(queries)
	srv.SetParserTokenLimit(cfg.MaxTokens)
	// gqlgen switches suggestions off for two rules; the rules below do
	// it for the others (arguments, types, enum values, input fields),
	// and the error presenter strips any that another path writes.
	srv.SetDisableSuggestion(!cfg.FieldSuggestions)
	if !cfg.FieldSuggestions {
		srv.SetValidationRulesFn(rulesWithoutSuggestions)
	}
	errs := graph.Errors{Log: log, Suggestions: cfg.FieldSuggestions}
	srv.SetErrorPresenter(errs.Present)
	srv.SetRecoverFunc(errs.Recover)

	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	limits := graph.Limits{
		Document:         documentLimits(cfg),
		MaxPageSize:      cfg.MaxPageSize,
		OperationTimeout: cfg.OperationTimeout,
		Known:            queries,
	}
	if store != nil {
		srv.Use(extension.AutomaticPersistedQuery{Cache: persistedQueries{store: store, log: log, limits: limits.Document, maxBytes: maxPersistedQueryBytes}})
	}
	srv.Use(graph.QueriesOnlyOverGET{})
	// After persisted queries, which fill in the document it measures.
	srv.Use(limits)
	// Every connection without first/last gets FRONTDESK_DEFAULT_PAGE_SIZE,
	// the same default Complexity costs it at.
	srv.Use(graph.Pagination{Default: cfg.DefaultPageSize})
	srv.Use(extension.FixedComplexityLimit(cfg.MaxComplexity))
	if tracer != nil {
		// Outside the operation log, so its line carries the span.
		srv.Use(telemetry.GraphQL{Tracer: tracer})
	}
	srv.Use(operationLog{log: log, metrics: m})
	srv.Use(subscriptionResync{})
	srv.Use(graph.ErrorCap{Max: maxResponseErrors})
	for _, e := range extra {
		srv.Use(e)
	}
	return srv
}

// maxResponseErrors is how many errors one response carries before the
// rest are replaced by one ERROR_LIMIT_EXCEEDED.
const maxResponseErrors = 20

// documentLimits are the limits measured before validation.
func documentLimits(cfg *config.Config) graph.DocumentLimits {
	return graph.DocumentLimits{
		MaxFields:          cfg.MaxFields,
		MaxFragments:       cfg.MaxFragments,
		MaxInlineFragments: cfg.MaxInlineFragments,
		MaxDirectives:      cfg.MaxDirectives,
		MaxVariableValues:  cfg.MaxVariableValues,
		MaxAliases:         cfg.MaxAliases,
		MaxDepth:           cfg.MaxDepth,
		MaxOperations:      cfg.MaxOperations,
		MaxTokens:          cfg.MaxTokens,
		Introspection:      cfg.Introspection,
	}
}

// rulesWithoutSuggestions is gqlparser's default rule set with every rule
// that can suggest a name swapped for its variant that does not.
func rulesWithoutSuggestions() *rules.Rules {
	r := rules.NewDefaultRules()
	for _, swap := range []struct {
		name string
		rule core.Rule
	}{
		{"KnownArgumentNames", rules.KnownArgumentNamesRuleWithoutSuggestions},
		{"KnownTypeNames", rules.KnownTypeNamesRuleWithoutSuggestions},
		{"ValuesOfCorrectType", rules.ValuesOfCorrectTypeRuleWithoutSuggestions},
	} {
		r.RemoveRule(swap.name)
		r.AddRule(swap.rule.Name, swap.rule.RuleFunc)
	}
	return r
}

// operationLog logs each GraphQL operation with its name, type, duration
// and outcome. Variables are never logged: they hold passwords and tokens.
type operationLog struct {
	log     *slog.Logger
	metrics *metrics
}

var (
	_ graphql.HandlerExtension    = operationLog{}
	_ graphql.ResponseInterceptor = operationLog{}
)

func (operationLog) ExtensionName() string                   { return "OperationLog" }
func (operationLog) Validate(graphql.ExecutableSchema) error { return nil }

func (o operationLog) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	start := time.Now()
	resp := next(ctx)
	if !graphql.HasOperationContext(ctx) {
		return resp
	}
	op := graphql.GetOperationContext(ctx)
	kind, name := "unknown", op.OperationName
	if op.Operation != nil {
		name = op.Operation.Name
		kind = string(op.Operation.Operation)
		if op.Operation.Operation == ast.Subscription {
			// One line per subscription event would drown the log.
			return resp
		}
	}
	outcome := "ok"
	var codes []string
	if resp != nil {
		for _, e := range resp.Errors {
			if c, ok := e.Extensions["code"].(string); ok {
				codes = append(codes, c)
			}
		}
	}
	if len(codes) > 0 {
		outcome = "error"
	}
	metricOutcome := "ok"
	if len(codes) > 0 {
		metricOutcome = codes[0]
	}
	o.metrics.operations.WithLabelValues(kind, metricOutcome).Observe(time.Since(start).Seconds())
	o.log.LogAttrs(ctx, slog.LevelInfo, "graphql operation",
		slog.String("operation", name),
		slog.String("type", kind),
		slog.Duration("duration", time.Since(start)),
		slog.String("outcome", outcome),
		slog.Any("error_codes", codes),
	)
	return resp
}
