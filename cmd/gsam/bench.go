package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/metrics"
	"runtime/trace"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gsam-go/gsam/groundedsam"
	"github.com/gsam-go/gsam/groundingdino"
	"github.com/gsam-go/gsam/nn"
	"github.com/gsam-go/gsam/sam"
	"github.com/gsam-go/gsam/weights"
	"gorgonia.org/tensor"
)

const helpBench = `Usage: gsam bench --random-weights [--runs N] [--model gdino|sam|all] [--json]

Times the full-size models on this machine without downloading them: it
builds grounding-dino-tiny and sam-vit-base from their configs (embedded in
the binary) with random weights, which cost the same arithmetic as the real
ones. Inputs: an 800x1333 image of random pixels with the 9-token caption
"a cat . a remote control ." for Grounding DINO; a 1024x1024 image and one
box for SAM. Prints each stage's median time over the runs (Grounding
DINO's text encoder runs alongside its vision backbone and is timed inside
"backbone"), the peak Go heap (runtime/metrics, sampled every 5 ms) and the
process's peak RSS (VmHWM).
It runs with GOGC=25, the setting for processes that hold the models,
unless GOGC or GOMEMLIMIT is set in the environment.

Examples:
  gsam bench --random-weights
  gsam bench --random-weights --model sam --runs 5
  gsam bench --random-weights --json > bench.json

Flags:
  --random-weights     required: build the models with random weights
  --runs N             timed runs per model (default 3)
  --model gdino|sam|all
                       which models to time (default all)
  --json               print one JSON object:
                       {"device": "cpu", "runs": 3, "results": [
                         {"name": "grounding-dino-tiny/total", "median_ms": ...}, ...],
                        "peak_heap_bytes": ..., "peak_rss_bytes": ...}
  --size HxW           Grounding DINO input size (default 800x1333)
  --gdino-config FILE  time another Grounding DINO config.json (e.g. -base)
  --sam-config FILE    time another SAM config.json (e.g. sam-vit-huge)
  --device auto|cpu|cuda
                       auto and cpu run on the CPU; cuda is refused (exit 1)
                       until the CUDA backend is wired into the models
  --trace FILE         write a runtime/trace execution trace of the timed
                       runs to FILE (with --model gdino or sam);
                       go run ./scripts/idletrace FILE ranks the code
                       after which a core sat idle
  -q, --quiet          no progress lines on stderr

Stages: grounding-dino-tiny/{total,text,backbone,encoder,query,decoder},
sam-vit-base/{image-encoder,decoder}; with --model all also
grounded-sam/{sequential,overlapped}: Grounding DINO's forward and SAM's
image encoder one after the other, and side by side as the pipeline runs
them.
`

// benchCaption is "a cat . a remote control ." in bert-base-uncased ids
// ([CLS] a cat . a remote control . [SEP]): the fixed input needs no vocab.
var benchCaption = []int64{101, 1037, 4937, 1012, 1037, 6556, 2491, 1012, 102}

// benchResult is one timed stage.
type benchResult struct {
	Name     string  `json:"name"`
	MedianMS float64 `json:"median_ms"`
	MinMS    float64 `json:"min_ms"`
	MaxMS    float64 `json:"max_ms"`
}

type benchReport struct {
	Device        string        `json:"device"`
	Runs          int           `json:"runs"`
	Results       []benchResult `json:"results"`
	PeakHeapBytes uint64        `json:"peak_heap_bytes"`
	PeakRSSBytes  uint64        `json:"peak_rss_bytes,omitempty"` // Linux only
}

