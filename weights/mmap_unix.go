//go:build unix

package weights

import (
	"os"
	"syscall"
)

// mapFile maps the file read-only; the kernel pages weights in on demand.
func mapFile(f *os.File, size int64) ([]byte, func() error, error) {
	if size == 0 {
		return nil, func() error { return nil }, nil
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return readAll(f, size)
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}
