package weights

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/nlpodyssey/safetensors"
)

// Info describes one tensor of a safetensors file.
type Info struct {
	Name  string
	DType string // as written in the header: "F32", "BF16", "I64", …
	Shape []int
}

// File is one open safetensors file.
type File struct {
	path  string
	st    safetensors.SafeTensors
	infos map[string]Info
	unmap func() error
}

// OpenFile opens and validates one safetensors file. The header is checked
// before anything else is trusted: its length, its JSON, and that the tensors'
// offsets tile the data section exactly.
func OpenFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("weights: %s is a directory, not a safetensors file", path)
	}
	data, unmap, err := mapFile(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("weights: %s: %w", path, err)
	}
	file, err := parse(path, data)
	if err != nil {
		unmap()
		return nil, err
	}
	file.unmap = unmap
	return file, nil
}

// Parse reads a safetensors image already in memory (for tests and fuzzing).
func Parse(data []byte) (*File, error) { return parse("<memory>", data) }

func parse(path string, data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, fmt.Errorf("weights: %s: truncated: %d bytes, a safetensors file starts with an 8-byte header length", path, len(data))
	}
	n := binary.LittleEndian.Uint64(data[:8])
	if n > uint64(len(data)-8) {
		return nil, fmt.Errorf("weights: %s: header length %d runs past the end of the %d-byte file (truncated or not safetensors)", path, n, len(data))
	}
	// Reject unknown dtypes by name before the library sees them, so the error says which.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &raw); err != nil {
		return nil, fmt.Errorf("weights: %s: header is not valid JSON: %v", path, err)
	}
	for name, msg := range raw {
		if name == "__metadata__" {
			continue
		}
		var h struct {
			DType string `json:"dtype"`
		}
		if err := json.Unmarshal(msg, &h); err != nil {
			return nil, fmt.Errorf("weights: %s: tensor %q: malformed entry: %v", path, name, err)
		}
		if _, ok := dtypeSize[h.DType]; !ok {
			return nil, fmt.Errorf("weights: %s: tensor %q: unsupported dtype %q", path, name, h.DType)
		}
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		return nil, fmt.Errorf("weights: %s: %v", path, err)
	}
	f := &File{path: path, st: st, infos: map[string]Info{}}
	for _, ntv := range st.Tensors() {
		tv := ntv.TensorView
		shape := make([]int, len(tv.Shape()))
		for i, d := range tv.Shape() {
			if d > math.MaxInt32 {
				return nil, fmt.Errorf("weights: %s: tensor %q: dimension %d too large", path, ntv.Name, d)
			}
			shape[i] = int(d)
		}
		f.infos[ntv.Name] = Info{Name: ntv.Name, DType: tv.DType().String(), Shape: shape}
	}
	return f, nil
}

var dtypeSize = map[string]int{"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}

// Close releases the mapping; tensors read before stay valid (they are copies).
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap = nil
	return err
}

// Path is the file's path.
func (f *File) Path() string { return f.path }

