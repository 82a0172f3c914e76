package catalog

import (
	"bytes"
	"fmt"
	"image"
	_ "image/gif"  // decoder for uploads
	_ "image/jpeg" // decoder for uploads
	_ "image/png"  // decoder for uploads
	"io"
	"net/http"
	"strings"

	_ "golang.org/x/image/webp" // decoder for uploads

	"frontdesk/errcode"
)

// imageTypes are the accepted image types and the extension their keys get.
var imageTypes = map[string]string{
	"image/jpeg": "jpg",
	"image/png":  "png",
	"image/webp": "webp",
	"image/gif":  "gif",
}

// maxImagePixels bounds width × height. A small file can declare a huge
// canvas (a "decompression bomb"); the rendition job would need 4 bytes a
// pixel to decode it.
const maxImagePixels = 50_000_000

// inspected is what the bytes of an upload say about it.
type inspected struct {
	contentType   string
	width, height int
}

// inspectImage detects the type from the first bytes (never from the file
// name or a declared type) and reads the dimensions from the header, as
// the image is seen (after its EXIF orientation). Only the first 64 KiB
// are read, so this is cheap for any size. Failures are user
// errors on field.
func inspectImage(r io.Reader, field string) (inspected, error) {
	// 64 KiB holds a JPEG's EXIF segment, whose orientation decides
	// which way round the image is seen; http.DetectContentType reads the
	// first 512 bytes of it.
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(r, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return inspected{}, fmt.Errorf("read upload: %w", err)
	}
	head = head[:n]
	ct := http.DetectContentType(head)
	if _, ok := imageTypes[ct]; !ok {
		return inspected{}, errcode.Invalidf(errcode.Invalid, field,
			fmt.Sprintf("must be a JPEG, PNG, WebP or GIF image; these bytes look like %s", strings.SplitN(ct, ";", 2)[0]))
	}
	cfg, format, err := image.DecodeConfig(io.MultiReader(bytes.NewReader(head), r))
	if err != nil || "image/"+format != ct {
		return inspected{}, errcode.Invalidf(errcode.Invalid, field, fmt.Sprintf("is not a readable %s image", ct))
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return inspected{}, errcode.Invalidf(errcode.Invalid, field,
			fmt.Sprintf("is %d×%d pixels; at most %d megapixels are accepted", cfg.Width, cfg.Height, maxImagePixels/1_000_000))
	}
	w, h := cfg.Width, cfg.Height
	if ct == "image/jpeg" && orientationSwapsAxes(exifOrientation(head)) {
		w, h = h, w // a portrait photo stored on its side
	}
	return inspected{contentType: ct, width: w, height: h}, nil
}
