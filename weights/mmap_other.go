//go:build !unix

package weights

import "os"

func mapFile(f *os.File, size int64) ([]byte, func() error, error) { return readAll(f, size) }