func (c *cli) bench(args []string) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	random := fs.Bool("random-weights", false, "")
	runs := fs.Int("runs", 3, "")
	which := fs.String("model", "all", "")
	asJSON := fs.Bool("json", false, "")
	size := fs.String("size", "800x1333", "")
	gdinoConfig := fs.String("gdino-config", "", "")
	samConfig := fs.String("sam-config", "", "")
	device := fs.String("device", "auto", "")
	traceOut := fs.String("trace", "", "")
	fs.BoolVar(&c.quiet, "quiet", false, "")
	fs.BoolVar(&c.quiet, "q", false, "")
	if code := c.parse(fs, helpBench, args); code >= 0 {
		return code
	}
	if !*random {
		return c.fail(usagef("--random-weights is required (timing downloaded checkpoints is not supported yet; the arithmetic is the same)"))
	}
	if *runs < 1 {
		return c.fail(usagef("--runs %d: want at least 1", *runs))
	}
	if *which != "gdino" && *which != "sam" && *which != "all" {
		return c.fail(usagef("--model %q: want gdino, sam or all", *which))
	}
	if *traceOut != "" && *which == "all" {
		return c.fail(usagef("--trace traces one model's runs: add --model gdino or --model sam"))
	}
	h, w, err := parseSize(*size)
	if err != nil {
		return c.fail(err)
	}
	if err := checkDevice(*device); err != nil {
		return c.fail(err)
	}
	ctx, stop := signalContext()
	defer stop()
	// Time the models under the GC setting the pipeline runs them with
	// (GOGC=25 unless GOGC/GOMEMLIMIT is set): see groundedsam.TuneGC.
	groundedsam.TuneGC()

	if *traceOut != "" {
		f, err := os.Create(*traceOut)
		if err != nil {
			return c.fail(err)
		}
		defer f.Close()
		c.trace = f
	}
	peak := startHeapSampler()
	rep := benchReport{Device: "cpu", Runs: *runs}
	var gdino, samEnc func(context.Context) error
	if *which != "sam" {
		res, run, err := c.benchGDINO(ctx, *gdinoConfig, h, w, *runs)
		if err != nil {
			return c.fail(err)
		}
		rep.Results, gdino = append(rep.Results, res...), run
	}
	if *which != "gdino" {
		res, run, err := c.benchSAM(ctx, *samConfig, *runs)
		if err != nil {
			return c.fail(err)
		}
		rep.Results, samEnc = append(rep.Results, res...), run
	}
	if gdino != nil && samEnc != nil {
		res, err := c.benchPipeline(ctx, gdino, samEnc, *runs)
		if err != nil {
			return c.fail(err)
		}
		rep.Results = append(rep.Results, res...)
	}
	rep.PeakHeapBytes = peak()
	rep.PeakRSSBytes = peakRSS()

	if *asJSON {
		js, err := json.Marshal(rep)
		if err != nil {
			return c.fail(err)
		}
		fmt.Fprintf(c.stdout, "%s\n", js)
		return exitOK
	}
	fmt.Fprintf(c.stdout, "device %s, %d runs, random weights\n", rep.Device, rep.Runs)
	fmt.Fprintf(c.stdout, "%-36s %10s %10s %10s\n", "stage", "median ms", "min ms", "max ms")
	for _, r := range rep.Results {
		fmt.Fprintf(c.stdout, "%-36s %10.1f %10.1f %10.1f\n", r.Name, r.MedianMS, r.MinMS, r.MaxMS)
	}
	fmt.Fprintf(c.stdout, "peak Go heap %s", mib(rep.PeakHeapBytes))
	if rep.PeakRSSBytes > 0 {
		fmt.Fprintf(c.stdout, ", peak RSS %s", mib(rep.PeakRSSBytes))
	}
	fmt.Fprintln(c.stdout)
	return exitOK
}

func mib(b uint64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }

// parseSize reads "HxW".
func parseSize(s string) (int, int, error) {
	hs, ws, ok := strings.Cut(s, "x")
	h, err1 := strconv.Atoi(hs)
	w, err2 := strconv.Atoi(ws)
	if !ok || err1 != nil || err2 != nil || h < 32 || w < 32 || h*w > 4096*4096 {
		return 0, 0, usagef("--size %q: want HxW, each at least 32 (e.g. 800x1333)", s)
	}
	return h, w, nil
}

// benchConfig returns the embedded config or the one in file, with the
// name prefix of its results.
func benchConfig(file, name string, embedded []byte) ([]byte, string, error) {
	if file == "" {
		return embedded, name, nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, "", err
	}
	// Name a custom config after its folder (config.json) or its file.
	n := strings.TrimSuffix(filepath.Base(file), ".json")
	if n == "config" {
		n = filepath.Base(filepath.Dir(file))
	}
	return raw, n, nil
}

// benchGDINO times Grounding DINO's stages and returns a runner of one
// forward pass for benchPipeline.
func (c *cli) benchGDINO(ctx context.Context, file string, h, w, runs int) ([]benchResult, func(context.Context) error, error) {
	raw, name, err := benchConfig(file, "grounding-dino-tiny", groundedsam.GroundingDinoTinyConfig)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := groundingdino.ParseConfig(raw)
	if err != nil {
		return nil, nil, err
	}
	c.progress("building %s with random weights", name)
	m, err := groundingdino.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	m.Randomize(1)
	ids := make([]int64, len(benchCaption))
	for i, id := range benchCaption {
		ids[i] = id % int64(cfg.Text.VocabSize) // a small test vocab has fewer ids
	}
	in := groundingdino.Inputs{
		PixelValues: randomPixels(h, w), T: len(ids), InputIDs: ids,
		TokenTypeIDs: make([]int64, len(ids)), AttentionMask: ones(len(ids)),
	}
	stages := []string{"total", "text", "backbone", "encoder", "query", "decoder"}
	times := map[string][]float64{}
	if err := c.startTrace(); err != nil {
		return nil, nil, err
	}
	for r := 0; r < runs; r++ {
		var cur string
		var last time.Time
		hook := func(stage string) {
			now := time.Now()
			if cur != "" {
				times[cur] = append(times[cur], ms(now.Sub(last)))
			}
			cur, last = stage, now
		}
		start := time.Now()
		out, err := m.Forward(ctx, in, nil, hook)
		if err != nil {
			return nil, nil, err
		}
		total := time.Since(start)
		m.Release(out) // as Detector.Detect does once it has the boxes
		if cur != "" && cur != "done" {
			times[cur] = append(times[cur], ms(time.Since(last)))
		}
		times["total"] = append(times["total"], ms(total))
		c.progress("%s run %d/%d: %.0f ms", name, r+1, runs, ms(total))
	}
	c.stopTrace()
	var out []benchResult
	for _, s := range stages {
		if len(times[s]) == 0 {
			continue // "text": it runs alongside the backbone, inside that stage
		}
		out = append(out, summarize(name+"/"+s, times[s]))
	}
	run := func(ctx context.Context) error {
		out, err := m.Forward(ctx, in, nil, nil)
		m.Release(out)
		return err
	}
	return out, run, nil
}

