package catalog

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"

	"frontdesk/ent"
)

// seedImageLimit caps how many demo products get generated pictures:
// each is a real upload (PNG encode, store, rendition job), which is fine
// for a demo catalog and pointless for a benchmark-sized one.
const seedImageLimit = 100

// seedPalette gives demo pictures their colours (background, jar, lid).
var seedPalette = [][3]color.NRGBA{
	{{232, 241, 228, 255}, {86, 140, 90, 255}, {48, 80, 52, 255}},    // green
	{{245, 233, 220, 255}, {150, 90, 60, 255}, {90, 50, 30, 255}},    // black tea
	{{246, 240, 250, 255}, {140, 100, 170, 255}, {80, 55, 100, 255}}, // herbal
	{{250, 246, 222, 255}, {220, 170, 40, 255}, {140, 100, 20, 255}}, // vitamins
	{{228, 238, 246, 255}, {70, 120, 170, 255}, {40, 70, 110, 255}},  // minerals
	{{252, 236, 240, 255}, {210, 120, 140, 255}, {130, 60, 80, 255}}, // skin care
}

// seedPicture draws a 640×640 PNG of a jar with a label: the label's
// stripes count the product number, so pictures differ, and the bytes
// are the same on every run.
func seedPicture(n int, alt bool) ([]byte, error) {
	const size = 640
	pal := seedPalette[n%len(seedPalette)]
	bg, jar, lid := pal[0], pal[1], pal[2]
	if alt { // the second picture of a product: colours swapped
		bg, jar = jar, bg
	}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	fill := func(r image.Rectangle, c color.Color) {
		draw.Draw(img, r, &image.Uniform{C: c}, image.Point{}, draw.Src)
	}
	fill(img.Bounds(), bg)
	fill(image.Rect(200, 160, 440, 520), jar)                             // body
	fill(image.Rect(220, 120, 420, 165), lid)                             // lid
	fill(image.Rect(215, 260, 425, 420), color.NRGBA{255, 255, 255, 255}) // label
	stripes := n%9 + 1
	for i := range stripes {
		x := 230 + i*20
		fill(image.Rect(x, 300, x+10, 380), lid)
	}
	// A shadow under the jar, fading into the background. Every pixel
	// stays opaque, so renditions are JPEG.
	for y := 525; y < 545; y++ {
		k := uint8(y - 525) // 0 (dark) … 19 (background)
		shade := func(c uint8) uint8 { return uint8(int(c) * (60 + 2*int(k)) / 100) }
		fill(image.Rect(180, y, 460, y+1), color.NRGBA{shade(bg.R), shade(bg.G), shade(bg.B), 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode demo picture: %w", err)
	}
	return buf.Bytes(), nil
}

// seedImages uploads a product's demo pictures through UploadImage, the
// same path as the admin API (checks, storage, rendition job). Every
// sixth product gets a second picture, so galleries show too.
func (s *Service) seedImages(ctx context.Context, i int, p *ent.Product) error {
	if s.opts.Storage == nil || i >= seedImageLimit {
		return nil
	}
	count := 1
	if i%6 == 0 {
		count = 2
	}
	for k := range count {
		b, err := seedPicture(i, k == 1)
		if err != nil {
			return err
		}
		alt := p.Title
		if k == 1 {
			alt += " (detail)"
		}
		if _, err := s.UploadImage(ctx, p.ID, ImageUpload{File: bytes.NewReader(b), Size: int64(len(b)), Alt: &alt}); err != nil {
			return fmt.Errorf("seed image of %s: %w", p.Title, err)
		}
	}
	return nil
}
