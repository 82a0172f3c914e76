package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"frontdesk/ent"
	"frontdesk/ent/product"
	"frontdesk/ent/productimage"
	"frontdesk/errcode"
	"frontdesk/gid"
	"frontdesk/identity"
	"frontdesk/integrations/storage"
	"frontdesk/outbox"
)

// ImageUpload is an image sent through the GraphQL multipart request.
type ImageUpload struct {
	// File is the upload; it is read twice (the header, then the bytes
	// to store), hence a ReadSeeker.
	File io.ReadSeeker
	// Size is the length the client declared for the file part.
	Size int64
	// Alt is the alternative text; Position where to insert it (default
	// last).
	Alt      *string
	Position *int
}

// DirectUpload is a presigned URL a client PUTs a large image to before
// calling CompleteImageUpload with Key.
type DirectUpload struct {
	URL         string
	Key         string
	ContentType string
	ExpiresAt   time.Time
}

// directUploadTTL is how long a presigned upload URL works.
const directUploadTTL = 15 * time.Minute

// ErrMediaDisabled is returned when no store is configured.
var ErrMediaDisabled = errcode.New(errcode.Internal, "media storage is not configured")

// UploadImage checks and stores an image and records it on the product.
// The bytes go to storage before the database transaction (no
// transaction is held open during a slow upload); when the transaction
// fails afterwards the stored object is deleted again, so a failure
// leaves neither a row without a file nor a file without a row.
func (s *Service) UploadImage(ctx context.Context, productID gid.ID, up ImageUpload) (*ent.ProductImage, error) {
	if _, err := identity.Require(ctx, identity.ManageCatalog); err != nil {
		return nil, err
	}
	if s.opts.Storage == nil {
		return nil, ErrMediaDisabled
	}
	if err := s.precheckImage(ctx, productID, up.Alt, up.Size, "file"); err != nil {
		return nil, err
	}
	// The declared size can lie: count what is really there.
	size, err := up.File.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("measure upload: %w", err)
	}
	if err := s.checkSize(size, "file"); err != nil {
		return nil, err
	}
	if _, err := up.File.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind upload: %w", err)
	}
	info, err := inspectImage(up.File, "file")
	if err != nil {
		return nil, err
	}
	if _, err := up.File.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind upload: %w", err)
	}
	id := gid.New("img")
	key := imageKey(productID, id, imageTypes[info.contentType])
	if err := s.opts.Storage.Put(ctx, key, up.File, size, info.contentType); err != nil {
		// Nothing has touched the database yet.
		return nil, fmt.Errorf("store image: %w", err)
	}
	return s.recordImage(ctx, newImage{id: id, productID: productID, key: key, size: size, info: info, alt: up.Alt, position: up.Position})
}

// StartImageUpload hands out a presigned PUT URL for a large image, so
// the bytes go straight to the bucket. Local storage cannot do this: the
// result is an UNSUPPORTED user error naming the multipart upload.
func (s *Service) StartImageUpload(ctx context.Context, productID gid.ID, contentType string, size int64) (*DirectUpload, error) {
	if _, err := identity.Require(ctx, identity.ManageCatalog); err != nil {
		return nil, err
	}
	if s.opts.Storage == nil {
		return nil, ErrMediaDisabled
	}
	ct := strings.ToLower(strings.TrimSpace(contentType))
	ext, ok := imageTypes[ct]
	if !ok {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Invalid, "contentType", "must be image/jpeg, image/png, image/webp or image/gif")}
	}
	if size <= 0 {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Invalid, "sizeBytes", "must be positive")}
	}
	if err := s.precheckImage(ctx, productID, nil, size, "sizeBytes"); err != nil {
		return nil, err
	}
	key := imageKey(productID, gid.New("img"), ext)
	u, err := s.opts.Storage.PresignPut(ctx, key, ct, directUploadTTL)
	if errors.Is(err, storage.ErrPresignUnsupported) {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Unsupported, "",
			"direct upload needs S3 storage (FRONTDESK_S3_BUCKET); upload the file with uploadProductImage (GraphQL multipart request) instead")}
	}
	if err != nil {
		return nil, fmt.Errorf("presign upload: %w", err)
	}
	return &DirectUpload{URL: u, Key: key, ContentType: ct, ExpiresAt: time.Now().Add(directUploadTTL)}, nil
}

