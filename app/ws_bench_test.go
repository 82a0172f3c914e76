package app_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"frontdesk/app"
	"frontdesk/booking"
	"frontdesk/ent"
	"frontdesk/internal/testenv"
)

// The subscriber benchmark opens N WebSockets, each with one
// availabilityChanged subscription (a booking page waiting for its slots to
// change), from a child process — the test binary run again as
// TestWSBenchClient — so the server's process holds the server side of
// the connections only and its heap, stacks, goroutines and resident set
// can be measured per subscriber. Then it publishes events the way a
// booking does (booking.EventSink) and times each from publish until every
// client has read it.

const wsBenchQuery = `subscription Avail($service: ID!) { availabilityChanged(serviceId: $service) { practitionerId from to } }`

// wsBenchEnv carries "url service n" to the client process.
const wsBenchEnv = "FRONTDESK_WS_BENCH_CLIENT"

type wsFootprint struct {
	n                                int
	heapPer, stackPer, rssPer, goPer float64
	rssBefore, rssAfter, heapAfter   uint64
	fanout                           []time.Duration // one per event, publish to last client's read
	connectTime                      time.Duration
}

func (f wsFootprint) fanoutP50() time.Duration {
	s := slices.Clone(f.fanout)
	slices.Sort(s)
	return s[len(s)/2]
}

func (f wsFootprint) fanoutMax() time.Duration { return slices.Max(f.fanout) }

// measureSubscribers runs the server with n subscribers and publishes
// events to them. Loopback only; the client process ends with the test.
func measureSubscribers(tb testing.TB, n, events int) wsFootprint {
	if os.Getenv("FRONTDESK_WS_HEAP_PROFILE") != "" {
		runtime.MemProfileRate = 2048
	}
	cfg := testenv.Config(tb)
	cfg.Workers = false
	cfg.WSMaxConnectionsPerIP = n + 10
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.New(ctx, cfg, app.NewLogger(io.Discard, "info"), app.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	defer a.Close()
	c := a.DB.Client
	p := c.Practitioner.Create().SetName("Subscribed").SetTimeZone("Australia/Sydney").SaveX(ctx)
	svc := c.Service.Create().SetName("Watched").SetSlug("watched").SetDurationMinutes(30).SetSlotIntervalMinutes(15).
		SetHorizonDays(60).SetActive(true).AddPractitioners(p).SaveX(ctx)
	url := "ws" + strings.TrimPrefix(strings.TrimSuffix(serveForBench(tb, a), "/graphql"), "http") + "/graphql"

	before := memNow()
	cmd := exec.Command(os.Args[0], "-test.run=^TestWSBenchClient$", "-test.count=1", "-test.timeout=20m")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %s %d", wsBenchEnv, url, svc.ID, n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	defer func() {
		stdin.Close() // the client closes its connections and exits
		_ = cmd.Wait()
	}()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if l, ok := strings.CutPrefix(sc.Text(), "wsbench: "); ok {
				lines <- l
			}
		}
		close(lines)
	}()
	expect := func(want string) {
		tb.Helper()
		select {
		case l, ok := <-lines:
			if !ok || l != want {
				tb.Fatalf("client said %q (open %v), want %q", l, ok, want)
			}
		case <-time.After(5 * time.Minute):
			tb.Fatalf("client did not say %q in 5 minutes", want)
		}
	}
	expect("ready")
	testenv.Eventually(tb, 2*time.Minute, "every subscription registered", func() bool {
		// Subscribers sharing an execution are one bus subscription;
		// the server counts them one each. (The bus's count is for
		// transports that subscribe once per subscriber.)
		return a.Server.Subscriptions() >= n || a.Events.Stats().Subscribers >= int64(n)
	})
	f := wsFootprint{n: n, connectTime: time.Since(start)}
	after := memNow()
	f.heapPer = float64(after.heap-before.heap) / float64(n)
	f.stackPer = float64(after.stack-before.stack) / float64(n)
	f.rssPer = float64(after.rss-before.rss) / float64(n)
	f.goPer = float64(after.goroutines-before.goroutines) / float64(n)
	f.rssBefore, f.rssAfter, f.heapAfter = before.rss, after.rss, after.heap
	if path := os.Getenv("FRONTDESK_WS_HEAP_PROFILE"); path != "" {
		// The live heap with every subscriber connected, for go tool pprof.
		if out, err := os.Create(path); err == nil {
			_ = pprof.WriteHeapProfile(out)
			_ = pprof.Lookup("goroutine").WriteTo(out2(path+".goroutines"), 1)
			out.Close()
		}
	}

	sink := booking.EventSink{Bus: a.Events}
	if path := os.Getenv("FRONTDESK_WS_CPU_PROFILE"); path != "" {
		// The server's CPU while the events fan out.
		if out, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(out) == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	for i := range events {
		from := time.Now().UTC().Truncate(time.Hour).Add(time.Duration(24+i) * time.Hour)
		appt := &ent.Appointment{ID: p.ID, PractitionerID: p.ID, ServiceID: svc.ID, BlockedStart: from, BlockedEnd: from.Add(35 * time.Minute)}
		t0 := time.Now()
		sink.Committed(ctx, booking.Change{Appointment: appt})
		expect("got")
		f.fanout = append(f.fanout, time.Since(t0))
	}
	return f
}

func out2(path string) io.Writer {
	f, err := os.Create(path)
	if err != nil {
		return io.Discard
	}
	return f
}

type memSample struct {
	heap, stack, rss uint64
	goroutines       int
}