// benchSAM times SAM's image encoder and a one-box decode and returns a
// runner of one image encoding for benchPipeline.
func (c *cli) benchSAM(ctx context.Context, file string, runs int) ([]benchResult, func(context.Context) error, error) {
	raw, name, err := benchConfig(file, "sam-vit-base", groundedsam.SAMViTBaseConfig)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := sam.ParseConfig(raw)
	if err != nil {
		return nil, nil, err
	}
	c.progress("building %s with random weights", name)
	m, err := sam.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	weights.Randomize(m, 1)
	m.Prepare()
	S := cfg.VisionConfig.ImageSize
	pixels := randomPixels(S, S)
	// One box in the middle of the image, in the model's input frame.
	box := &sam.Prompts{Boxes: [][4]float32{{float32(S) / 4, float32(S) / 4, float32(S) * 3 / 4, float32(S) * 3 / 4}}}
	var enc, dec []float64
	if err := c.startTrace(); err != nil {
		return nil, nil, err
	}
	for r := 0; r < runs; r++ {
		start := time.Now()
		emb, err := m.Embed(ctx, pixels)
		if err != nil {
			return nil, nil, err
		}
		mid := time.Now()
		if _, err := m.Decode(ctx, emb, box, false); err != nil {
			return nil, nil, err
		}
		enc, dec = append(enc, ms(mid.Sub(start))), append(dec, ms(time.Since(mid)))
		c.progress("%s run %d/%d: %.0f ms", name, r+1, runs, enc[r]+dec[r])
	}
	c.stopTrace()
	run := func(ctx context.Context) error {
		_, err := m.Embed(ctx, pixels)
		return err
	}
	return []benchResult{summarize(name+"/image-encoder", enc), summarize(name+"/decoder", dec)}, run, nil
}

// benchPipeline times Grounding DINO's forward and SAM's image encoder one
// after the other and side by side (as groundedsam.GroundBatch runs them),
// alternating the two ways run by run.
func (c *cli) benchPipeline(ctx context.Context, gdino, samEnc func(context.Context) error, runs int) ([]benchResult, error) {
	var seq, over []float64
	for r := 0; r < runs; r++ {
		start := time.Now()
		if err := gdino(ctx); err != nil {
			return nil, err
		}
		if err := samEnc(ctx); err != nil {
			return nil, err
		}
		seq = append(seq, ms(time.Since(start)))
		start = time.Now()
		errs := make(chan error, 1)
		go func() { errs <- samEnc(ctx) }()
		err := gdino(ctx)
		if e := <-errs; err == nil {
			err = e
		}
		if err != nil {
			return nil, err
		}
		over = append(over, ms(time.Since(start)))
		c.progress("grounded-sam run %d/%d: %.0f ms one after the other, %.0f ms side by side", r+1, runs, seq[r], over[r])
	}
	return []benchResult{summarize("grounded-sam/sequential", seq), summarize("grounded-sam/overlapped", over)}, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }

func ones(n int) []int64 {
	v := make([]int64, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

// randomPixels is a normalised [1, 3, h, w] image of noise.
func randomPixels(h, w int) *tensor.Dense {
	t := nn.New(1, 3, h, w)
	r := rand.New(rand.NewPCG(1, 2))
	for i, d := 0, nn.Data(t); i < len(d); i++ {
		d[i] = float32(r.NormFloat64())
	}
	return t
}

func summarize(name string, v []float64) benchResult {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return benchResult{Name: name}
	}
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	r := func(x float64) float64 { return round(x, 2) }
	return benchResult{Name: name, MedianMS: r(med), MinMS: r(s[0]), MaxMS: r(s[len(s)-1])}
}

// startHeapSampler polls the live heap every 5 ms (runtime/metrics keeps no
// high-water mark) and returns a function that stops it and gives the peak.
func startHeapSampler() func() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var mu sync.Mutex
	var peak uint64
	read := func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			mu.Lock()
			peak = max(peak, sample[0].Value.Uint64())
			mu.Unlock()
		}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				read()
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		read()
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}

// peakRSS is VmHWM from /proc/self/status (0 where there is none).
func peakRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// startTrace starts the execution trace that --trace asked for, if any.
func (c *cli) startTrace() error {
	if c.trace == nil {
		return nil
	}
	if err := trace.Start(c.trace); err != nil {
		return fmt.Errorf("--trace: %w", err)
	}
	return nil
}

// stopTrace ends it.
func (c *cli) stopTrace() {
	if c.trace != nil {
		trace.Stop()
	}
}
