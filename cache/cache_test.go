package cache_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"

	"frontdesk/cache"
	"frontdesk/internal/testenv"
)

func TestParseURL(t *testing.T) {
	ignore := cmpopts.IgnoreFields(redis.UniversalOptions{}, "Dialer")
	tests := []struct {
		url     string
		want    redis.UniversalOptions
		cluster bool
	}{
		{url: "redis://127.0.0.1:6379/0", want: redis.UniversalOptions{Addrs: []string{"127.0.0.1:6379"}}},
		{url: "redis://:secret@10.0.0.5:6380/2?dial_timeout=3s&pool_size=40",
			want: redis.UniversalOptions{Addrs: []string{"10.0.0.5:6380"}, Password: "secret", DB: 2, DialTimeout: 3 * time.Second, PoolSize: 40}},
		{url: "rediss://app:pw@cache.example:6379",
			want: redis.UniversalOptions{Addrs: []string{"cache.example:6379"}, Username: "app", Password: "pw", TLSConfig: &tls.Config{ServerName: "cache.example", MinVersion: tls.VersionTLS12}}},
		{url: "redis-cluster://10.0.0.1:7000", cluster: true,
			want: redis.UniversalOptions{Addrs: []string{"10.0.0.1:7000"}, IsClusterMode: true}},
		{url: "redis-cluster://:pw@10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7001/?read_timeout=2s&route_randomly=true", cluster: true,
			want: redis.UniversalOptions{Addrs: []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.3:7001"}, Password: "pw",
				ReadTimeout: 2 * time.Second, RouteRandomly: true, IsClusterMode: true}},
		{url: "rediss-cluster://app:pw@node1.example:7000,node2.example:7000/0", cluster: true,
			want: redis.UniversalOptions{Addrs: []string{"node1.example:7000", "node2.example:7000"}, Username: "app", Password: "pw",
				TLSConfig: &tls.Config{ServerName: "node1.example"}, IsClusterMode: true}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := cache.ParseURL(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(&tt.want, got, ignore, cmpopts.IgnoreUnexported(tls.Config{})); d != "" {
				t.Fatalf("options (-want +got):\n%s", d)
			}
			client := redis.NewUniversalClient(got)
			defer client.Close()
			if _, isCluster := client.(*redis.ClusterClient); isCluster != tt.cluster {
				t.Fatalf("client is %T, want cluster=%v", client, tt.cluster)
			}
		})
	}
}

func TestParseURLRefusesBadInput(t *testing.T) {
	for _, raw := range []string{
		"127.0.0.1:6379",                                 // no scheme
		"http://127.0.0.1:6379",                          // not Redis
		"memcached-cluster://127.0.0.1:7000",             // not Redis either
		"redis-cluster://127.0.0.1:7000/3",               // a cluster has database 0 only
		"redis-cluster://127.0.0.1:7000,,127.0.0.1:7002", // empty host
		"redis-cluster:///",                              // no host
		"redis-cluster://127.0.0.1:7000?pool_sise=3",     // unknown option
		"redis://127.0.0.1:6379/notanumber",
	} {
		if _, err := cache.ParseURL(raw); err == nil {
			t.Errorf("ParseURL(%q) accepted", raw)
		}
	}
}

// A unix:// URL dials the socket even though UniversalOptions has no
// network field.
func TestParseURLUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "redis.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_ = c.Close()
		}
		close(accepted)
	}()
	opts, err := cache.ParseURL("unix://" + sock + "?db=1")
	if err != nil {
		t.Fatal(err)
	}
	if opts.DB != 1 || opts.Addrs[0] != sock || opts.Dialer == nil {
		t.Fatalf("options %+v", opts)
	}
	c, err := opts.Dialer(context.Background(), "tcp", opts.Addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	<-accepted
}

// The store against the configured Redis: a single server, or a cluster
// when FRONTDESK_TEST_REDIS_URL is a redis-cluster:// URL (make
// test-redis-cluster starts one). Keys that hash to different slots are
// deleted together, which a multi-key DEL cannot do on a cluster.
func TestRedisStore(t *testing.T) {
	url, prefix := testenv.Redis(t)
	if url == "" {
		t.Skip("FRONTDESK_TEST_REDIS_URL not set")
	}
	ctx := context.Background()
	store, client, err := cache.Open(ctx, url, prefix)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var keys []string
	slots := map[int64]bool{}
	for i := 0; len(slots) < 3 && i < 100; i++ {
		k := fmt.Sprint("k", i)
		slot, err := client.ClusterKeySlot(ctx, prefix+k).Result()
		if err != nil {
			slot = int64(i) // a single server has no slots; any keys do
		}
		if !slots[slot] {
			slots[slot] = true
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		if err := store.Set(ctx, k, []byte("v-"+k), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if v, ok, err := store.Get(ctx, keys[0]); err != nil || !ok || string(v) != "v-"+keys[0] {
		t.Fatalf("get = %q %v %v", v, ok, err)
	}
	// GetMany reads keys of different slots in one round trip, with nil
	// for an absent one.
	many := store.(interface {
		GetMany(context.Context, ...string) ([][]byte, error)
	})
	got, err := many.GetMany(ctx, keys[0], "absent", keys[2])
	if err != nil || len(got) != 3 || string(got[0]) != "v-"+keys[0] || got[1] != nil || string(got[2]) != "v-"+keys[2] {
		t.Fatalf("get many = %q %v", got, err)
	}
	if err := store.Delete(ctx, keys...); err != nil {
		t.Fatalf("delete across slots: %v", err)
	}
	for _, k := range keys {
		if _, ok, err := store.Get(ctx, k); err != nil || ok {
			t.Fatalf("%s still there (%v)", k, err)
		}
	}
	for want := int64(1); want <= 3; want++ {
		n, ttl, err := store.Incr(ctx, "counter", time.Minute)
		if err != nil || n != want || ttl <= 0 || ttl > time.Minute {
			t.Fatalf("incr = %d %v %v, want %d with a ttl", n, ttl, err, want)
		}
	}
	if err := store.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}
