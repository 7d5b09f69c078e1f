package weights

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gorgonia.org/tensor"
)

// The struct tag that names a field's key component. Nested structs and
// slices build the dotted path: a field tagged `gsam:"layers"` holding a
// slice of structs whose field is tagged `gsam:"weight"` binds
// "<prefix>.layers.3.weight". Options after a comma:
//
//	gsam:"bias,optional"  the key may be absent; the field is then set to nil
//	gsam:"."              the nested struct shares its parent's prefix
//
// Only fields of type *tensor.Dense hold weights; a nil *tensor.Dense is not
// expected in the file. Every non-nil one must be allocated with the shape the
// model expects (the constructors do that from the config), so a checkpoint
// of another size is reported, key by key.
const tagName = "gsam"

// Walk calls fn for every weight tensor in v (a pointer to a struct, or a
// struct holding pointers) with its full key.
func Walk(prefix string, v any, fn func(key string, t *tensor.Dense, optional bool)) {
	walk(prefix, reflect.ValueOf(v), func(w weight) { fn(w.key, w.t, w.optional) })
}

var denseType = reflect.TypeOf((*tensor.Dense)(nil))

func join(prefix, name string) string {
	switch {
	case name == ".":
		return prefix
	case prefix == "":
		return name
	default:
		return prefix + "." + name
	}
}

// weight is one non-nil *tensor.Dense reached by walk. clear sets the field
// holding it to nil (nil for a tensor that is not a struct field).
type weight struct {
	key      string
	t        *tensor.Dense
	optional bool
	clear    func()
}

// walk visits every non-nil weight tensor below v: struct fields tagged
// gsam, nested structs, pointers, slices and arrays.
func walk(prefix string, v reflect.Value, fn func(weight)) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		if v.Type() == denseType {
			break
		}
		v = v.Elem()
	}
	switch {
	case v.Type() == denseType:
		fn(weight{key: prefix, t: v.Interface().(*tensor.Dense)})
	case v.Kind() == reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag, ok := f.Tag.Lookup(tagName)
			if !ok || tag == "-" || !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			key := join(prefix, name)
			fv := v.Field(i)
			if fv.Type() == denseType {
				if !fv.IsNil() {
					var clear func()
					if fv.CanSet() {
						clear = func() { fv.Set(reflect.Zero(denseType)) }
					}
					fn(weight{key: key, t: fv.Interface().(*tensor.Dense), optional: opts == "optional", clear: clear})
				}
				continue
			}
			walk(key, fv, fn)
		}
	case v.Kind() == reflect.Slice || v.Kind() == reflect.Array:
		for i := 0; i < v.Len(); i++ {
			walk(join(prefix, strconv.Itoa(i)), v.Index(i), fn)
		}
	}
}

// Loader binds a store's tensors to model structs and collects every problem.
type Loader struct {
	// ShapesOnly checks names and shapes without reading data (binding a
	// model definition against a key list, see Manifest).
	ShapesOnly bool

	store    *Store
	used     map[string]bool
	aliases  map[string][]string
	ignored  []string
	missing  []string
	shapes   []string
	loadErrs []string
}

// NewLoader starts binding from store.
func NewLoader(store *Store) *Loader {
	return &Loader{store: store, used: map[string]bool{}, aliases: map[string][]string{}}
}

// Alias lets key be read from alt when key itself is absent (tied weights:
// the Hub stores a shared tensor under one of its names only).
func (l *Loader) Alias(key, alt string) { l.aliases[key] = append(l.aliases[key], alt) }

// Ignore marks keys with this prefix as not unused (buffers the model
// recomputes, heads a task does not need).
func (l *Loader) Ignore(prefix string) { l.ignored = append(l.ignored, prefix) }

// Has says whether the store holds key (or an alias of it).
func (l *Loader) Has(key string) bool { _, ok := l.resolve(key); return ok }

func (l *Loader) resolve(key string) (string, bool) {
	if _, ok := l.store.where[key]; ok {
		return key, true
	}
	for _, alt := range l.aliases[key] {
		if _, ok := l.store.where[alt]; ok {
			return alt, true
		}
	}
	return "", false
}

