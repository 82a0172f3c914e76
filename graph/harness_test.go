package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/99designs/gqlgen/client"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"

	"frontdesk/graph"
	"frontdesk/identity"
)

// viewerHeader names, on a test request, the viewer it is made as: a key
// of the viewers the server was given (none, or an unknown one: anonymous).
// Sign-in itself is tested through the real server in package app.
const viewerHeader = "X-Test-Viewer"

// serve is package graph's one GraphQL test harness: schema over HTTP POST
// with the production error presenter and panic recovery, the given
// handler extensions (limits, loaders) and viewers picked per request by
// viewerHeader. Send requests with gql, or with a gqlgen client from as.
func serve(t testing.TB, schema graphql.ExecutableSchema, viewers map[string]*identity.Viewer, use ...graphql.HandlerExtension) *httptest.Server {
	t.Helper()
	srv := handler.New(schema)
	srv.AddTransport(transport.POST{})
	errs := graph.Errors{Log: slog.Default()}
	srv.SetErrorPresenter(errs.Present)
	srv.SetRecoverFunc(errs.Recover)
	for _, ext := range use {
		srv.Use(ext)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if v := viewers[r.Header.Get(viewerHeader)]; v != nil {
			ctx = identity.WithViewer(ctx, v)
		}
		srv.ServeHTTP(w, r.WithContext(ctx))
	}))
	t.Cleanup(ts.Close)
	return ts
}

// as is a gqlgen test client of ts that makes every request as viewer.
func as(ts *httptest.Server, viewer string) *client.Client {
	return client.New(ts.Config.Handler, client.AddHeader(viewerHeader, viewer))
}

// gqlResult is a response as gql decodes it.
type gqlResult struct {
	Data   map[string]json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
}

// gql posts one operation to ts as viewer, decodes the data into into
// (when not nil) and returns the response.
func gql(t testing.TB, ts *httptest.Server, viewer, query string, vars map[string]any, into any) gqlResult {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, ts.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(viewerHeader, viewer)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res gqlResult
	if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
		t.Fatal(err)
	}
	if into != nil {
		raw, _ := json.Marshal(res.Data)
		if err := json.Unmarshal(raw, into); err != nil {
			t.Fatal(err)
		}
	}
	return res
}
