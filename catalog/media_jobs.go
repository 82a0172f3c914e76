package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"time"

	"golang.org/x/image/draw"

	"frontdesk/ent"
	"frontdesk/ent/productimage"
	entschema "frontdesk/ent/schema"
	"frontdesk/gid"
	"frontdesk/integrations/storage"
	"frontdesk/outbox"
)

// Outbox job kinds of the catalog.
const (
	// JobRenditions makes the resized copies of a new image.
	JobRenditions = "catalog.image_renditions"
	// JobDeleteMedia deletes the files of a deleted image.
	JobDeleteMedia = "catalog.delete_media"
)

type renditionJob struct {
	ImageID gid.ID `json:"imageId"`
}

type deleteMediaJob struct {
	Keys []string `json:"keys"`
}

// RegisterJobs declares the catalog's job kinds. Resizing is CPU-bound,
// so only two run at once per worker.
func RegisterJobs(reg *outbox.Registry, s *Service) {
	reg.Register(outbox.Kind{Name: JobRenditions, Handler: s.runRenditions, Concurrency: 2, Timeout: 2 * time.Minute})
	reg.Register(outbox.Kind{Name: JobDeleteMedia, Handler: s.runDeleteMedia})
}

// runRenditions makes the renditions of one image and records them. It
// can run twice (a worker dying after the upload): keys are derived from
// the image ID and width, so a second run overwrites the same objects.
func (s *Service) runRenditions(ctx context.Context, j *outbox.Running) error {
	var p renditionJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	if s.opts.Storage == nil {
		return outbox.Permanent(ErrMediaDisabled)
	}
	img, err := s.client.ProductImage.Get(ctx, p.ImageID)
	if ent.IsNotFound(err) {
		return nil // deleted before its renditions were made
	}
	if err != nil {
		return fmt.Errorf("load image: %w", err)
	}
	made, err := s.MakeRenditions(ctx, img)
	if err != nil {
		return err
	}
	errGone := errors.New("image deleted meanwhile")
	err = s.withTx(ctx, func(tx *ent.Tx) error {
		n, err := tx.ProductImage.Update().Where(productimage.ID(img.ID)).SetRenditions(made).Save(ctx)
		if err == nil && n == 0 {
			err = errGone
		}
		return err
	})
	if errors.Is(err, errGone) {
		keys := make([]string, len(made))
		for i, r := range made {
			keys[i] = r.Key
		}
		s.deleteObjects(ctx, keys...)
		return nil
	}
	return err
}

// MakeRenditions decodes the original and stores a copy at every
// configured width narrower than it (never an enlargement). JPEG
// originals give JPEG renditions; PNG, GIF and WebP give JPEG when fully
// opaque and PNG when they have transparency.
func (s *Service) MakeRenditions(ctx context.Context, img *ent.ProductImage) ([]entschema.Rendition, error) {
	rc, err := s.opts.Storage.Get(ctx, img.Key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, outbox.Permanent(fmt.Errorf("original %s is missing", img.Key))
	}
	if err != nil {
		return nil, fmt.Errorf("read original: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(rc, s.opts.Media.MaxImageBytes+1))
	if cerr := rc.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("read original: %w", err)
	}
	src, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, outbox.Permanent(fmt.Errorf("decode %s: %w", img.Key, err))
	}
	// Renditions carry no EXIF, so a JPEG's orientation is applied to
	// their pixels: widths are those of the image as it is seen.
	orientation := 1
	if img.ContentType == "image/jpeg" {
		orientation = exifOrientation(raw)
	}
	b := src.Bounds()
	seenW, seenH := b.Dx(), b.Dy()
	if orientationSwapsAxes(orientation) {
		seenW, seenH = seenH, seenW
	}
	asJPEG := img.ContentType == "image/jpeg" || opaque(src)
	out := []entschema.Rendition{}
	for _, w := range s.opts.Media.RenditionWidths {
		if w >= seenW {
			continue
		}
		h := max(1, (seenH*w+seenW/2)/seenW)
		scaledW, scaledH := w, h // in the stored orientation
		if orientationSwapsAxes(orientation) {
			scaledW, scaledH = h, w
		}
		dst := image.NewNRGBA(image.Rect(0, 0, scaledW, scaledH))
		draw.CatmullRom.Scale(dst, dst.Bounds(), src, b, draw.Src, nil)
		dst = orient(dst, orientation)
		var buf bytes.Buffer
		ext, ct := "png", "image/png"
		if asJPEG {
			ext, ct = "jpg", "image/jpeg"
			err = jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 82})
		} else {
			err = png.Encode(&buf, dst)
		}
		if err != nil {
			return nil, fmt.Errorf("encode rendition: %w", err)
		}
		key := fmt.Sprintf("products/%s/%s_w%d.%s", img.ProductID, img.ID, w, ext)
		if err := s.opts.Storage.Put(ctx, key, bytes.NewReader(buf.Bytes()), int64(buf.Len()), ct); err != nil {
			return nil, fmt.Errorf("store rendition: %w", err)
		}
		out = append(out, entschema.Rendition{Width: w, Height: h, Key: key})
	}
	return out, nil
}

// opaque reports whether an image has no transparent pixel.
func opaque(m image.Image) bool {
	if o, ok := m.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}

// runDeleteMedia deletes the files of a deleted image. Missing objects
// are not an error, so retries are safe.
func (s *Service) runDeleteMedia(ctx context.Context, j *outbox.Running) error {
	var p deleteMediaJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	if s.opts.Storage == nil {
		return outbox.Permanent(ErrMediaDisabled)
	}
	for _, k := range p.Keys {
		if err := s.opts.Storage.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}