// Bind fills every weight tensor in v from the store. Problems are recorded,
// not returned: call Err once everything is bound.
func (l *Loader) Bind(prefix string, v any) {
	l.bind(prefix, reflect.ValueOf(v))
}

func (l *Loader) bind(prefix string, v reflect.Value) {
	// Absent optional weights are set to nil after the walk, not during it.
	var absent []func()
	walk(prefix, v, func(w weight) {
		if !l.load(w.key, w.t, w.optional) && w.clear != nil {
			absent = append(absent, w.clear)
		}
	})
	for _, clear := range absent {
		clear()
	}
}

// load reads key into t; it reports false for an absent optional key.
func (l *Loader) load(key string, t *tensor.Dense, optional bool) bool {
	src, ok := l.resolve(key)
	if !ok {
		if optional {
			return false
		}
		l.missing = append(l.missing, fmt.Sprintf("%s %v", key, []int(t.Shape())))
		return true
	}
	l.used[src] = true
	info, _ := l.store.Info(src)
	if !slices.Equal(info.Shape, []int(t.Shape())) && !(len(info.Shape) == 0 && t.Shape().TotalSize() == 1) {
		l.shapes = append(l.shapes, fmt.Sprintf("%s: model wants %v, file has %v", key, []int(t.Shape()), info.Shape))
		return true
	}
	if l.ShapesOnly {
		return true
	}
	data, _, err := l.store.Float32(src)
	if err != nil {
		l.loadErrs = append(l.loadErrs, err.Error())
		return true
	}
	copy(t.Float32s(), data)
	return true
}

// Unused lists the store's keys that no Bind consumed and no Ignore covers.
func (l *Loader) Unused() []string {
	var out []string
	for _, k := range l.store.Keys() {
		if l.used[k] {
			continue
		}
		skip := false
		for _, p := range l.ignored {
			if strings.HasPrefix(k, p) {
				skip = true
				break
			}
		}
		if !skip {
			out = append(out, k)
		}
	}
	return out
}

// Err returns nil when every expected weight was found with the right shape
// and every key in the store was used; otherwise one error that lists them all.
func (l *Loader) Err() error {
	unused := l.Unused()
	if len(l.missing)+len(l.shapes)+len(unused)+len(l.loadErrs) == 0 {
		return nil
	}
	sort.Strings(l.missing)
	sort.Strings(l.shapes)
	var b strings.Builder
	fmt.Fprintf(&b, "weights: checkpoint does not match the model: %d missing, %d with the wrong shape, %d unused", len(l.missing), len(l.shapes), len(unused))
	for _, m := range l.missing {
		b.WriteString("\n  missing: " + m)
	}
	for _, s := range l.shapes {
		b.WriteString("\n  shape:   " + s)
	}
	for _, u := range unused {
		info, _ := l.store.Info(u)
		fmt.Fprintf(&b, "\n  unused:  %s %v", u, info.Shape)
	}
	for _, e := range l.loadErrs {
		b.WriteString("\n  read:    " + e)
	}
	return &MismatchError{Missing: l.missing, Shape: l.shapes, Unused: unused, msg: b.String()}
}

// MismatchError is the error Loader.Err returns; its fields let callers
// inspect what went wrong.
type MismatchError struct {
	Missing, Shape, Unused []string
	msg                    string
}

func (e *MismatchError) Error() string { return e.msg }

// IsMismatch reports whether err is a checkpoint/model mismatch.
func IsMismatch(err error) bool {
	var m *MismatchError
	return errors.As(err, &m)
}

// Randomize fills every weight in v with small random values (for
// benchmarks of full-size models without downloading them). Norm weights
// get values near one so activations stay in range.
func Randomize(v any, seed uint64) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	Walk("", v, func(key string, t *tensor.Dense, _ bool) {
		d := t.Float32s()
		isNorm := strings.Contains(key, "norm") && strings.HasSuffix(key, "weight")
		for i := range d {
			x := float32(r.NormFloat64()) * 0.02
			if isNorm {
				x += 1
			}
			d[i] = x
		}
	})
}
