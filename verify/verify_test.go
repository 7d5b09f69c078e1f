package verify

import (
	"testing"

	"github.com/gsam-go/gsam/internal/fixture"
)

// TestFixtureFolders is `gsam verify` over every fixture folder: each must
// be recognised, compare something, and pass.
func TestFixtureFolders(t *testing.T) {
	want := map[string]Kind{
		"tokenizer": Tokenizer, "processor": Processor, "sam": SAM,
		"gdino_swin_single": GroundingDino, "gdino_swin_batch": GroundingDino, "gdino_resnet": GroundingDino,
	}
	for name, kind := range want {
		t.Run(name, func(t *testing.T) {
			dir := fixture.Dir(t, name)
			k, res, err := Dir(dir)
			if err != nil {
				t.Fatal(err)
			}
			if k != kind {
				t.Errorf("kind %q, want %q", k, kind)
			}
			for _, r := range res {
				if !r.OK() {
					t.Error(r.String())
				}
			}
			line, ok := Summary(dir, res)
			t.Log(line)
			if !ok {
				t.Error("summary says failed")
			}
		})
	}
}

func TestNotAFixture(t *testing.T) {
	if _, _, err := Dir(t.TempDir()); err == nil {
		t.Error("empty folder accepted")
	}
	if _, ok := Summary("x", nil); ok {
		t.Error("nothing compared must not pass")
	}
}
