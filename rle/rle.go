// Package rle implements COCO run-length encoding of binary masks, byte for
// byte compatible with pycocotools (maskApi.c): runs are taken in column-major
// (Fortran) order, start with a run of zeros, and are stored in the compact
// string form of rleToString/rleFrString.
//
// Masks on the Go side are row-major (index y*w+x), the layout images use;
// Encode and Decode do the transposition, so Encode(m, h, w) equals
// pycocotools' encode(np.asfortranarray(m.reshape(h, w))).
package rle

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// RLE is one encoded mask: Size is (height, width) and Counts the compressed
// run-length string, as in COCO's {"size": [h, w], "counts": "..."}.
type RLE struct {
	Size   [2]int `json:"size"`
	Counts string `json:"counts"`
}

// Encode run-length encodes a row-major h×w mask.
func Encode(mask []bool, h, w int) (RLE, error) {
	if err := checkSize(len(mask), h, w); err != nil {
		return RLE{}, err
	}
	return encode(func(i int) bool { return mask[i] }, h, w), nil
}

// EncodeBytes is Encode for a mask of bytes, where any non-zero byte is
// foreground.
func EncodeBytes(mask []uint8, h, w int) (RLE, error) {
	if err := checkSize(len(mask), h, w); err != nil {
		return RLE{}, err
	}
	return encode(func(i int) bool { return mask[i] != 0 }, h, w), nil
}

func checkSize(n, h, w int) error {
	if h < 0 || w < 0 {
		return fmt.Errorf("rle: negative size %dx%d", h, w)
	}
	if n != h*w {
		return fmt.Errorf("rle: mask has %d values, want h*w = %d*%d = %d", n, h, w, h*w)
	}
	return nil
}

func encode(at func(i int) bool, h, w int) RLE {
	// Walk columns, as pycocotools does on its Fortran-ordered input.
	var counts []uint32
	prev := false
	var c uint32
	for x := 0; x < w; x++ {
		for y := 0; y < h; y++ {
			v := at(y*w + x)
			if v != prev {
				counts = append(counts, c)
				c = 0
				prev = v
			}
			c++
		}
	}
	counts = append(counts, c)
	return RLE{Size: [2]int{h, w}, Counts: countsToString(counts)}
}

// FromCounts builds an RLE from uncompressed counts (COCO's iscrowd form,
// {"counts": [n0, n1, ...]}). The counts must cover exactly h*w pixels.
func FromCounts(counts []uint32, h, w int) (RLE, error) {
	if h < 0 || w < 0 {
		return RLE{}, fmt.Errorf("rle: negative size %dx%d", h, w)
	}
	var sum uint64
	for _, c := range counts {
		sum += uint64(c)
	}
	if sum != uint64(h)*uint64(w) {
		return RLE{}, fmt.Errorf("rle: counts cover %d pixels, want %d*%d = %d", sum, h, w, h*w)
	}
	return RLE{Size: [2]int{h, w}, Counts: countsToString(counts)}, nil
}

// countsToString is pycocotools' rleToString: each count (after i > 2,
// the difference to counts[i-2]) is written as signed 5-bit groups, low
// group first, with 0x20 as the "more follows" flag, offset by '0'.
func countsToString(counts []uint32) string {
	var b strings.Builder
	for i, c := range counts {
		x := int64(c)
		if i > 2 { // i > 2, not i >= 2: this quirk is part of the format.
			x -= int64(counts[i-2])
		}
		for more := true; more; {
			ch := byte(x & 0x1f)
			x >>= 5 // arithmetic shift keeps the sign.
			if ch&0x10 != 0 {
				more = x != -1
			} else {
				more = x != 0
			}
			if more {
				ch |= 0x20
			}
			b.WriteByte(ch + 48)
		}
	}
	return b.String()
}

// maxGroups bounds one count to 7 groups (35 bits), more than any uint32
// count needs; it keeps malformed strings from shifting garbage in.
const maxGroups = 7

