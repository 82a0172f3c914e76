package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"frontdesk/integrations/storage"
)

// fakeS3 starts an in-process S3 server with one bucket and returns a
// store on it (path-style, static credentials, as for MinIO).
func fakeS3(t *testing.T, baseURL string) (*storage.S3, string) {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket("media"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	s, err := storage.NewS3(storage.S3Options{
		Bucket: "media", Region: "ap-southeast-2", Endpoint: srv.URL, PathStyle: true,
		AccessKeyID: "test", SecretAccessKey: "test", BaseURL: baseURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, srv.URL
}

func TestS3PutGetStatDelete(t *testing.T) {
	ctx := context.Background()
	s, endpoint := fakeS3(t, "")
	body := []byte("\x89PNG\r\n\x1a\n not really a png")
	// A plain io.Reader (not a seeker), as an upload stream is.
	if err := s.Put(ctx, "products/prd_1/img_1.png", io.NopCloser(bytes.NewReader(body)), int64(len(body)), "image/png"); err != nil {
		t.Fatalf("put: %v", err)
	}
	info, err := s.Stat(ctx, "products/prd_1/img_1.png")
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	if info.Size != int64(len(body)) || info.ContentType != "image/png" {
		t.Fatalf("stat = %+v", info)
	}
	rc, err := s.Get(ctx, "products/prd_1/img_1.png")
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	got, _ := io.ReadAll(rc)
	_ = rc.Close()
	if !bytes.Equal(got, body) {
		t.Fatalf("get = %q", got)
	}
	if u := s.URL("products/prd_1/img_1.png"); u != endpoint+"/media/products/prd_1/img_1.png" {
		t.Fatalf("url = %s", u)
	}
	// The public URL serves the object (gofakes3 allows anonymous reads).
	resp, err := http.Get(s.URL("products/prd_1/img_1.png"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET public url: %d", resp.StatusCode)
	}
	if err := s.Delete(ctx, "products/prd_1/img_1.png"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := s.Get(ctx, "products/prd_1/img_1.png"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if _, err := s.Stat(ctx, "products/prd_1/img_1.png"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("stat after delete: %v", err)
	}
	if err := s.Delete(ctx, "products/prd_1/img_1.png"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
}

func TestS3BaseURL(t *testing.T) {
	s, _ := fakeS3(t, "https://cdn.example.com/media/")
	if u := s.URL("a/b.png"); u != "https://cdn.example.com/media/a/b.png" {
		t.Fatalf("url = %s", u)
	}
	aws, err := storage.NewS3(storage.S3Options{Bucket: "shop", Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if u := aws.URL("k.png"); u != "https://shop.s3.eu-west-1.amazonaws.com/k.png" {
		t.Fatalf("aws url = %s", u)
	}
}

// TestS3PresignedPut is the direct-upload flow: the server signs a PUT,
// the client sends the bytes with the same Content-Type, and the object
// is there.
func TestS3PresignedPut(t *testing.T) {
	ctx := context.Background()
	s, _ := fakeS3(t, "")
	u, err := s.PresignPut(ctx, "products/prd_1/img_2.jpg", "image/jpeg", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(u, "X-Amz-Signature=") || !strings.Contains(u, "X-Amz-Expires=900") {
		t.Fatalf("presigned url is not signed: %s", u)
	}
	body := bytes.Repeat([]byte{0xff, 0xd8, 0xff}, 1000)
	req, _ := http.NewRequest(http.MethodPut, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "image/jpeg")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT presigned: %d %s", resp.StatusCode, msg)
	}
	info, err := s.Stat(ctx, "products/prd_1/img_2.jpg")
	if err != nil || info.Size != int64(len(body)) {
		t.Fatalf("stat after direct upload = %+v, %v", info, err)
	}
}

func TestLocalStatAndPresign(t *testing.T) {
	ctx := context.Background()
	l, err := storage.NewLocal(t.TempDir(), "/media")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Put(ctx, "p/x.png", strings.NewReader("12345"), 5, "image/png"); err != nil {
		t.Fatal(err)
	}
	if info, err := l.Stat(ctx, "p/x.png"); err != nil || info.Size != 5 {
		t.Fatalf("stat = %+v, %v", info, err)
	}
	if _, err := l.Stat(ctx, "p/y.png"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("stat missing: %v", err)
	}
	if _, err := l.Stat(ctx, "../etc/passwd"); err == nil {
		t.Fatal("stat outside the directory worked")
	}
	if _, err := l.PresignPut(ctx, "p/z.png", "image/png", time.Minute); !errors.Is(err, storage.ErrPresignUnsupported) {
		t.Fatalf("presign on local: %v", err)
	}
}

// TestList lists by prefix, in key order, on both stores; Local leaves
// out Put's temporary files.
func TestList(t *testing.T) {
	ctx := context.Background()
	s3store, _ := fakeS3(t, "")
	local, err := storage.NewLocal(t.TempDir(), "/media")
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]interface {
		storage.Store
		List(context.Context, string) ([]storage.Object, error)
	}{"s3": s3store, "local": local} {
		for _, k := range []string{"backups/b.tar.gz", "products/p.png", "backups/a.tar.gz", "backups/sub/c.tar.gz"} {
			body := []byte(k)
			if err := s.Put(ctx, k, bytes.NewReader(body), int64(len(body)), "application/gzip"); err != nil {
				t.Fatalf("%s put %s: %v", name, k, err)
			}
		}
		got, err := s.List(ctx, "backups/")
		if err != nil {
			t.Fatalf("%s list: %v", name, err)
		}
		var keys []string
		for _, o := range got {
			keys = append(keys, o.Key)
			if o.Size != int64(len(o.Key)) || o.Modified.IsZero() {
				t.Errorf("%s: %+v", name, o)
			}
		}
		if strings.Join(keys, " ") != "backups/a.tar.gz backups/b.tar.gz backups/sub/c.tar.gz" {
			t.Errorf("%s list = %v", name, keys)
		}
		if none, err := s.List(ctx, "nothing/"); err != nil || len(none) != 0 {
			t.Errorf("%s list of an empty prefix = %v, %v", name, none, err)
		}
	}
}

type recordHeaders struct {
	got []string
}

func (r *recordHeaders) Do(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut {
		r.got = append(r.got, req.Header.Get("Cache-Control"))
	}
	return http.DefaultClient.Do(req)
}

// TestS3CacheControl: media objects are cacheable for good, a store made
// with its own CacheControl (backups) sends that instead.
func TestS3CacheControl(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("media"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	rec := &recordHeaders{}
	for _, cc := range []string{"", "private, no-store"} {
		s, err := storage.NewS3(storage.S3Options{Bucket: "media", Endpoint: srv.URL, PathStyle: true,
			AccessKeyID: "test", SecretAccessKey: "test", HTTPClient: rec, CacheControl: cc})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Put(context.Background(), "k", bytes.NewReader([]byte("x")), 1, "text/plain"); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(rec.got, "|") != "public, max-age=31536000, immutable|private, no-store" {
		t.Fatalf("Cache-Control sent: %q", rec.got)
	}
}