// CompleteImageUpload records an image a client PUT to a presigned URL:
// the object's size comes from a HEAD, its type and dimensions from its
// first bytes. An object that fails the checks is deleted.
func (s *Service) CompleteImageUpload(ctx context.Context, productID gid.ID, key string, alt *string, position *int) (*ent.ProductImage, error) {
	if _, err := identity.Require(ctx, identity.ManageCatalog); err != nil {
		return nil, err
	}
	if s.opts.Storage == nil {
		return nil, ErrMediaDisabled
	}
	id, ext, ok := parseImageKey(productID, key)
	if !ok {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Invalid, "key", "is not a key returned by createProductImageUpload for this product")}
	}
	// Completing twice must not delete the object the first call recorded.
	if taken, err := s.client.ProductImage.Query().Where(productimage.ID(id)).Exist(ctx); err != nil {
		return nil, fmt.Errorf("find image: %w", err)
	} else if taken {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Taken, "key", "this upload is already recorded")}
	}
	if err := s.precheckImage(ctx, productID, alt, 0, "key"); err != nil {
		return nil, err
	}
	st, err := s.opts.Storage.Stat(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, errcode.UserErrors{errcode.Invalidf(errcode.Missing, "key", "nothing was uploaded under this key (PUT the file to the URL first)")}
	}
	if err != nil {
		return nil, fmt.Errorf("stat upload: %w", err)
	}
	info, err := s.inspectStored(ctx, key, st.Size)
	if err == nil && imageTypes[info.contentType] != ext {
		err = errcode.Invalidf(errcode.Invalid, "key", fmt.Sprintf("the uploaded bytes are %s, not the type the upload was started with", info.contentType))
	}
	if err != nil {
		if _, user := errcode.AsUserErrors(err); user {
			s.deleteObjects(ctx, key)
		}
		return nil, err
	}
	return s.recordImage(ctx, newImage{id: id, productID: productID, key: key, size: st.Size, info: info, alt: alt, position: position})
}

// inspectStored checks a stored object's size and reads its header.
func (s *Service) inspectStored(ctx context.Context, key string, size int64) (inspected, error) {
	if err := s.checkSize(size, "key"); err != nil {
		return inspected{}, err
	}
	rc, err := s.opts.Storage.Get(ctx, key)
	if err != nil {
		return inspected{}, fmt.Errorf("read upload: %w", err)
	}
	defer rc.Close() //nolint:errcheck // read only
	info, err := inspectImage(rc, "key")
	if err != nil {
		return inspected{}, err
	}
	return info, nil
}

// precheckImage refuses early what would be refused later anyway, before
// any bytes are stored: a bad alt text, an unknown product, a declared
// size over the limit, a full gallery. The count is checked again under
// a lock when the image is recorded.
func (s *Service) precheckImage(ctx context.Context, productID gid.ID, alt *string, size int64, sizeField string) error {
	var errs errcode.UserErrors
	validateText(&errs, "alt", alt, 500, false)
	if size > 0 {
		if err := s.checkSize(size, sizeField); err != nil {
			var ue errcode.UserErrors
			errors.As(err, &ue)
			errs = append(errs, ue...)
		}
	}
	ok, err := s.client.Product.Query().Where(product.ID(productID)).Exist(ctx)
	if err != nil {
		return fmt.Errorf("find product: %w", err)
	}
	if !ok {
		errs = append(errs, errcode.Invalidf(errcode.Missing, "productId", "no product with this ID"))
	} else {
		n, err := s.client.ProductImage.Query().Where(productimage.ProductID(productID)).Count(ctx)
		if err != nil {
			return fmt.Errorf("count images: %w", err)
		}
		if n >= s.opts.Media.MaxImagesPerProduct {
			errs = append(errs, s.tooManyImages())
		}
	}
	return errs.OrNil()
}

func (s *Service) checkSize(size int64, field string) error {
	if size > s.opts.Media.MaxImageBytes {
		return errcode.UserErrors{errcode.Invalidf(errcode.TooLong, field,
			fmt.Sprintf("is %d bytes; the limit is %d bytes (FRONTDESK_MAX_IMAGE_BYTES)", size, s.opts.Media.MaxImageBytes))}
	}
	if size == 0 {
		return errcode.UserErrors{errcode.Invalidf(errcode.Invalid, field, "is empty")}
	}
	return nil
}

func (s *Service) tooManyImages() *errcode.UserError {
	return errcode.Invalidf(errcode.Invalid, "productId",
		fmt.Sprintf("the product already has the most images allowed (%d); delete one first", s.opts.Media.MaxImagesPerProduct))
}

