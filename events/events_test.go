package events_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"frontdesk/cache"
	"frontdesk/database"
	"frontdesk/events"
	"frontdesk/internal/testenv"
)

type orderChanged struct {
	OrderID string `json:"orderId"`
	Status  string `json:"status"`
}

var orders = events.Topic[orderChanged]{Name: "order.changed"}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatal("channel closed")
		}
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	var zero T
	return zero
}

func TestTypedTopicInProcess(t *testing.T) {
	bus := events.NewMemory()
	defer bus.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ch, sub := orders.Subscribe(ctx, bus, 0)
	other := bus.Subscribe(ctx, "something.else", 0)
	want := orderChanged{OrderID: "ord_1", Status: "PAID"}
	if err := orders.Publish(ctx, bus, want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, receive(t, ch)); diff != "" {
		t.Fatal(diff)
	}
	select {
	case ev := <-other.C:
		t.Fatalf("other topic got %v", ev)
	default:
	}
	cancel()
	for range ch {
	}
	if sub.Err() != nil {
		t.Fatalf("Err after cancel = %v", sub.Err())
	}
}

func TestAfterCommitPublishesOnlyCommittedChanges(t *testing.T) {
	db := testenv.DB(t, database.Options{})
	bus := events.NewMemory()
	defer bus.Close()
	ctx := context.Background()
	sub := bus.Subscribe(ctx, orders.Name, 0)

	tx, err := db.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	orders.AfterCommit(tx, bus, orderChanged{OrderID: "ord_rolled_back"})
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	tx, err = db.Client.Tx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	orders.AfterCommit(tx, bus, orderChanged{OrderID: "ord_committed"})
	select {
	case ev := <-sub.C:
		t.Fatalf("event before commit: %s", ev.Data)
	default:
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	ev := receive(t, sub.C)
	if string(ev.Data) != `{"orderId":"ord_committed","status":""}` {
		t.Fatalf("got %s", ev.Data)
	}
	select {
	case ev := <-sub.C:
		t.Fatalf("extra event %s", ev.Data)
	default:
	}
}

// A subscriber that falls behind a burst never blocks the publisher and
// is not ended either: what it holds is dropped for a resync, so its
// client reloads instead of seeing the stream complete.
func TestFullSubscriberIsToldToResync(t *testing.T) {
	bus := events.NewMemory()
	defer bus.Close()
	ctx := context.Background()
	flagged := events.WithResyncFlag(ctx)
	slow := bus.Subscribe(flagged, "t", 2)
	fast := bus.Subscribe(ctx, "t", 100)
	for i := range 10 {
		if err := bus.Publish(ctx, "t", i); err != nil {
			t.Fatal(err)
		}
	}
	// 0 and 1 fill the buffer; 2 overflows it (0, 1 and 2 dropped for a
	// resync), 3 fits; 4 overflows, … 8 overflows, 9 fits: six of the ten
	// were delivered to it at one time, four overflowed.
	var got []string
	for range 2 {
		ev := <-slow.C
		got = append(got, fmt.Sprintf("%s resync=%v", ev.Data, ev.Resync))
	}
	if diff := cmp.Diff([]string{" resync=true", "9 resync=false"}, got); diff != "" {
		t.Fatalf("slow subscriber got (-want +got):\n%s", diff)
	}
	if slow.Err() != nil {
		t.Fatalf("slow subscriber ended: %v", slow.Err())
	}
	if !events.TakeResync(flagged) {
		t.Fatal("the slow subscriber's resync flag is not raised")
	}
	if n := len(fast.C); n != 10 {
		t.Fatalf("fast subscriber has %d events, want 10", n)
	}
	st := bus.Stats()
	if st.Published != 10 || st.Overflowed != 4 || st.Disconnected != 0 || st.Dropped != 4*3 || st.Delivered != 10+6 || st.Subscribers != 2 {
		t.Fatalf("stats = %+v", st)
	}
}

func redisBuses(t testing.TB) (a, b *events.Redis) {
	url, prefix := testenv.Redis(t)
	if url == "" {
		t.Skip("FRONTDESK_TEST_REDIS_URL not set")
	}
	ctx := context.Background()
	mk := func() *events.Redis {
		opts, err := cache.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		client := redis.NewUniversalClient(opts)
		bus, err := events.NewRedis(ctx, client, prefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = bus.Close(); _ = client.Close() })
		return bus
	}
	return mk(), mk()
}

