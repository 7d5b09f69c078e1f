package verify

import (
	"fmt"

	"github.com/gsam-go/gsam/parity"
)

func checkProcessor(dir string) ([]parity.Result, error) {
	return nil, fmt.Errorf("verify: %s is an image-processor folder; its checks are not wired in yet", dir)
}

func checkSAM(dir string) ([]parity.Result, error) {
	return nil, fmt.Errorf("verify: %s is a SAM folder; the model is not wired in yet", dir)
}