// newImage is a stored object about to be recorded.
type newImage struct {
	id, productID gid.ID
	key           string
	size          int64
	info          inspected
	alt           *string
	position      *int
}

// recordImage inserts the row and the rendition job in one transaction,
// with the product row locked so two uploads cannot both take the last
// free place. If it fails for any reason the object is deleted.
func (s *Service) recordImage(ctx context.Context, in newImage) (*ent.ProductImage, error) {
	var out *ent.ProductImage
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		if _, err := tx.Product.Query().Where(product.ID(in.productID)).Modify(s.lock).Only(ctx); err != nil {
			if ent.IsNotFound(err) {
				return errcode.Invalidf(errcode.Missing, "productId", "no product with this ID")
			}
			return fmt.Errorf("lock product: %w", err)
		}
		n, err := tx.ProductImage.Query().Where(productimage.ProductID(in.productID)).Count(ctx)
		if err != nil {
			return fmt.Errorf("count images: %w", err)
		}
		if n >= s.opts.Media.MaxImagesPerProduct {
			return s.tooManyImages()
		}
		pos := n
		if in.position != nil && *in.position >= 0 && *in.position < n {
			pos = *in.position
			if err := tx.ProductImage.Update().
				Where(productimage.ProductID(in.productID), productimage.PositionGTE(pos)).
				AddPosition(1).Exec(ctx); err != nil {
				return fmt.Errorf("make room: %w", err)
			}
		}
		alt := ""
		if in.alt != nil {
			alt = strings.TrimSpace(*in.alt)
		}
		out, err = tx.ProductImage.Create().
			SetID(in.id).SetProductID(in.productID).SetKey(in.key).
			SetContentType(in.info.contentType).SetSizeBytes(in.size).
			SetWidth(in.info.width).SetHeight(in.info.height).
			SetAlt(alt).SetPosition(pos).
			Save(ctx)
		if err != nil {
			return fmt.Errorf("insert image: %w", err)
		}
		_, err = outbox.Enqueue(ctx, tx, outbox.Job{Kind: JobRenditions, Payload: renditionJob{ImageID: in.id}})
		return err
	})
	if err != nil {
		s.deleteObjects(ctx, in.key)
		return nil, err
	}
	return out, nil
}

// deleteObjects removes stored objects now, for cleanups on a failed
// request; a failure is logged (the object is unreferenced either way).
func (s *Service) deleteObjects(ctx context.Context, keys ...string) {
	ctx = context.WithoutCancel(ctx)
	for _, k := range keys {
		if err := s.opts.Storage.Delete(ctx, k); err != nil {
			s.log.ErrorContext(ctx, "could not delete an unreferenced media object", "key", k, "error", err.Error())
		}
	}
}

// UpdateImage changes an image's alt text and/or moves it to position
// (0 is first; past the end means last).
func (s *Service) UpdateImage(ctx context.Context, id gid.ID, alt *string, position *int) (*ent.ProductImage, error) {
	var out *ent.ProductImage
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		var errs errcode.UserErrors
		validateText(&errs, "alt", alt, 500, false)
		if position != nil && *position < 0 {
			errs = append(errs, errcode.Invalidf(errcode.Invalid, "position", "cannot be negative"))
		}
		if len(errs) > 0 {
			return errs
		}
		img, err := tx.ProductImage.Get(ctx, id)
		if ent.IsNotFound(err) {
			return errcode.Invalidf(errcode.Missing, "id", "no image with this ID")
		}
		if err != nil {
			return err
		}
		if alt != nil {
			if err := tx.ProductImage.UpdateOneID(id).SetAlt(strings.TrimSpace(*alt)).Exec(ctx); err != nil {
				return err
			}
		}
		if position != nil {
			images, err := s.lockedImages(ctx, tx, img.ProductID)
			if err != nil {
				return err
			}
			ids := make([]gid.ID, 0, len(images))
			for _, im := range images {
				if im.ID != id {
					ids = append(ids, im.ID)
				}
			}
			ids = slices.Insert(ids, min(*position, len(ids)), id)
			if err := renumber(ctx, tx, images, ids); err != nil {
				return err
			}
		}
		out, err = tx.ProductImage.Get(ctx, id)
		return err
	})
	return out, err
}