// Keys lists the tensor names in sorted order.
func (f *File) Keys() []string {
	keys := make([]string, 0, len(f.infos))
	for k := range f.infos {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Info returns the dtype and shape of a tensor.
func (f *File) Info(name string) (Info, bool) {
	i, ok := f.infos[name]
	return i, ok
}

func (f *File) view(name string) (safetensors.TensorView, error) {
	tv, ok := f.st.Tensor(name)
	if !ok {
		return tv, fmt.Errorf("weights: %s: no tensor %q", f.path, name)
	}
	return tv, nil
}

// Float32 reads a floating-point tensor (F32, F16, BF16 or F64) as float32.
// Integer and boolean tensors convert too.
func (f *File) Float32(name string) ([]float32, []int, error) {
	tv, err := f.view(name)
	if err != nil {
		return nil, nil, err
	}
	out := make([]float32, numel(tv.Shape()))
	if err := decodeFloat32(out, tv.DType().String(), tv.Data()); err != nil {
		return nil, nil, fmt.Errorf("weights: %s: %q: %v", f.path, name, err)
	}
	return out, f.infos[name].Shape, nil
}

// Int64 reads an integer or boolean tensor as int64.
func (f *File) Int64(name string) ([]int64, []int, error) {
	tv, err := f.view(name)
	if err != nil {
		return nil, nil, err
	}
	b := tv.Data()
	n := numel(tv.Shape())
	out := make([]int64, n)
	switch dt := tv.DType().String(); dt {
	case "I64", "U64":
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
	case "I32":
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	case "U32":
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case "I16":
		for i := range out {
			out[i] = int64(int16(binary.LittleEndian.Uint16(b[2*i:])))
		}
	case "U16":
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case "U8", "BOOL":
		for i := range out {
			out[i] = int64(b[i])
		}
	case "I8":
		for i := range out {
			out[i] = int64(int8(b[i]))
		}
	default:
		return nil, nil, fmt.Errorf("weights: %s: %q has dtype %s, not an integer type", f.path, name, dt)
	}
	return out, f.infos[name].Shape, nil
}

func numel(shape []uint64) int {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	return n
}

func decodeFloat32(out []float32, dtype string, b []byte) error {
	switch dtype {
	case "F32":
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case "F16":
		for i := range out {
			out[i] = halfToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case "BF16":
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
	case "F64":
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	case "U8", "BOOL":
		for i := range out {
			out[i] = float32(b[i])
		}
	case "I64":
		for i := range out {
			out[i] = float32(int64(binary.LittleEndian.Uint64(b[8*i:])))
		}
	case "I32":
		for i := range out {
			out[i] = float32(int32(binary.LittleEndian.Uint32(b[4*i:])))
		}
	default:
		return fmt.Errorf("dtype %s cannot be read as float32", dtype)
	}
	return nil
}

// halfToFloat32 converts IEEE 754 binary16 to float32, subnormals and NaN included.
func halfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: renormalise
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		mant &= 0x3ff
		return math.Float32frombits(sign | e<<23 | mant<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	}
}

func readAll(f *os.File, size int64) ([]byte, func() error, error) {
	data := make([]byte, size)
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}

// Store is a model's weights: one file or the shards of a sharded checkpoint.
type Store struct {
	files []*File
	where map[string]*File
}

// Open opens a model's weights. path may be a safetensors file, a
// model.safetensors.index.json, or a directory holding either.
func Open(path string) (*Store, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	if fi.IsDir() {
		single := filepath.Join(path, "model.safetensors")
		index := filepath.Join(path, "model.safetensors.index.json")
		switch {
		case exists(single):
			path = single
		case exists(index):
			path = index
		default:
			return nil, fmt.Errorf("weights: %s holds neither model.safetensors nor model.safetensors.index.json", path)
		}
	}
	if strings.HasSuffix(path, ".json") {
		return openIndex(path)
	}
	f, err := OpenFile(path)
	if err != nil {
		return nil, err
	}
	return NewStore(f)
}

// NewStore combines open files; a key present in two files is an error.
func NewStore(files ...*File) (*Store, error) {
	s := &Store{files: files, where: map[string]*File{}}
	for _, f := range files {
		for k := range f.infos {
			if g, dup := s.where[k]; dup {
				return nil, fmt.Errorf("weights: tensor %q is in both %s and %s", k, g.path, f.path)
			}
			s.where[k] = f
		}
	}
	return s, nil
}

// Manifest returns a store that knows tensor names, dtypes and shapes but
// holds no data: bind a model definition against it with a ShapesOnly
// Loader to check it accepts a checkpoint's key list without the weights.
func Manifest(infos []Info) (*Store, error) {
	f := &File{path: "<manifest>", infos: map[string]Info{}}
	for _, i := range infos {
		if _, dup := f.infos[i.Name]; dup {
			return nil, fmt.Errorf("weights: manifest lists %q twice", i.Name)
		}
		f.infos[i.Name] = i
	}
	return NewStore(f)
}

func openIndex(path string) (*Store, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("weights: %w", err)
	}
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("weights: %s: not a valid index: %v", path, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("weights: %s: weight_map is empty", path)
	}
	shards := map[string]bool{}
	for _, shard := range idx.WeightMap {
		if shard == "" || strings.ContainsAny(shard, `/\`) || shard == "." || shard == ".." {
			return nil, fmt.Errorf("weights: %s: invalid shard name %q", path, shard)
		}
		shards[shard] = true
	}
	names := make([]string, 0, len(shards))
	for s := range shards {
		names = append(names, s)
	}
	sort.Strings(names)
	var files []*File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, name := range names {
		f, err := OpenFile(filepath.Join(filepath.Dir(path), name))
		if err != nil {
			closeAll()
			return nil, err
		}
		files = append(files, f)
	}
	s, err := NewStore(files...)
	if err != nil {
		closeAll()
		return nil, err
	}
	for key, shard := range idx.WeightMap {
		f, ok := s.where[key]
		if !ok || filepath.Base(f.path) != shard {
			closeAll()
			return nil, fmt.Errorf("weights: %s: index says %q is in %s, but it is not there", path, key, shard)
		}
	}
	return s, nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// Close closes every file.
func (s *Store) Close() error {
	var first error
	for _, f := range s.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Keys lists every tensor name, sorted.
func (s *Store) Keys() []string {
	keys := make([]string, 0, len(s.where))
	for k := range s.where {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Info returns a tensor's dtype and shape.
func (s *Store) Info(name string) (Info, bool) {
	f, ok := s.where[name]
	if !ok {
		return Info{}, false
	}
	return f.Info(name)
}

// Float32 reads a tensor as float32.
func (s *Store) Float32(name string) ([]float32, []int, error) {
	f, ok := s.where[name]
	if !ok {
		return nil, nil, fmt.Errorf("weights: no tensor %q", name)
	}
	return f.Float32(name)
}

// Int64 reads an integer tensor.
func (s *Store) Int64(name string) ([]int64, []int, error) {
	f, ok := s.where[name]
	if !ok {
		return nil, nil, fmt.Errorf("weights: no tensor %q", name)
	}
	return f.Int64(name)
}
