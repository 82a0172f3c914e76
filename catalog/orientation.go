package catalog

import (
	"encoding/binary"
	"image"
)

// Phones store a portrait photo as a landscape JPEG with an EXIF
// Orientation tag saying how to turn it. Browsers apply the tag to the
// original; renditions are re-encoded without EXIF, so they must be
// turned here. Only the one tag is needed, so this small reader of the
// JPEG APP1 segment is used instead of a general EXIF library (the Go
// candidates either parse every tag of every IFD, far more code than this,
// or are image toolkits unmaintained since 2019).

// exifOrientation returns the EXIF Orientation (1 to 8) of a JPEG, or 1
// when the bytes are not a JPEG, carry no tag or carry a malformed one.
// It reads only the segments before the image data, bounds-checking
// every offset, so hostile bytes cannot make it read past b.
func exifOrientation(b []byte) int {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return 1
	}
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			return 1
		}
		marker := b[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // start of scan, end of image
			return 1
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 1
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF header.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 1
	}
	count := int(bo.Uint16(t[ifd:]))
	for k := range count {
		e := ifd + 2 + 12*k
		if e+12 > len(t) {
			return 1
		}
		// Tag 0x0112, type SHORT (3), one value, stored in the entry.
		if bo.Uint16(t[e:]) == 0x0112 {
			if bo.Uint16(t[e+2:]) != 3 || bo.Uint32(t[e+4:]) != 1 {
				return 1
			}
			if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
				return o
			}
			return 1
		}
	}
	return 1
}

// orientationSwapsAxes reports whether an orientation turns the image a
// quarter, so the displayed width is the stored height.
func orientationSwapsAxes(o int) bool { return o >= 5 && o <= 8 }

// orient turns m, as stored, into the image as it is meant to be seen.
func orient(m *image.NRGBA, o int) *image.NRGBA {
	if o <= 1 || o > 8 {
		return m
	}
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if orientationSwapsAxes(o) {
		dw, dh = h, w
	}
	// src returns the stored pixel shown at (x, y) of the displayed image.
	src := map[int]func(x, y int) (int, int){
		2: func(x, y int) (int, int) { return w - 1 - x, y },         // mirrored
		3: func(x, y int) (int, int) { return w - 1 - x, h - 1 - y }, // upside down
		4: func(x, y int) (int, int) { return x, h - 1 - y },         // mirrored upside down
		5: func(x, y int) (int, int) { return y, x },                 // transposed
		6: func(x, y int) (int, int) { return y, h - 1 - x },         // turn a quarter clockwise
		7: func(x, y int) (int, int) { return w - 1 - y, h - 1 - x }, // transversed
		8: func(x, y int) (int, int) { return w - 1 - y, x },         // turn a quarter anticlockwise
	}[o]
	out := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	for y := range dh {
		for x := range dw {
			sx, sy := src(x, y)
			si := m.PixOffset(b.Min.X+sx, b.Min.Y+sy)
			copy(out.Pix[out.PixOffset(x, y):out.PixOffset(x, y)+4], m.Pix[si:si+4])
		}
	}
	return out
}
