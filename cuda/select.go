package cuda

import (
	"fmt"
	"log"
	"strings"
)

// Backend is the user's choice of where to run: "auto" (CUDA when a GPU is
// usable, else CPU), "cpu" or "cuda" (an error when no GPU is usable).
type Backend string

const (
	BackendAuto Backend = "auto"
	BackendCPU  Backend = "cpu"
	BackendCUDA Backend = "cuda"
)

// ParseBackend accepts "auto" (or ""), "cpu", "cuda" (or "gpu"), any case.
func ParseBackend(s string) (Backend, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return BackendAuto, nil
	case "cpu":
		return BackendCPU, nil
	case "cuda", "gpu":
		return BackendCUDA, nil
	}
	return "", fmt.Errorf("cuda: unknown device %q (want auto, cpu or cuda)", s)
}

// Select opens the device the preference asks for. It returns a nil Device
// for the CPU, with the reason; "auto" falls back to the CPU with one log
// line saying why, "cuda" returns an error instead.
func Select(pref string) (dev *Device, reason string, err error) {
	return SelectWith(pref, Options{})
}

// SelectWith is Select with Options for the CUDA device.
func SelectWith(pref string, opts Options) (dev *Device, reason string, err error) {
	b, err := ParseBackend(pref)
	if err != nil {
		return nil, "", err
	}
	if b == BackendCPU {
		return nil, "CPU requested", nil
	}
	dev, err = Open(opts)
	if err == nil {
		return dev, "CUDA: " + dev.String(), nil
	}
	if b == BackendCUDA {
		return nil, "", err
	}
	reason = "running on the CPU: " + strings.TrimPrefix(err.Error(), "cuda: ")
	log.Print("gsam: " + reason)
	return nil, reason, nil
}
