package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"frontdesk/app"
	"frontdesk/ent/user"
	"frontdesk/ent/webhookdelivery"
	"frontdesk/identity"
	"frontdesk/internal/testenv"
	"frontdesk/webhooks"
)

// BenchmarkWebhookMutationLatency: the latency of a mutation that raises
// an event (updateProduct, product.updated), sent over HTTP to the real
// server with its workers running, with no webhook endpoint and with one
// active endpoint subscribed to the event on a loopback receiver. The
// event is written in the mutation's transaction either way; with an
// endpoint the workers also fan it out and deliver it while the next
// mutations run. Reports p50 and p99 in ms and, with an endpoint, how
// many deliveries had arrived when the last mutation returned.
func BenchmarkWebhookMutationLatency(b *testing.B) {
	for _, mode := range []string{"none", "active"} {
		b.Run(fmt.Sprintf("%s/endpoint=%s", testenv.Name(), mode), func(b *testing.B) {
			cfg := testenv.Config(b)
			cfg.WebhookAllowPrivate = true
			a, err := app.New(context.Background(), cfg, app.NewLogger(io.Discard, "error"), app.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = a.Close() }) // after the server stops (cleanups run last first)
			// a.Serve, not a.Server.Serve: the outbox workers run too.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			serveCtx, stopServe := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() { served <- a.Serve(serveCtx, ln) }()
			b.Cleanup(func() { stopServe(); <-served })
			url := "http://" + ln.Addr().String() + "/graphql"
			ctx := context.Background()
			u := a.DB.Client.User.Create().SetEmail("admin@example.com").SetName("Admin").SetRole(user.RoleADMIN).SaveX(ctx)
			admin := identity.WithViewer(ctx, &identity.Viewer{UserID: u.ID, Role: identity.RoleAdmin})
			var got atomic.Int64
			if mode == "active" {
				rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					got.Add(1)
					w.WriteHeader(http.StatusNoContent)
				}))
				b.Cleanup(rc.Close)
				if _, err := a.Outgoing.Create(admin, webhooks.EndpointInput{URL: &rc.URL, Events: []webhooks.EventType{webhooks.ProductUpdated}}); err != nil {
					b.Fatal(err)
				}
			}
			// An API key: the credential a partner's back office uses.
			key, err := a.Identity.CreateAPIKey(admin, identity.APIKeyInput{Name: "bench", Scopes: []identity.Permission{identity.ManageCatalog}})
			if err != nil {
				b.Fatal(err)
			}
			token := key.Token
			post := func(query string, vars map[string]any) map[string]any {
				body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				defer resp.Body.Close()
				var out struct {
					Data   map[string]any `json:"data"`
					Errors []any          `json:"errors"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out.Errors) > 0 {
					b.Fatalf("%s: %v %v", query, out.Errors, err)
				}
				return out.Data
			}
			created := post(`mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } userErrors { code } } }`,
				map[string]any{"in": map[string]any{"title": "Bench Mug", "status": "ACTIVE",
					"variants": []any{map[string]any{"sku": "BENCH-1", "price": map[string]any{"amount": 1000, "currency": "AUD"}, "onHand": 10}}}})
			id := created["createProduct"].(map[string]any)["product"].(map[string]any)["id"]
			const update = `mutation($in: UpdateProductInput!) { updateProduct(input: $in) { product { id } userErrors { code } } }`
			for i := range 20 { // warm up
				post(update, map[string]any{"in": map[string]any{"id": id, "title": fmt.Sprintf("Warm %d", i)}})
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				post(update, map[string]any{"in": map[string]any{"id": id, "title": fmt.Sprintf("Bench Mug %d", i)}})
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1e3, "p50-ms")
			b.ReportMetric(float64(lat[min(len(lat)*99/100, len(lat)-1)].Microseconds())/1e3, "p99-ms")
			if mode == "active" {
				b.ReportMetric(float64(got.Load()), "delivered-by-end")
				// Every event is delivered in the end.
				deadline := time.Now().Add(2 * time.Minute)
				for {
					n, err := a.DB.Client.WebhookDelivery.Query().Where(webhookdelivery.StateEQ(webhookdelivery.StateSUCCEEDED)).Count(ctx)
					if err == nil && n == b.N+20 {
						break
					}
					if time.Now().After(deadline) {
						all, _ := a.DB.Client.WebhookDelivery.Query().All(ctx)
						atts, _ := a.DB.Client.WebhookAttempt.Query().Limit(3).All(ctx)
						b.Fatalf("%d of %d deliveries succeeded (%d rows; attempts %v; %v)", n, b.N+20, len(all), atts, err)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
}
