package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"frontdesk/config"
	"frontdesk/ent/productimage"
	"frontdesk/gid"
	"frontdesk/internal/testenv"
)

// pngBytes draws a w×h opaque PNG.
func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 120, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const uploadOp = `mutation($in: UploadProductImageInput!) { uploadProductImage(input: $in) {
  image { id url urlAtWidth(width: 100) alt width height contentType position renditions { width height url } }
  userErrors { code field message } } }`

// upload posts uploadProductImage as a GraphQL multipart request, the
// file part carrying the given name and declared type.
func (s *running) upload(t *testing.T, token string, productID gid.ID, alt string, name, declared string, body []byte) gqlResponse {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	ops, _ := json.Marshal(map[string]any{"query": uploadOp, "variables": map[string]any{
		"in": map[string]any{"productId": productID, "alt": alt, "file": nil}}})
	must(t, mw.WriteField("operations", string(ops)))
	must(t, mw.WriteField("map", `{"0": ["variables.in.file"]}`))
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="0"; filename=%q`, name))
	h.Set("Content-Type", declared)
	part, err := mw.CreatePart(h)
	must(t, err)
	_, _ = part.Write(body)
	must(t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, s.base+"/graphql", &buf)
	must(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	return do(t, req)
}

// catalogAdmin signs up an ADMIN and creates a product.
func (s *running) catalogAdmin(t *testing.T) (account, gid.ID) {
	t.Helper()
	admin := s.signUp(t, "admin@example.com", "ADMIN")
	r := s.gqlAs(t, `mutation { createProduct(input: {title: "Green tea", status: ACTIVE}) { product { id } userErrors { message } } }`, nil, bearer(admin.token)...)
	id, _ := field(r, "createProduct.product.id").(string)
	if id == "" {
		t.Fatalf("createProduct: %+v %v", r.Errors, r.Data)
	}
	return admin, gid.ID(id)
}

func userErrorCodes(r gqlResponse, path string) []string {
	list, _ := field(r, path).([]any)
	var out []string
	for _, e := range list {
		out = append(out, e.(map[string]any)["code"].(string))
	}
	return out
}

func (s *running) imageCount(t *testing.T, productID gid.ID) int {
	t.Helper()
	n, err := s.app.DB.Client.ProductImage.Query().Where(productimage.ProductID(productID)).Count(context.Background())
	must(t, err)
	return n
}

// mediaFiles lists the files under the local media directory.
func mediaFiles(t *testing.T, cfg *config.Config) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(filepath.Join(cfg.DataDir, "media"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func (s *running) get(t *testing.T, u string) (int, []byte, http.Header) {
	t.Helper()
	if strings.HasPrefix(u, "/") {
		u = s.base + u
	}
	resp, err := http.Get(u)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// waitRenditions polls the image until the outbox job has recorded its
// renditions.
func (s *running) waitRenditions(t *testing.T, id string) []any {
	t.Helper()
	var list []any
	testenv.Eventually(t, 20*time.Second, "renditions of "+id, func() bool {
		r := s.query(t, `query($id: ID!) { node(id: $id) { ... on ProductImage { renditions { width height url } urlAtWidth(width: 100) } } }`, map[string]any{"id": id})
		list, _ = field(r, "node.renditions").([]any)
		return len(list) > 0
	})
	return list
}

func checkRendition(t *testing.T, s *running, rd map[string]any) {
	t.Helper()
	status, body, hdr := s.get(t, rd["url"].(string))
	if status != http.StatusOK {
		t.Fatalf("GET rendition %v: %d", rd["url"], status)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("rendition does not decode (%s): %v", hdr.Get("Content-Type"), err)
	}
	if float64(cfg.Width) != rd["width"].(float64) || float64(cfg.Height) != rd["height"].(float64) {
		t.Fatalf("rendition is %dx%d, recorded %v", cfg.Width, cfg.Height, rd)
	}
}

func TestMediaUploadLocal(t *testing.T) {
	var cfg *config.Config
	s := start(t, func(c *config.Config) { cfg = c; c.MaxImageBytes = 200_000; c.MaxImagesPerProduct = 3 })
	admin, productID := s.catalogAdmin(t)
	original := pngBytes(t, 600, 300)

	// A PNG named .jpg and declared image/jpeg is a PNG: the bytes decide.
	r := s.upload(t, admin.token, productID, "Front", "photo.jpg", "image/jpeg", original)
	if len(r.Errors) > 0 || len(userErrorCodes(r, "uploadProductImage.userErrors")) > 0 {
		t.Fatalf("upload: %+v %v", r.Errors, r.Data)
	}
	img := field(r, "uploadProductImage.image").(map[string]any)
	if img["contentType"] != "image/png" || img["width"] != 600.0 || img["height"] != 300.0 || img["alt"] != "Front" || img["position"] != 0.0 {
		t.Fatalf("image = %v", img)
	}
	url := img["url"].(string)
	if !strings.HasPrefix(url, "/media/products/"+string(productID)+"/img_") || !strings.HasSuffix(url, ".png") {
		t.Fatalf("url = %s", url)
	}
	if img["urlAtWidth"] != url {
		t.Fatalf("before renditions urlAtWidth should be the original, got %v", img["urlAtWidth"])
	}
	status, body, hdr := s.get(t, url)
	if status != http.StatusOK || !bytes.Equal(body, original) || !strings.Contains(hdr.Get("Cache-Control"), "immutable") {
		t.Fatalf("GET %s: %d, %d bytes, %v", url, status, len(body), hdr)
	}

	// Renditions: 160 and 480 (default widths), never 960 (wider than 600).
	rds := s.waitRenditions(t, img["id"].(string))
	if len(rds) != 2 {
		t.Fatalf("renditions = %v", rds)
	}
	for _, rd := range rds {
		checkRendition(t, s, rd.(map[string]any))
	}
	if w := rds[0].(map[string]any); w["width"] != 160.0 || w["height"] != 80.0 {
		t.Fatalf("first rendition = %v", w)
	}

	t.Run("wrong type", func(t *testing.T) {
		files := len(mediaFiles(t, cfg))
		r := s.upload(t, admin.token, productID, "", "notes.png", "image/png", []byte("just some text, not a picture at all"))
		if got := userErrorCodes(r, "uploadProductImage.userErrors"); len(got) != 1 || got[0] != "INVALID" {
			t.Fatalf("text named .png: %+v %v", r.Errors, r.Data)
		}
		// The PNG signature followed by garbage: sniffed as PNG, but its
		// header does not decode.
		r = s.upload(t, admin.token, productID, "", "broken.png", "image/png", append(original[:8:8], bytes.Repeat([]byte("garbage!"), 20)...))
		if got := userErrorCodes(r, "uploadProductImage.userErrors"); len(got) != 1 || got[0] != "INVALID" {
			t.Fatalf("truncated png: %+v %v", r.Errors, r.Data)
		}
		if n := s.imageCount(t, productID); n != 1 {
			t.Fatalf("%d images after refused uploads", n)
		}
		if n := len(mediaFiles(t, cfg)); n != files {
			t.Fatalf("refused uploads left files: %d → %d", files, n)
		}
	})

	t.Run("too big", func(t *testing.T) {
		big := make([]byte, 250_000)
		copy(big, original)
		r := s.upload(t, admin.token, productID, "", "big.png", "image/png", big)
		if got := userErrorCodes(r, "uploadProductImage.userErrors"); len(got) != 1 || got[0] != "TOO_LONG" {
			t.Fatalf("too big: %+v %v", r.Errors, r.Data)
		}
	})

	t.Run("too many, concurrently", func(t *testing.T) {
		// One image exists and the limit is 3: of four concurrent uploads
		// exactly two get in.
		var wg sync.WaitGroup
		results := make([]gqlResponse, 4)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = s.upload(t, admin.token, productID, fmt.Sprint(i), "x.png", "image/png", pngBytes(t, 50, 50))
			}()
		}
		wg.Wait()
		ok, refused := 0, 0
		for _, r := range results {
			switch codes := userErrorCodes(r, "uploadProductImage.userErrors"); {
			case len(r.Errors) > 0:
				t.Fatalf("top-level error: %+v", r.Errors)
			case len(codes) == 0:
				ok++
			case codes[0] == "INVALID":
				refused++
			}
		}
		if ok != 2 || refused != 2 || s.imageCount(t, productID) != 3 {
			t.Fatalf("ok=%d refused=%d images=%d", ok, refused, s.imageCount(t, productID))
		}
		// Three originals plus the first image's two renditions; the
		// refused uploads left nothing behind.
		testenv.Eventually(t, 10*time.Second, "five media files", func() bool { return len(mediaFiles(t, cfg)) == 5 })
		if files := mediaFiles(t, cfg); len(files) != 5 {
			t.Fatalf("files = %v", files)
		}
	})

	t.Run("reorder, update, delete", func(t *testing.T) {
		ids := s.imageIDs(t, productID)
		rev := []string{ids[2], ids[1], ids[0]}
		r := s.gqlAs(t, `mutation($in: ReorderProductImagesInput!) { reorderProductImages(input: $in) { product { images { id position } } userErrors { code } } }`,
			map[string]any{"in": map[string]any{"productId": productID, "imageIds": rev}}, bearer(admin.token)...)
		if got := s.imageIDs(t, productID); strings.Join(got, ",") != strings.Join(rev, ",") {
			t.Fatalf("after reorder %v, want %v (%v)", got, rev, r.Data)
		}
		r = s.gqlAs(t, `mutation($in: ReorderProductImagesInput!) { reorderProductImages(input: $in) { userErrors { code field } } }`,
			map[string]any{"in": map[string]any{"productId": productID, "imageIds": rev[:2]}}, bearer(admin.token)...)
		if got := userErrorCodes(r, "reorderProductImages.userErrors"); len(got) != 1 || got[0] != "INVALID" {
			t.Fatalf("partial reorder: %v", r.Data)
		}
		r = s.gqlAs(t, `mutation($in: UpdateProductImageInput!) { updateProductImage(input: $in) { image { alt position } userErrors { code } } }`,
			map[string]any{"in": map[string]any{"id": rev[0], "alt": "Back", "position": 99}}, bearer(admin.token)...)
		if got := field(r, "updateProductImage.image").(map[string]any); got["alt"] != "Back" || got["position"] != 2.0 {
			t.Fatalf("update: %v", r.Data)
		}
		// The first image (with renditions) is deleted; its three files go.
		first := ids[0]
		r = s.gqlAs(t, `mutation($id: ID!) { deleteProductImage(input: {id: $id}) { deletedId userErrors { code } } }`,
			map[string]any{"id": first}, bearer(admin.token)...)
		if field(r, "deleteProductImage.deletedId") != first {
			t.Fatalf("delete: %+v %v", r.Errors, r.Data)
		}
		got := s.imageIDs(t, productID)
		if len(got) != 2 {
			t.Fatalf("after delete: %v", got)
		}
		positions := s.query(t, `query($id: ID!) { product(id: $id) { images { position } } }`, map[string]any{"id": productID})
		if fmt.Sprint(field(positions, "product.images")) != "[map[position:0] map[position:1]]" {
			t.Fatalf("positions after delete: %v", positions.Data)
		}
		testenv.Eventually(t, 10*time.Second, "two media files", func() bool { return len(mediaFiles(t, cfg)) == 2 })
		if files := mediaFiles(t, cfg); len(files) != 2 {
			t.Fatalf("files after delete = %v", files)
		}
	})

	t.Run("direct upload is S3 only", func(t *testing.T) {
		r := s.gqlAs(t, `mutation($in: CreateProductImageUploadInput!) { createProductImageUpload(input: $in) { upload { url } userErrors { code message } } }`,
			map[string]any{"in": map[string]any{"productId": productID, "contentType": "image/png", "sizeBytes": 1000}}, bearer(admin.token)...)
		// The product is full (3 images → 2 after the delete above, limit 3), so only UNSUPPORTED.
		if got := userErrorCodes(r, "createProductImageUpload.userErrors"); len(got) != 1 || got[0] != "UNSUPPORTED" {
			t.Fatalf("presign on local: %+v %v", r.Errors, r.Data)
		}
	})

	t.Run("customers cannot upload", func(t *testing.T) {
		ann := s.signUp(t, "ann@example.com", "")
		r := s.upload(t, ann.token, productID, "", "x.png", "image/png", pngBytes(t, 10, 10))
		wantCode(t, r, "FORBIDDEN")
	})

	t.Run("storage failure writes nothing", func(t *testing.T) {
		// Replace the media directory with a file: every write fails.
		dir := filepath.Join(cfg.DataDir, "media")
		must(t, os.Rename(dir, dir+".bak"))
		must(t, os.WriteFile(dir, []byte("x"), 0o600))
		defer func() { _ = os.Remove(dir); _ = os.Rename(dir+".bak", dir) }()
		before := s.imageCount(t, productID)
		r := s.upload(t, admin.token, productID, "", "x.png", "image/png", pngBytes(t, 10, 10))
		wantCode(t, r, "INTERNAL")
		if n := s.imageCount(t, productID); n != before {
			t.Fatalf("storage failure recorded an image: %d → %d", before, n)
		}
	})
}

func (s *running) imageIDs(t *testing.T, productID gid.ID) []string {
	t.Helper()
	r := s.query(t, `query($id: ID!) { product(id: $id) { images { id } } }`, map[string]any{"id": productID})
	var out []string
	for _, im := range field(r, "product.images").([]any) {
		out = append(out, im.(map[string]any)["id"].(string))
	}
	return out
}

// fakeS3 runs an in-process S3 server with a "media" bucket.
func fakeS3(t *testing.T) (*httptest.Server, *s3mem.Backend) {
	t.Helper()
	backend := s3mem.New()
	must(t, backend.CreateBucket("media"))
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	return srv, backend
}

func s3Config(endpoint, bucket string) func(*config.Config) {
	return func(c *config.Config) {
		c.S3Bucket, c.S3Endpoint, c.S3PathStyle = bucket, endpoint, true
		c.S3AccessKeyID, c.S3SecretAccessKey = "test", "test"
		c.MaxImageBytes = 200_000
	}
}

func TestMediaUploadS3(t *testing.T) {
	fake, backend := fakeS3(t)
	s := start(t, s3Config(fake.URL, "media"))
	admin, productID := s.catalogAdmin(t)
	original := pngBytes(t, 500, 500)

	r := s.upload(t, admin.token, productID, "Top", "top.png", "application/octet-stream", original)
	img, _ := field(r, "uploadProductImage.image").(map[string]any)
	if img == nil {
		t.Fatalf("upload: %+v %v\n%s", r.Errors, r.Data, s.logs.String())
	}
	url := img["url"].(string)
	if !strings.HasPrefix(url, fake.URL+"/media/products/"+string(productID)+"/") {
		t.Fatalf("url = %s", url)
	}
	if status, body, _ := s.get(t, url); status != http.StatusOK || !bytes.Equal(body, original) {
		t.Fatalf("GET %s: %d", url, status)
	}
	rds := s.waitRenditions(t, img["id"].(string))
	if len(rds) != 2 {
		t.Fatalf("renditions = %v", rds)
	}
	for _, rd := range rds {
		checkRendition(t, s, rd.(map[string]any))
	}

	t.Run("wrong type", func(t *testing.T) {
		r := s.upload(t, admin.token, productID, "", "a.gif", "image/gif", []byte("GIF? no, plain text"))
		if got := userErrorCodes(r, "uploadProductImage.userErrors"); len(got) != 1 || got[0] != "INVALID" {
			t.Fatalf("%+v %v", r.Errors, r.Data)
		}
	})

	t.Run("presigned upload", func(t *testing.T) {
		start := `mutation($in: CreateProductImageUploadInput!) { createProductImageUpload(input: $in) { upload { url method contentType key expiresAt } userErrors { code field message } } }`
		complete := `mutation($in: CompleteProductImageUploadInput!) { completeProductImageUpload(input: $in) { image { id url width height contentType alt } userErrors { code field message } } }`
		presign := func(ct string, size int) map[string]any {
			r := s.gqlAs(t, start, map[string]any{"in": map[string]any{"productId": productID, "contentType": ct, "sizeBytes": size}}, bearer(admin.token)...)
			up, _ := field(r, "createProductImageUpload.upload").(map[string]any)
			if up == nil {
				t.Fatalf("createProductImageUpload: %+v %v", r.Errors, r.Data)
			}
			return up
		}
		put := func(up map[string]any, body []byte) {
			req, _ := http.NewRequest(up["method"].(string), up["url"].(string), bytes.NewReader(body))
			req.Header.Set("Content-Type", up["contentType"].(string))
			resp, err := http.DefaultClient.Do(req)
			must(t, err)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("PUT: %d", resp.StatusCode)
			}
		}
		big := pngBytes(t, 300, 200)
		up := presign("image/png", len(big))
		put(up, big)
		r := s.gqlAs(t, complete, map[string]any{"in": map[string]any{"productId": productID, "key": up["key"], "alt": "Side"}}, bearer(admin.token)...)
		img, _ := field(r, "completeProductImageUpload.image").(map[string]any)
		if img == nil || img["width"] != 300.0 || img["height"] != 200.0 || img["contentType"] != "image/png" || img["alt"] != "Side" {
			t.Fatalf("complete: %+v %v", r.Errors, r.Data)
		}
		// Completing twice is refused and keeps the object.
		r = s.gqlAs(t, complete, map[string]any{"in": map[string]any{"productId": productID, "key": up["key"]}}, bearer(admin.token)...)
		if got := userErrorCodes(r, "completeProductImageUpload.userErrors"); len(got) != 1 || got[0] != "TAKEN" {
			t.Fatalf("second complete: %v", r.Data)
		}
		if status, _, _ := s.get(t, img["url"].(string)); status != http.StatusOK {
			t.Fatalf("object gone after a second complete: %d", status)
		}
		s.waitRenditions(t, img["id"].(string))

		// Text PUT where a PNG was announced: refused, and the object is deleted.
		up = presign("image/png", 100)
		put(up, []byte("this is not an image, whatever the URL said"))
		r = s.gqlAs(t, complete, map[string]any{"in": map[string]any{"productId": productID, "key": up["key"]}}, bearer(admin.token)...)
		if got := userErrorCodes(r, "completeProductImageUpload.userErrors"); len(got) != 1 || got[0] != "INVALID" {
			t.Fatalf("text upload: %v", r.Data)
		}
		key := up["key"].(string)
		if _, err := backend.HeadObject("media", key); err == nil {
			t.Fatalf("refused object %s is still in the bucket", key)
		}
		// Larger than the limit, declared honestly: refused before any URL.
		r = s.gqlAs(t, start, map[string]any{"in": map[string]any{"productId": productID, "contentType": "image/png", "sizeBytes": 300_000}}, bearer(admin.token)...)
		if got := userErrorCodes(r, "createProductImageUpload.userErrors"); len(got) != 1 || got[0] != "TOO_LONG" {
			t.Fatalf("big presign: %v", r.Data)
		}
		// Declared small, uploaded big: refused on completion.
		up = presign("image/png", 100)
		huge := make([]byte, 250_000)
		copy(huge, big)
		put(up, huge)
		r = s.gqlAs(t, complete, map[string]any{"in": map[string]any{"productId": productID, "key": up["key"]}}, bearer(admin.token)...)
		if got := userErrorCodes(r, "completeProductImageUpload.userErrors"); len(got) != 1 || got[0] != "TOO_LONG" {
			t.Fatalf("big complete: %v", r.Data)
		}
		// Nothing uploaded, or a key of another product.
		up = presign("image/png", 100)
		r = s.gqlAs(t, complete, map[string]any{"in": map[string]any{"productId": productID, "key": up["key"]}}, bearer(admin.token)...)
		if got := userErrorCodes(r, "completeProductImageUpload.userErrors"); len(got) != 1 || got[0] != "NOT_FOUND" {
			t.Fatalf("complete without PUT: %v", r.Data)
		}
		r = s.gqlAs(t, complete, map[string]any{"in": map[string]any{"productId": productID, "key": "products/prd_01ARZ3NDEKTSV4RRFFQ69G5FAV/img_01ARZ3NDEKTSV4RRFFQ69G5FAV.png"}}, bearer(admin.token)...)
		if got := userErrorCodes(r, "completeProductImageUpload.userErrors"); len(got) != 1 || got[0] != "INVALID" {
			t.Fatalf("foreign key: %v", r.Data)
		}
		if n := s.imageCount(t, productID); n != 2 {
			t.Fatalf("%d images, want 2", n)
		}
	})
}

func TestMediaS3StorageFailure(t *testing.T) {
	fake, _ := fakeS3(t)
	// A bucket that does not exist: every PUT fails.
	s := start(t, s3Config(fake.URL, "missing"))
	admin, productID := s.catalogAdmin(t)
	r := s.upload(t, admin.token, productID, "", "x.png", "image/png", pngBytes(t, 20, 20))
	wantCode(t, r, "INTERNAL")
	if n := s.imageCount(t, productID); n != 0 {
		t.Fatalf("storage failure recorded %d images", n)
	}
}

func TestMediaBaseURL(t *testing.T) {
	s := start(t, func(c *config.Config) { c.MediaBaseURL = "https://cdn.example.com/media" })
	admin, productID := s.catalogAdmin(t)
	r := s.upload(t, admin.token, productID, "", "x.png", "image/png", pngBytes(t, 20, 20))
	if u, _ := field(r, "uploadProductImage.image.url").(string); !strings.HasPrefix(u, "https://cdn.example.com/media/products/"+string(productID)+"/") {
		t.Fatalf("url = %q (%v)", u, r.Data)
	}
}