// Runs decodes the compressed string back to run lengths (rleFrString),
// checking that every character is in the alphabet, every count is
// non-negative and the runs cover exactly h*w pixels.
func (r RLE) Runs() ([]uint32, error) {
	h, w := r.Size[0], r.Size[1]
	if h < 0 || w < 0 {
		return nil, fmt.Errorf("rle: negative size %dx%d", h, w)
	}
	if h > 0 && w > math.MaxInt32/h {
		return nil, fmt.Errorf("rle: size %dx%d is too large", h, w)
	}
	area := int64(h) * int64(w)
	s := r.Counts
	var counts []uint32
	var sum int64
	for p := 0; p < len(s); {
		var x int64
		k := 0
		for more := true; more; {
			if p >= len(s) {
				return nil, errors.New("rle: counts string ends in the middle of a count")
			}
			if k >= maxGroups {
				return nil, fmt.Errorf("rle: count at byte %d is too long", p)
			}
			c := int64(s[p]) - 48
			if c < 0 || c > 63 {
				return nil, fmt.Errorf("rle: invalid character %q at byte %d", s[p], p)
			}
			x |= (c & 0x1f) << (5 * k)
			more = c&0x20 != 0
			p++
			k++
			if !more && c&0x10 != 0 {
				x |= -1 << (5 * k) // sign-extend
			}
		}
		if m := len(counts); m > 2 {
			x += int64(counts[m-2])
		}
		if x < 0 || x > math.MaxUint32 {
			return nil, fmt.Errorf("rle: run %d has invalid length %d", len(counts), x)
		}
		sum += x
		if sum > area {
			return nil, fmt.Errorf("rle: runs exceed the %dx%d mask", h, w)
		}
		counts = append(counts, uint32(x))
	}
	if sum != area {
		return nil, fmt.Errorf("rle: runs cover %d pixels, want %d*%d = %d", sum, h, w, area)
	}
	return counts, nil
}

// Decode expands the RLE to a row-major h×w mask.
func (r RLE) Decode() ([]bool, error) {
	counts, err := r.Runs()
	if err != nil {
		return nil, err
	}
	h, w := r.Size[0], r.Size[1]
	mask := make([]bool, h*w)
	v := false
	i := 0 // column-major position
	for _, c := range counts {
		for n := uint32(0); n < c; n++ {
			if v {
				mask[(i%h)*w+i/h] = true
			}
			i++
		}
		v = !v
	}
	return mask, nil
}

// Decode is RLE.Decode as a function, for symmetry with Encode.
func Decode(r RLE) ([]bool, error) { return r.Decode() }

// Area is the number of foreground pixels (the sum of the odd runs).
func (r RLE) Area() (int, error) {
	counts, err := r.Runs()
	if err != nil {
		return 0, err
	}
	a := 0
	for i := 1; i < len(counts); i += 2 {
		a += int(counts[i])
	}
	return a, nil
}

// ToBBox returns the tight box around the foreground as COCO's
// [x, y, width, height], or all zeros for an empty mask (rleToBbox).
func (r RLE) ToBBox() ([4]float64, error) {
	counts, err := r.Runs()
	if err != nil {
		return [4]float64{}, err
	}
	h, w := r.Size[0], r.Size[1]
	xs, ys, xe, ye := w, h, -1, -1
	pos := 0
	for i, c := range counts {
		if i%2 == 1 && c > 0 {
			first, last := pos, pos+int(c)-1
			x0, y0 := first/h, first%h
			x1, y1 := last/h, last%h
			if x1 > x0 { // the run wraps into the next column: full height.
				ys, ye = 0, h-1
			}
			xs, xe = min(xs, x0), max(xe, x1)
			ys, ye = min(ys, y0, y1), max(ye, y0, y1)
		}
		pos += int(c)
	}
	if xe < 0 {
		return [4]float64{}, nil
	}
	return [4]float64{float64(xs), float64(ys), float64(xe - xs + 1), float64(ye - ys + 1)}, nil
}

// UnmarshalJSON accepts both the compressed form {"counts": "..."} and the
// uncompressed COCO form {"counts": [n0, n1, ...]}, which it compresses.
func (r *RLE) UnmarshalJSON(data []byte) error {
	var raw struct {
		Size   []int           `json:"size"`
		Counts json.RawMessage `json:"counts"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("rle: %w", err)
	}
	if len(raw.Size) != 2 {
		return fmt.Errorf("rle: size must be [h, w], got %v", raw.Size)
	}
	h, w := raw.Size[0], raw.Size[1]
	var s string
	if err := json.Unmarshal(raw.Counts, &s); err == nil {
		out := RLE{Size: [2]int{h, w}, Counts: s}
		if _, err := out.Runs(); err != nil {
			return err
		}
		*r = out
		return nil
	}
	var counts []uint32
	if err := json.Unmarshal(raw.Counts, &counts); err != nil {
		return errors.New("rle: counts must be a string or a list of non-negative integers")
	}
	out, err := FromCounts(counts, h, w)
	if err != nil {
		return err
	}
	*r = out
	return nil
}
