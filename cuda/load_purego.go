//go:build linux && (amd64 || arm64)

package cuda

import (
	"fmt"
	"strings"

	"github.com/ebitengine/purego"
)

const platformSupported = true

// openLibrary dlopens the first name of lib that opens and resolves all its
// symbols; it changes nothing unless every symbol is present.
func openLibrary(lib library) (string, error) {
	var handle uintptr
	var name string
	var errs []string
	for _, n := range libraryNames[lib] {
		h, err := purego.Dlopen(n, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err == nil {
			handle, name = h, n
			break
		}
		errs = append(errs, err.Error())
	}
	if handle == 0 {
		return "", fmt.Errorf("cannot open %s: %s", lib, strings.Join(errs, "; "))
	}
	addrs := map[string]uintptr{}
	var missing []string
	for _, s := range symbols {
		if s.lib != lib {
			continue
		}
		a, err := purego.Dlsym(handle, s.name)
		if err != nil || a == 0 {
			missing = append(missing, s.name)
			continue
		}
		addrs[s.name] = a
	}
	if len(missing) > 0 {
		purego.Dlclose(handle)
		return "", fmt.Errorf("%s lacks %s", name, strings.Join(missing, ", "))
	}
	for _, s := range symbols {
		if s.lib == lib {
			purego.RegisterFunc(s.fn, addrs[s.name])
		}
	}
	return name, nil
}