// ReorderImages sets the order of a product's images; ids must list each
// of them once.
func (s *Service) ReorderImages(ctx context.Context, productID gid.ID, ids []gid.ID) (*ent.Product, error) {
	var out *ent.Product
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		if err := productExists(ctx, tx, productID, "productId"); err != nil {
			return err
		}
		images, err := s.lockedImages(ctx, tx, productID)
		if err != nil {
			return err
		}
		seen := map[gid.ID]bool{}
		for _, id := range ids {
			if seen[id] || !slices.ContainsFunc(images, func(im *ent.ProductImage) bool { return im.ID == id }) {
				return errcode.Invalidf(errcode.Invalid, "imageIds", "list every image of the product exactly once")
			}
			seen[id] = true
		}
		if len(seen) != len(images) {
			return errcode.Invalidf(errcode.Invalid, "imageIds", "list every image of the product exactly once")
		}
		if err := renumber(ctx, tx, images, ids); err != nil {
			return err
		}
		out, err = tx.Product.Get(ctx, productID)
		return err
	})
	return out, err
}

// DeleteImage removes an image. Its files (original and renditions) are
// deleted by an outbox job enqueued in the same transaction, so a storage
// outage neither blocks the delete nor leaves files behind for good.
func (s *Service) DeleteImage(ctx context.Context, id gid.ID) (gid.ID, error) {
	var productID gid.ID
	err := s.adminTx(ctx, func(tx *ent.Tx) error {
		img, err := tx.ProductImage.Get(ctx, id)
		if ent.IsNotFound(err) {
			return errcode.Invalidf(errcode.Missing, "id", "no image with this ID")
		}
		if err != nil {
			return err
		}
		productID = img.ProductID
		images, err := s.lockedImages(ctx, tx, productID)
		if err != nil {
			return err
		}
		if err := tx.ProductImage.DeleteOneID(id).Exec(ctx); err != nil {
			return err
		}
		var rest []gid.ID
		for _, im := range images {
			if im.ID != id {
				rest = append(rest, im.ID)
			}
		}
		if err := renumber(ctx, tx, images, rest); err != nil {
			return err
		}
		_, err = outbox.Enqueue(ctx, tx, outbox.Job{Kind: JobDeleteMedia, Payload: deleteMediaJob{Keys: imageKeys(img)}})
		return err
	})
	return productID, err
}

// lockedImages returns a product's images in order, locking the product
// row first so concurrent reorders and uploads queue up.
func (s *Service) lockedImages(ctx context.Context, tx *ent.Tx, productID gid.ID) ([]*ent.ProductImage, error) {
	if _, err := tx.Product.Query().Where(product.ID(productID)).Modify(s.lock).Only(ctx); err != nil {
		return nil, fmt.Errorf("lock product: %w", err)
	}
	return tx.ProductImage.Query().Where(productimage.ProductID(productID)).
		Order(productimage.ByPosition(), productimage.ByID()).All(ctx)
}

// renumber gives the images of order positions 0, 1, 2… writing only
// those that change.
func renumber(ctx context.Context, tx *ent.Tx, images []*ent.ProductImage, order []gid.ID) error {
	cur := make(map[gid.ID]int, len(images))
	for _, im := range images {
		cur[im.ID] = im.Position
	}
	for i, id := range order {
		if p, ok := cur[id]; ok && p == i {
			continue
		}
		if err := tx.ProductImage.UpdateOneID(id).SetPosition(i).Exec(ctx); err != nil {
			return fmt.Errorf("reorder images: %w", err)
		}
	}
	return nil
}

// imageKey is where an image's original lives. Keys are never reused, so
// objects can be cached for good.
func imageKey(productID, imageID gid.ID, ext string) string {
	return fmt.Sprintf("products/%s/%s.%s", productID, imageID, ext)
}

// parseImageKey checks that key is an original's key for productID and
// returns the image ID and extension in it.
func parseImageKey(productID gid.ID, key string) (gid.ID, string, bool) {
	rest, ok := strings.CutPrefix(key, "products/"+string(productID)+"/")
	if !ok {
		return "", "", false
	}
	name, ext, ok := strings.Cut(rest, ".")
	if !ok || !slices.Contains([]string{"jpg", "png", "webp", "gif"}, ext) {
		return "", "", false
	}
	id, err := gid.Parse(name)
	if err != nil || id.Prefix() != "img" {
		return "", "", false
	}
	return id, ext, true
}

// imageKeys lists every object of an image.
func imageKeys(img *ent.ProductImage) []string {
	keys := []string{img.Key}
	for _, r := range img.Renditions {
		keys = append(keys, r.Key)
	}
	return keys
}
