package groundedsam

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gsam-go/gsam/groundingdino"
	"github.com/gsam-go/gsam/hub"
	"github.com/gsam-go/gsam/processor"
	"github.com/gsam-go/gsam/sam"
)

// Default Hub repositories, used when LoadOptions names neither a repo nor
// a local folder.
const (
	DefaultModel = "IDEA-Research/grounding-dino-tiny"
	DefaultSAM   = "facebook/sam-vit-base"
)

// Files fetched from the Hub. A model needs its config and weights; the
// tokenizer and preprocessor files are used when the repository has them.
var (
	requiredFiles = []string{"config.json", "model.safetensors"}
	detectorFiles = []string{"tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json", "preprocessor_config.json"}
	samFiles      = []string{"preprocessor_config.json"}
)

// LoadOptions says where the two models come from. For each model a local
// folder (ModelDir, SAMDir) wins over a Hub repository id (Model, SAM);
// with neither, the default repository is downloaded into the Hub cache
// (or found there).
type LoadOptions struct {
	Model    string // Grounding DINO Hub repo id; "" means DefaultModel
	ModelDir string // local Grounding DINO folder (config.json, model.safetensors, tokenizer files)
	SAM      string // SAM Hub repo id; "" means DefaultSAM
	SAMDir   string // local SAM folder (config.json, model.safetensors)
	Revision string // branch, tag or commit for both repos; "" means main
	// Client downloads from the Hub; nil means hub.NewClient() (configured
	// from HF_HOME, HF_TOKEN, HF_HUB_OFFLINE, HF_ENDPOINT).
	Client *hub.Client
}

// ResolveDetector returns the local folder holding the Grounding DINO
// files, downloading them first when opts names a Hub repository.
func ResolveDetector(ctx context.Context, opts LoadOptions) (string, error) {
	return resolve(ctx, opts, opts.ModelDir, opts.Model, DefaultModel, detectorFiles)
}

// ResolveSAM returns the local folder holding the SAM files, downloading
// them first when opts names a Hub repository.
func ResolveSAM(ctx context.Context, opts LoadOptions) (string, error) {
	return resolve(ctx, opts, opts.SAMDir, opts.SAM, DefaultSAM, samFiles)
}

func resolve(ctx context.Context, opts LoadOptions, dir, repo, def string, optional []string) (string, error) {
	if dir != "" {
		st, err := os.Stat(dir)
		if err != nil {
			return "", fmt.Errorf("model folder: %w", err)
		}
		if !st.IsDir() {
			return "", fmt.Errorf("model folder %s is not a directory", dir)
		}
		if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
			return "", fmt.Errorf("model folder %s has no config.json", dir)
		}
		return dir, nil
	}
	if repo == "" {
		repo = def
	}
	c := opts.Client
	if c == nil {
		c = hub.NewClient()
	}
	d, err := c.Snapshot(ctx, repo, opts.Revision, requiredFiles, optional)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", repo, err)
	}
	return d, nil
}

// LoadDetector resolves and loads Grounding DINO alone.
func LoadDetector(ctx context.Context, opts LoadOptions) (*groundingdino.Detector, error) {
	dir, err := ResolveDetector(ctx, opts)
	if err != nil {
		return nil, err
	}
	return groundingdino.Load(dir)
}

// LoadSAM resolves and loads SAM alone, with the image preprocessing that
// matches it (the folder's preprocessor_config.json, or SAM's defaults
// sized to the model's input).
func LoadSAM(ctx context.Context, opts LoadOptions) (*sam.Model, *processor.SamProcessor, error) {
	dir, err := ResolveSAM(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	m, err := sam.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	p, err := processor.LoadSam(dir)
	if err != nil {
		return nil, nil, err
	}
	fitProcessor(p, m)
	return m, p, nil
}

// fitProcessor makes the processor produce the square input the model
// takes. Hub SAM folders already agree (1024); a folder without
// preprocessor_config.json for a smaller model would otherwise get 1024.
func fitProcessor(p *processor.SamProcessor, m *sam.Model) {
	s := m.Config.VisionConfig.ImageSize
	p.DoResize, p.DoPad = true, true
	p.LongestEdge, p.PadH, p.PadW = s, s, s
}

// Load resolves and loads both models.
func Load(ctx context.Context, opts LoadOptions) (*Pipeline, error) {
	det, err := LoadDetector(ctx, opts)
	if err != nil {
		return nil, err
	}
	m, p, err := LoadSAM(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Pipeline{Detector: det, SAM: m, SAMProcessor: p}, nil
}

// errNoPipeline guards calls on a zero Pipeline.
var errNoPipeline = errors.New("groundedsam: pipeline has no detector or no SAM model")