// Two replicas, each with its own Redis connection: an event published on
// one reaches subscribers on both.
func TestRedisBusAcrossReplicas(t *testing.T) {
	a, b := redisBuses(t)
	ctx := context.Background()
	onA, _ := orders.Subscribe(ctx, a, 0)
	onB, _ := orders.Subscribe(ctx, b, 0)
	want := orderChanged{OrderID: "ord_2", Status: "SHIPPED"}
	if err := orders.Publish(ctx, a, want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, receive(t, onB)); diff != "" {
		t.Fatal(diff)
	}
	if diff := cmp.Diff(want, receive(t, onA)); diff != "" {
		t.Fatal(diff)
	}
}

// BenchmarkRedisDeliveryLatency measures publish-to-receive latency between
// two Redis-connected buses (two replicas) and reports p50 and p99.
func BenchmarkRedisDeliveryLatency(b *testing.B) {
	pub, recv := redisBuses(b)
	ctx := context.Background()
	sub := recv.Subscribe(ctx, "bench", 1024)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if err := pub.Publish(ctx, "bench", i); err != nil {
			b.Fatal(err)
		}
		<-sub.C
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// Map keeps no goroutine per subscription: the filter runs in the
// publisher's goroutine. A subscriber whose channel has no room gets a
// resync instead of what it held (disconnected with ErrSlow only when even
// that does not fit), and one whose context ends is closed and
// unregistered.
func TestMapKeepsNoGoroutinePerSubscriber(t *testing.T) {
	bus := events.NewMemory()
	defer bus.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := runtime.NumGoroutine()
	double := func(ev events.Event) []string {
		if string(ev.Data) == `"skip"` {
			return nil
		}
		return []string{string(ev.Data), string(ev.Data)}
	}
	chans := make([]<-chan string, 500)
	for i := range chans {
		chans[i], _ = events.Map(ctx, bus, "t", 4, double)
	}
	if n := runtime.NumGoroutine() - before; n > 10 {
		t.Fatalf("%d goroutines for 500 subscriptions", n)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(bus.Publish(ctx, "t", "skip"))
	must(bus.Publish(ctx, "t", "a"))
	for _, ch := range chans {
		if a, b := receive(t, ch), receive(t, ch); a != `"a"` || b != `"a"` {
			t.Fatalf("got %s %s", a, b)
		}
	}

	// Two events fill a buffer of 4; the third does not fit, so the four
	// values are dropped for what fn makes of a resync (two empty strings).
	slowCtx, slowCancel := context.WithCancel(ctx)
	defer slowCancel()
	slow, sub := events.Map(slowCtx, bus, "slow", 4, double)
	for range 3 {
		must(bus.Publish(ctx, "slow", "x"))
	}
	if a, b := receive(t, slow), receive(t, slow); a != "" || b != "" || len(slow) != 0 || sub.Err() != nil {
		t.Fatalf("after the overflow: %q %q, %d more, err %v", a, b, len(slow), sub.Err())
	}
	// With a buffer of 1 not even the resync's two values fit: disconnected.
	tiny, tinySub := events.Map(slowCtx, bus, "tiny", 1, double)
	must(bus.Publish(ctx, "tiny", "x"))
	if _, ok := <-tiny; ok || !errors.Is(tinySub.Err(), events.ErrSlow) {
		t.Fatalf("tiny subscriber still open (err %v)", tinySub.Err())
	}

	gone, sub2 := events.Map(slowCtx, bus, "gone", 4, double)
	slowCancel()
	if _, ok := <-gone; ok || sub2.Err() != nil {
		t.Fatalf("cancelled subscription: open %v, err %v", ok, sub2.Err())
	}
	cancel()
	testenv.Eventually(t, 5*time.Second, "subscriptions unregistered", func() bool { return bus.Stats().Subscribers == 0 })
}
