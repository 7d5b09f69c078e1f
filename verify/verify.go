// Package verify checks this implementation against a reference dump: a
// folder in the fixture format (tokenizer cases, image-processor cases, a
// Grounding DINO or SAM model folder with case/tensors.safetensors). It runs
// what the folder describes, compares every reference tensor it can produce
// under the documented tolerances and returns one result per tensor. It is
// what `gsam verify` prints, and how a user checks a converted checkpoint.
package verify

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gsam-go/gsam/parity"
)

// Kind is what a folder holds.
type Kind string

const (
	Tokenizer     Kind = "tokenizer"
	Processor     Kind = "processor"
	GroundingDino Kind = "grounding-dino"
	SAM           Kind = "sam"
)

// Detect tells a folder's kind from its files.
func Detect(dir string) (Kind, error) {
	has := func(name string) bool { _, err := os.Stat(filepath.Join(dir, name)); return err == nil }
	switch {
	case has("cases.json") && (has("tokenizer.json") || has("vocab.txt")):
		return Tokenizer, nil
	case has("gdino_cases.json") || has("sam_cases.json"):
		return Processor, nil
	case has("config.json"):
		b, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err != nil {
			return "", err
		}
		var c struct {
			ModelType string `json:"model_type"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			return "", fmt.Errorf("verify: %s/config.json: %v", dir, err)
		}
		switch c.ModelType {
		case "grounding-dino":
			return GroundingDino, nil
		case "sam":
			return SAM, nil
		}
		return "", fmt.Errorf("verify: %s: model_type %q is neither grounding-dino nor sam", dir, c.ModelType)
	}
	return "", fmt.Errorf("verify: %s: not a fixture folder (expected cases.json + tokenizer.json, gdino_cases.json/sam_cases.json, or config.json + case/)", dir)
}

// checkers maps each kind to its check; stages register as they land.
var checkers = map[Kind]func(dir string) ([]parity.Result, error){
	Tokenizer:     checkTokenizer,
	Processor:     checkProcessor,
	GroundingDino: checkGroundingDino,
	SAM:           checkSAM,
}

// Dir runs every check the folder supports.
func Dir(dir string) (Kind, []parity.Result, error) {
	kind, err := Detect(dir)
	if err != nil {
		return "", nil, err
	}
	res, err := checkers[kind](dir)
	return kind, res, err
}

// Summary is the last line `gsam verify` prints, and whether it passed.
func Summary(dir string, res []parity.Result) (string, bool) {
	failed := 0
	for _, r := range res {
		if !r.OK() {
			failed++
		}
	}
	return fmt.Sprintf("verify: %s: %d compared, %d failed", dir, len(res), failed), len(res) > 0 && failed == 0
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

func ints(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

func boolsToInts(v []bool) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		if x {
			out[i] = 1
		}
	}
	return out
}

// labelResult compares strings exactly.
func labelResult(name string, got, want []string) parity.Result {
	r := parity.Result{Name: name, N: len(want)}
	if len(got) != len(want) {
		r.Err = fmt.Sprintf("%d labels, want %d", len(got), len(want))
		return r
	}
	for i := range want {
		if got[i] != want[i] {
			if r.Bad == 0 {
				r.Err = fmt.Sprintf("label %d = %q, want %q", i, got[i], want[i])
			}
			r.Bad++
		}
	}
	return r
}
