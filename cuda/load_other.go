//go:build !(linux && (amd64 || arm64))

package cuda

import (
	"fmt"
	"runtime"
)

const platformSupported = false

func openLibrary(lib library) (string, error) {
	return "", fmt.Errorf("the CUDA backend is built for linux/amd64 and linux/arm64 only, not %s/%s", runtime.GOOS, runtime.GOARCH)
}
