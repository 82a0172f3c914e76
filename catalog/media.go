package catalog

import "frontdesk/ent"

// MediaOptions configure image uploads.
type MediaOptions struct {
	// MaxImageBytes is the largest image accepted.
	MaxImageBytes int64
	// MaxImagesPerProduct caps a product's gallery.
	MaxImagesPerProduct int
	// RenditionWidths are the widths resized copies are made at.
	RenditionWidths []int
}

func (m *MediaOptions) defaults() {
	if m.MaxImageBytes == 0 {
		m.MaxImageBytes = 10 << 20
	}
	if m.MaxImagesPerProduct == 0 {
		m.MaxImagesPerProduct = 20
	}
	if m.RenditionWidths == nil {
		m.RenditionWidths = []int{160, 480, 960}
	}
}

// ImageURL is the public URL of a stored image key.
func (s *Service) ImageURL(key string) string {
	if s.opts.Storage == nil || key == "" {
		return ""
	}
	return s.opts.Storage.URL(key)
}

// RenditionKey picks the smallest rendition at least width pixels wide,
// or the original.
func RenditionKey(img *ent.ProductImage, width int) string {
	best := ""
	bestW := 0
	for _, r := range img.Renditions {
		if r.Width >= width && (best == "" || r.Width < bestW) {
			best, bestW = r.Key, r.Width
		}
	}
	if best == "" {
		return img.Key
	}
	return best
}
