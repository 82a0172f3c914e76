package catalog

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// withOrientation returns a JPEG with an EXIF APP1 segment carrying the
// Orientation tag, written in the byte order given ("MM" or "II").
func withOrientation(t testing.TB, jpg []byte, order string, o uint16) []byte {
	t.Helper()
	var bo binary.AppendByteOrder = binary.BigEndian
	if order == "II" {
		bo = binary.LittleEndian
	}
	tiff := []byte(order)
	tiff = bo.AppendUint16(tiff, 42)
	tiff = bo.AppendUint32(tiff, 8)
	tiff = bo.AppendUint16(tiff, 2)      // two entries: an unrelated one first
	tiff = bo.AppendUint16(tiff, 0x010F) // Make, ASCII, 4 bytes in the entry
	tiff = bo.AppendUint16(tiff, 2)
	tiff = bo.AppendUint32(tiff, 4)
	tiff = append(tiff, 'A', 'B', 'C', 0)
	tiff = bo.AppendUint16(tiff, 0x0112)
	tiff = bo.AppendUint16(tiff, 3)
	tiff = bo.AppendUint32(tiff, 1)
	tiff = bo.AppendUint16(tiff, o)
	tiff = append(tiff, 0, 0, 0, 0, 0, 0) // padding, next IFD offset
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := append([]byte{0xFF, 0xE1}, binary.BigEndian.AppendUint16(nil, uint16(len(seg)+2))...)
	app1 = append(app1, seg...)
	return append(append(append([]byte(nil), jpg[:2]...), app1...), jpg[2:]...)
}

func smallJPEG(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestExifOrientation(t *testing.T) {
	plain := smallJPEG(t)
	tests := []struct {
		name string
		in   []byte
		want int
	}{
		{"no EXIF", plain, 1},
		{"big-endian 6", withOrientation(t, plain, "MM", 6), 6},
		{"little-endian 8", withOrientation(t, plain, "II", 8), 8},
		{"every value: 3", withOrientation(t, plain, "MM", 3), 3},
		{"out of range", withOrientation(t, plain, "MM", 9), 1},
		{"zero", withOrientation(t, plain, "II", 0), 1},
		{"not a JPEG", []byte("\x89PNG\r\n\x1a\n"), 1},
		{"empty", nil, 1},
		{"truncated segment", withOrientation(t, plain, "MM", 6)[:30], 1},
		{"segment length past the end", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF, 'E', 'x'}, 1},
		{"bad byte order", bytes.Replace(withOrientation(t, plain, "MM", 6), []byte("MM\x00*"), []byte("XX\x00*"), 1), 1},
		{"IFD offset past the end", bytes.Replace(withOrientation(t, plain, "MM", 6), []byte("MM\x00*\x00\x00\x00\x08"), []byte("MM\x00*\x7f\x00\x00\x08"), 1), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exifOrientation(tt.in); got != tt.want {
				t.Fatalf("exifOrientation = %d, want %d", got, tt.want)
			}
		})
	}
}

// Each orientation follows the EXIF definition of where the stored
// first row and first column are seen, checked on the stored top-left
// and top-right corners of a 3×2 image.
func TestOrient(t *testing.T) {
	const w, h = 3, 2
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	topLeft, topRight := color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 255}
	m.SetNRGBA(0, 0, topLeft)
	m.SetNRGBA(w-1, 0, topRight)
	type pt struct{ x, y int }
	tests := []struct {
		o      int
		size   pt // seen width and height
		tl, tr pt // where the stored corners are seen
	}{
		{1, pt{3, 2}, pt{0, 0}, pt{2, 0}},
		{2, pt{3, 2}, pt{2, 0}, pt{0, 0}},
		{3, pt{3, 2}, pt{2, 1}, pt{0, 1}},
		{4, pt{3, 2}, pt{0, 1}, pt{2, 1}},
		{5, pt{2, 3}, pt{0, 0}, pt{0, 2}},
		{6, pt{2, 3}, pt{1, 0}, pt{1, 2}},
		{7, pt{2, 3}, pt{1, 2}, pt{1, 0}},
		{8, pt{2, 3}, pt{0, 2}, pt{0, 0}},
	}
	for _, tt := range tests {
		got := orient(m, tt.o)
		if b := got.Bounds(); b.Dx() != tt.size.x || b.Dy() != tt.size.y {
			t.Fatalf("orientation %d: %v, want %d×%d", tt.o, b, tt.size.x, tt.size.y)
		}
		if c := got.NRGBAAt(tt.tl.x, tt.tl.y); c != topLeft {
			t.Errorf("orientation %d: stored top-left not at %v", tt.o, tt.tl)
		}
		if c := got.NRGBAAt(tt.tr.x, tt.tr.y); c != topRight {
			t.Errorf("orientation %d: stored top-right not at %v", tt.o, tt.tr)
		}
	}
}

// JPEGWithOrientation is withOrientation for the external tests.
func JPEGWithOrientation(t testing.TB, jpg []byte, o uint16) []byte {
	return withOrientation(t, jpg, "MM", o)
}