// memNow collects garbage and samples the Go heap in use, goroutine
// stacks, the resident set and the number of goroutines.
func memNow() memSample {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memSample{heap: ms.HeapInuse, stack: ms.StackInuse, rss: rssBytes(), goroutines: runtime.NumGoroutine()}
}

// rssBytes is this process's resident set (Linux), 0 elsewhere.
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkSubscribers: 10,000 availabilityChanged subscribers on one
// server (FRONTDESK_BENCH_SUBSCRIBERS changes it), 20 events.
func BenchmarkSubscribers(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("FRONTDESK_BENCH_SUBSCRIBERS")); err == nil && v > 0 {
		n = v
	}
	b.ReportAllocs()
	for b.Loop() {
		f := measureSubscribers(b, n, 20)
		b.ReportMetric(0, "ns/op")
		b.ReportMetric(f.heapPer/1024, "heap-KiB/sub")
		b.ReportMetric(f.stackPer/1024, "stack-KiB/sub")
		b.ReportMetric(f.rssPer/1024, "rss-KiB/sub")
		b.ReportMetric(f.goPer, "goroutines/sub")
		b.ReportMetric(float64(f.rssAfter)/(1<<20), "rss-MiB")
		b.ReportMetric(f.fanoutP50().Seconds()*1e3, "fanout-p50-ms")
		b.ReportMetric(f.fanoutMax().Seconds()*1e3, "fanout-max-ms")
		b.Logf("%d subscribers connected in %v; RSS %d → %d MiB, heap in use after %d MiB",
			n, f.connectTime.Round(time.Millisecond), f.rssBefore>>20, f.rssAfter>>20, f.heapAfter>>20)
	}
}

// TestWSBenchClient is the client process of measureSubscribers, not a
// test of its own: it runs only with wsBenchEnv set. It opens the
// subscriptions, says "ready", answers pings, and says "got" each time
// every subscriber has received one more event. It exits when its stdin
// closes.
func TestWSBenchClient(t *testing.T) {
	spec := os.Getenv(wsBenchEnv)
	if spec == "" {
		t.Skip("client process of the subscriber benchmark")
	}
	var url, service string
	var n int
	if _, err := fmt.Sscan(spec, &url, &service, &n); err != nil {
		t.Fatal(err)
	}
	d := websocket.Dialer{Subprotocols: []string{"graphql-transport-ws"}, HandshakeTimeout: time.Minute, ReadBufferSize: 512, WriteBufferSize: 512}
	subscribe := fmt.Sprintf(`{"id":"1","type":"subscribe","payload":{"query":%q,"variables":{"service":%q}}}`, wsBenchQuery, service)
	var (
		received atomic.Int64
		out      sync.Mutex
		conns    = make([]*websocket.Conn, n)
		failed   atomic.Value
	)
	say := func(s string) {
		out.Lock()
		fmt.Println("wsbench: " + s)
		out.Unlock()
	}
	read := func(c *websocket.Conn) {
		for {
			_, m, err := c.ReadMessage()
			if err != nil {
				return
			}
			switch {
			case bytes.Contains(m, []byte(`"type":"next"`)):
				if !bytes.Contains(m, []byte(`"availabilityChanged":{"practitionerId"`)) {
					say("bad " + string(m))
					continue
				}
				if received.Add(1)%int64(n) == 0 {
					say("got")
				}
			case bytes.Contains(m, []byte(`"type":"ping"`)):
				_ = c.WriteMessage(websocket.TextMessage, []byte(`{"type":"pong"}`))
			case bytes.Contains(m, []byte(`"type":"error"`)), bytes.Contains(m, []byte(`"type":"complete"`)):
				say("bad " + string(m))
			}
		}
	}
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				c, _, err := d.Dial(url, nil)
				if err == nil {
					err = c.WriteMessage(websocket.TextMessage, []byte(`{"type":"connection_init","payload":{}}`))
				}
				for err == nil {
					var m []byte
					if _, m, err = c.ReadMessage(); err == nil && bytes.Contains(m, []byte(`"connection_ack"`)) {
						break
					}
				}
				if err == nil {
					err = c.WriteMessage(websocket.TextMessage, []byte(subscribe))
				}
				if err != nil {
					failed.Store(fmt.Sprintf("connection %d: %v", i, err))
					return
				}
				conns[i] = c
				go read(c)
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		say("failed " + f.(string))
		t.Fatal(f)
	}
	say("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		_ = c.Close()
	}
}

// TestSubscriberFootprint holds what BenchmarkSubscribers measured down:
// 2,000 availabilityChanged subscribers, each on its own WebSocket, cost
// one goroutine apiece on the server (the connection's read loop; the
// subscription shares one execution, and keep-alives, credential checks
// and writes keep none while idle) and at most 24 KiB of heap and stack
// together (gqlgen's transport: three goroutines and ≈ 67 KiB), and one
// event reaches all of them.
func TestSubscriberFootprint(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2,000 WebSockets")
	}
	f := measureSubscribers(t, 2000, 3)
	t.Logf("per subscriber: %.2f goroutines, heap %.1f KiB, stacks %.1f KiB, RSS %.1f KiB; fan-out %v",
		f.goPer, f.heapPer/1024, f.stackPer/1024, f.rssPer/1024, f.fanout)
	if f.goPer > 1.05 {
		t.Errorf("%.2f goroutines per subscriber, want at most 1", f.goPer)
	}
	if kib := (f.heapPer + f.stackPer) / 1024; kib > 24 {
		t.Errorf("%.1f KiB of heap and stack per subscriber, want at most 24", kib)
	}
}
