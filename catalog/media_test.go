package catalog_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"frontdesk/catalog"
	"frontdesk/database"
	"frontdesk/ent"
	"frontdesk/ent/hook"
	"frontdesk/ent/job"
	"frontdesk/errcode"
	"frontdesk/integrations/storage"
	"frontdesk/internal/testenv"
)

// mediaService is a catalog with local storage in a temporary directory.
func mediaService(t *testing.T, media catalog.MediaOptions) (*catalog.Service, *database.DB, string) {
	t.Helper()
	db := testenv.DB(t, database.Options{})
	dir := t.TempDir()
	store, err := storage.NewLocal(dir, "/media")
	if err != nil {
		t.Fatal(err)
	}
	return catalog.New(db.Client, db.Dialect, nil, nil, catalog.Options{Storage: store, Media: media}), db, dir
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func encoded(t *testing.T, format string, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	var b bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&b, img)
	case "jpeg":
		err = jpeg.Encode(&b, img, nil)
	case "gif":
		err = gif.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A 1×1 lossless WebP (no WebP encoder exists in Go's standard library or x/image).
const webp1x1 = "UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=="

func TestUploadImageTypesFromBytes(t *testing.T) {
	s, _, dir := mediaService(t, catalog.MediaOptions{})
	p := mustProduct(t, s, catalog.ProductInput{Title: ptr("Jar")})
	webp, _ := base64.StdEncoding.DecodeString(webp1x1)
	tests := []struct {
		name   string
		body   []byte
		wantCT string // "" when refused
		w, h   int
	}{
		{"png", encoded(t, "png", 30, 20), "image/png", 30, 20},
		{"jpeg", encoded(t, "jpeg", 40, 10), "image/jpeg", 40, 10},
		{"gif", encoded(t, "gif", 8, 9), "image/gif", 8, 9},
		{"webp", webp, "image/webp", 1, 1},
		{"text", []byte("hello, this is not an image"), "", 0, 0},
		{"html", []byte("<!DOCTYPE html><html><body><img src=x></body></html>"), "", 0, 0},
		{"pdf", []byte("%PDF-1.4\n%âãÏÓ\n1 0 obj"), "", 0, 0},
		{"bmp", append([]byte("BM"), make([]byte, 60)...), "", 0, 0},
		{"png signature, garbage after", append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{7}, 100)...), "", 0, 0},
		{"empty", nil, "", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(files(t, dir))
			img, err := s.UploadImage(staffCtx(), p.ID, catalog.ImageUpload{File: bytes.NewReader(tc.body), Size: int64(len(tc.body))})
			if tc.wantCT == "" {
				if _, ok := errcode.AsUserErrors(err); !ok {
					t.Fatalf("want a user error, got %v", err)
				}
				if n := len(files(t, dir)); n != before {
					t.Fatalf("a refused upload left a file")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if img.ContentType != tc.wantCT || img.Width != tc.w || img.Height != tc.h || img.SizeBytes != int64(len(tc.body)) {
				t.Fatalf("image = %s %dx%d %d bytes", img.ContentType, img.Width, img.Height, img.SizeBytes)
			}
		})
	}
}

// TestUploadImageDBFailureRemovesFile: the object is stored before the
// transaction; when the transaction fails it must not stay behind.
func TestUploadImageDBFailureRemovesFile(t *testing.T) {
	s, db, dir := mediaService(t, catalog.MediaOptions{})
	p := mustProduct(t, s, catalog.ProductInput{Title: ptr("Jar")})
	db.Client.ProductImage.Use(func(next ent.Mutator) ent.Mutator {
		return hook.ProductImageFunc(func(ctx context.Context, m *ent.ProductImageMutation) (ent.Value, error) {
			if m.Op().Is(ent.OpCreate) {
				return nil, errors.New("database went away")
			}
			return next.Mutate(ctx, m)
		})
	})
	b := encoded(t, "png", 10, 10)
	_, err := s.UploadImage(staffCtx(), p.ID, catalog.ImageUpload{File: bytes.NewReader(b), Size: int64(len(b))})
	if err == nil || errcode.Of(err) != errcode.Internal {
		t.Fatalf("err = %v", err)
	}
	if f := files(t, dir); len(f) != 0 {
		t.Fatalf("orphan files: %v", f)
	}
}

func TestUploadImageNeedsPermission(t *testing.T) {
	s, _, _ := mediaService(t, catalog.MediaOptions{})
	p := mustProduct(t, s, catalog.ProductInput{Title: ptr("Jar")})
	b := encoded(t, "png", 10, 10)
	_, err := s.UploadImage(context.Background(), p.ID, catalog.ImageUpload{File: bytes.NewReader(b), Size: int64(len(b))})
	if c := errcode.Of(err); c != errcode.Unauthenticated && c != errcode.Forbidden {
		t.Fatalf("anonymous upload: %v", err)
	}
}

func TestRenditionsNeverUpscale(t *testing.T) {
	s, _, _ := mediaService(t, catalog.MediaOptions{RenditionWidths: []int{100, 200, 400}})
	p := mustProduct(t, s, catalog.ProductInput{Title: ptr("Jar")})
	for _, tc := range []struct {
		format string
		w, h   int
		want   []entRendition
	}{
		{"png", 300, 150, []entRendition{{100, 50, ".jpg"}, {200, 100, ".jpg"}}},
		{"jpeg", 90, 90, nil},
		{"gif", 250, 500, []entRendition{{100, 200, ".jpg"}, {200, 400, ".jpg"}}},
	} {
		b := encoded(t, tc.format, tc.w, tc.h)
		img, err := s.UploadImage(staffCtx(), p.ID, catalog.ImageUpload{File: bytes.NewReader(b), Size: int64(len(b))})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.MakeRenditions(context.Background(), img)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(tc.want) {
			t.Fatalf("%s %dx%d: renditions %v", tc.format, tc.w, tc.h, got)
		}
		for i, r := range got {
			if r.Width != tc.want[i].w || r.Height != tc.want[i].h || filepath.Ext(r.Key) != tc.want[i].ext {
				t.Fatalf("%s: rendition %d = %+v, want %+v", tc.format, i, r, tc.want[i])
			}
		}
	}
	// Transparency keeps PNG.
	clear := image.NewNRGBA(image.Rect(0, 0, 300, 300))
	var b bytes.Buffer
	_ = png.Encode(&b, clear)
	img, err := s.UploadImage(staffCtx(), p.ID, catalog.ImageUpload{File: bytes.NewReader(b.Bytes()), Size: int64(b.Len())})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.MakeRenditions(context.Background(), img)
	if err != nil || len(got) != 2 || filepath.Ext(got[0].Key) != ".png" {
		t.Fatalf("transparent renditions = %v, %v", got, err)
	}
}

type entRendition struct {
	w, h int
	ext  string
}

func TestSeedAttachesImages(t *testing.T) {
	s, db, dir := mediaService(t, catalog.MediaOptions{})
	if _, err := s.Seed(context.Background(), catalog.SeedOptions{Products: 7}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Products 1 and 7 get two pictures, the others one.
	n, err := db.Client.ProductImage.Query().Count(ctx)
	if err != nil || n != 9 {
		t.Fatalf("images = %d, %v", n, err)
	}
	if f := files(t, dir); len(f) != 9 {
		t.Fatalf("files = %d", len(f))
	}
	jobs, err := db.Client.Job.Query().Where(job.Kind(catalog.JobRenditions)).Count(ctx)
	if err != nil || jobs != 9 {
		t.Fatalf("rendition jobs = %d, %v", jobs, err)
	}
	img := db.Client.ProductImage.Query().FirstX(ctx)
	if img.Width != 640 || img.ContentType != "image/png" || img.Alt == "" {
		t.Fatalf("seed image = %+v", img)
	}
	got, err := s.MakeRenditions(ctx, img)
	if err != nil || len(got) != 2 || filepath.Ext(got[0].Key) != ".jpg" { // 160 and 480; 960 would enlarge; opaque → JPEG
		t.Fatalf("renditions = %v, %v", got, err)
	}
}

// A portrait phone photo is stored on its side with EXIF orientation 6
// (turn a quarter clockwise). Its recorded size and its renditions are
// those of the photo as it is seen: taller than wide, the stored left
// half (red) on top.
func TestRenditionsFollowExifOrientation(t *testing.T) {
	s, _, dir := mediaService(t, catalog.MediaOptions{RenditionWidths: []int{10}})
	p := mustProduct(t, s, catalog.ProductInput{Title: ptr("Portrait")})
	stored := image.NewNRGBA(image.Rect(0, 0, 40, 20))
	for y := range 20 {
		for x := range 40 {
			c := color.NRGBA{220, 0, 0, 255}
			if x >= 20 {
				c = color.NRGBA{0, 0, 220, 255}
			}
			stored.SetNRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, stored, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	photo := catalog.JPEGWithOrientation(t, b.Bytes(), 6)
	img, err := s.UploadImage(staffCtx(), p.ID, catalog.ImageUpload{File: bytes.NewReader(photo), Size: int64(len(photo))})
	if err != nil {
		t.Fatal(err)
	}
	if img.Width != 20 || img.Height != 40 {
		t.Fatalf("recorded %d×%d, want the seen 20×40", img.Width, img.Height)
	}
	got, err := s.MakeRenditions(context.Background(), img)
	if err != nil || len(got) != 1 {
		t.Fatalf("renditions = %v, %v", got, err)
	}
	if got[0].Width != 10 || got[0].Height != 20 {
		t.Fatalf("rendition %d×%d, want 10×20", got[0].Width, got[0].Height)
	}
	file, err := os.ReadFile(filepath.Join(dir, got[0].Key))
	if err != nil {
		t.Fatal(err)
	}
	r, err := jpeg.Decode(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	red := func(x, y int) bool {
		c := color.NRGBAModel.Convert(r.At(x, y)).(color.NRGBA)
		return c.R > 150 && c.B < 80
	}
	blue := func(x, y int) bool {
		c := color.NRGBAModel.Convert(r.At(x, y)).(color.NRGBA)
		return c.B > 150 && c.R < 80
	}
	if !red(5, 2) || !blue(5, 17) {
		t.Fatalf("rendition is not turned: top %v, bottom %v", r.At(5, 2), r.At(5, 17))
	}
}
