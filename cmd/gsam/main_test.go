package main

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gsam-go/gsam/groundedsam"
	"github.com/gsam-go/gsam/groundingdino"
	"github.com/gsam-go/gsam/internal/fixture"
	"github.com/gsam-go/gsam/processor"
	"github.com/gsam-go/gsam/rle"
	"github.com/gsam-go/gsam/sam"
)

// runCLI runs gsam in-process and returns its exit status and streams.
func runCLI(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, bytes.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// models are the fixture folders (random weights: high thresholds keep a few
// boxes).
func models(t *testing.T) []string {
	return []string{"--model-dir", fixture.Dir(t, "gdino_swin_single"), "--sam-dir", fixture.Dir(t, "sam")}
}

var sample = filepath.Join("..", "..", "testdata", "chelsea.png")

func readResult(t *testing.T, path string) imageResult {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r imageResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

func TestGroundCommand(t *testing.T) {
	out := t.TempDir()
	args := append([]string{"ground", "--image", sample, "--text", "cat . remote control .", "--box-threshold", "0.95", "--mask-pngs", "--out", out}, models(t)...)
	code, stdout, stderr := runCLI(t, nil, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "loaded Grounding DINO") || !strings.Contains(stderr, "[1/1] chelsea.png") {
		t.Errorf("progress lines missing:\n%s", stderr)
	}
	if !strings.Contains(stdout, filepath.Join(out, "chelsea.json")) {
		t.Errorf("stdout does not list the JSON written: %q", stdout)
	}
	res := readResult(t, filepath.Join(out, "chelsea.json"))
	if res.Image != "chelsea.png" || res.Width != 451 || res.Height != 300 {
		t.Errorf("header %q %dx%d", res.Image, res.Width, res.Height)
	}
	if len(res.Detections) == 0 {
		t.Fatal("no detections")
	}

	// The JSON's masks are what the pipeline computes: run it directly.
	img, err := processor.LoadImage(sample)
	if err != nil {
		t.Fatal(err)
	}
	p, err := groundedsam.Load(t.Context(), groundedsam.LoadOptions{ModelDir: fixture.Dir(t, "gdino_swin_single"), SAMDir: fixture.Dir(t, "sam")})
	if err != nil {
		t.Fatal(err)
	}
	prompt := groundingdino.Prompt{Caption: "cat . remote control ."}
	want, err := p.Ground(t.Context(), img, prompt, groundedsam.Options{BoxThreshold: 0.95, TextThreshold: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Detections) != len(res.Detections) {
		t.Fatalf("CLI wrote %d detections, pipeline finds %d", len(res.Detections), len(want.Detections))
	}
	for i, d := range res.Detections {
		if d.Mask == nil || d.IoU == nil || d.Score == nil || d.Label == nil || d.Phrase == nil {
			t.Fatalf("detection %d lacks a field: %+v", i, d)
		}
		for k := 0; k < 4; k++ {
			lim := float64(res.Width)
			if k%2 == 1 {
				lim = float64(res.Height)
			}
			if d.Box[k] < 0 || d.Box[k] > lim {
				t.Errorf("detection %d: box %v outside the image", i, d.Box)
			}
		}
		if d.Mask.Size != [2]int{300, 451} {
			t.Errorf("detection %d: mask size %v", i, d.Mask.Size)
		}
		pix, err := rle.Decode(*d.Mask)
		if err != nil {
			t.Fatalf("detection %d: %v", i, err)
		}
		if !equalMask(pix, want.Detections[i].Mask) {
			t.Errorf("detection %d: decoded RLE differs from the pipeline's mask", i)
		}
		// --mask-pngs: the same mask as a grey PNG.
		f, err := os.Open(filepath.Join(out, "chelsea.mask"+strconv.Itoa(i)+".png"))
		if err != nil {
			t.Fatal(err)
		}
		m, err := png.Decode(f)
		f.Close()
		if err != nil || m.Bounds().Dx() != 451 || m.Bounds().Dy() != 300 {
			t.Errorf("mask PNG %d: %v %v", i, err, m.Bounds())
		}
	}
	f, err := os.Open(filepath.Join(out, "chelsea.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	over, err := png.Decode(f)
	if err != nil || over.Bounds().Dx() != 451 || over.Bounds().Dy() != 300 {
		t.Fatalf("overlay: %v", err)
	}
}

func equalMask(pix []bool, m sam.Mask) bool {
	if len(pix) != len(m.Pix) {
		return false
	}
	for i := range pix {
		if pix[i] != m.Pix[i] {
			return false
		}
	}
	return true
}

func TestDetectStdinToStdout(t *testing.T) {
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"detect", "--image", "-", "--labels", "cat, remote control", "--box-threshold", "0.95", "-q"}, models(t)[:2]...)
	code, stdout, stderr := runCLI(t, data, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if stderr != "" {
		t.Errorf("--quiet still wrote %q", stderr)
	}
	var res imageResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	if res.Image != "-" || res.Width != 451 || len(res.Detections) == 0 {
		t.Fatalf("result %+v", res)
	}
	for _, d := range res.Detections {
		if d.Mask != nil || d.IoU != nil || d.Score == nil {
			t.Errorf("detect wrote mask/iou or no score: %+v", d)
		}
		if *d.Label != "cat" && *d.Label != "remote control" {
			t.Errorf("label %q is not one of --labels", *d.Label)
		}
	}
}

func TestDetectDirectoryGoesOnPastABadImage(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"a.png": data, "broken.jpg": []byte("not an image"), "notes.txt": []byte("skipped")} {
		if err := os.WriteFile(filepath.Join(in, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := append([]string{"detect", "--image", in, "--text", "cat .", "--box-threshold", "0.95", "--format", "jpg", "--out", out}, models(t)[:2]...)
	code, _, stderr := runCLI(t, nil, args...)
	if code != exitFailure {
		t.Errorf("exit %d, want 1 for the broken image\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "gsam detect: broken.jpg:") {
		t.Errorf("no error line for broken.jpg:\n%s", stderr)
	}
	for _, f := range []string{"a.json", "a.jpg"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("good image not processed: %v", err)
		}
	}
	if entries, _ := os.ReadDir(out); len(entries) != 2 {
		t.Errorf("out holds %d files, want 2", len(entries))
	}
}

func TestSegmentCommand(t *testing.T) {
	out := t.TempDir()
	code, _, stderr := runCLI(t, nil, "segment", "--image", sample, "--sam-dir", fixture.Dir(t, "sam"),
		"--box", "50,20,330,300", "--box", "300,100,451,250", "--point", "200,150", "--point", "400,40,0", "--multimask", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	res := readResult(t, filepath.Join(out, "chelsea.json"))
	if len(res.Detections) != 2 {
		t.Fatalf("%d masks for two boxes", len(res.Detections))
	}
	if res.Detections[1].Box != [4]float64{300, 100, 451, 250} {
		t.Errorf("box %v", res.Detections[1].Box)
	}
	for i, d := range res.Detections {
		if d.Mask == nil || d.IoU == nil || d.Score != nil || d.Label != nil {
			t.Errorf("detection %d: want mask and iou only: %+v", i, d)
		}
		if pix, err := rle.Decode(*d.Mask); err != nil || len(pix) != 451*300 {
			t.Errorf("detection %d: mask decodes to %d pixels (%v)", i, len(pix), err)
		}
	}
	// Points alone: one mask, boxed by its bounding box.
	code, stdout, stderr := runCLI(t, nil, "segment", "--image", sample, "--sam-dir", fixture.Dir(t, "sam"), "--point", "200,150", "-q")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var one imageResult
	if err := json.Unmarshal([]byte(stdout), &one); err != nil || len(one.Detections) != 1 {
		t.Fatalf("points-only: %v %s", err, stdout)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.png")
	if err := os.WriteFile(garbage, []byte("not a png"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := models(t)
	for _, c := range []struct {
		want int
		msg  string // in stderr
		args []string
	}{
		{exitUsage, "Usage", nil},
		{exitUsage, "unknown command", []string{"frobnicate"}},
		{exitUsage, "--image is required", []string{"ground", "--text", "cat ."}},
		{exitUsage, "say what to find", []string{"ground", "--image", sample}},
		{exitUsage, "not both", []string{"detect", "--image", sample, "--text", "cat .", "--labels", "cat"}},
		{exitUsage, "--format", []string{"ground", "--image", sample, "--text", "cat .", "--format", "gif"}},
		{exitUsage, "--box-threshold", []string{"detect", "--image", sample, "--text", "cat .", "--box-threshold", "1.5"}},
		{exitUsage, "flag provided but not defined", []string{"detect", "--image", sample, "--text", "cat .", "--bogus"}},
		{exitUsage, "unexpected argument", []string{"detect", "--image", sample, "--text", "cat .", "extra"}},
		{exitUsage, "--device", []string{"detect", "--image", sample, "--text", "cat .", "--device", "tpu"}},
		{exitUsage, "--box", []string{"segment", "--image", sample, "--box", "1,2,3"}},
		{exitUsage, "--box", []string{"segment", "--image", sample, "--box", "10,10,5,5"}},
		{exitUsage, "label", []string{"segment", "--image", sample, "--point", "1,2,7"}},
		{exitUsage, "at least one --box", []string{"segment", "--image", sample}},
		{exitUsage, "--random-weights", []string{"bench"}},
		{exitUsage, "--model", []string{"bench", "--random-weights", "--model", "yolo"}},
		{exitUsage, "--trace traces one model", []string{"bench", "--random-weights", "--trace", filepath.Join(dir, "t.trace")}},
		{exitFailure, "CUDA backend", []string{"detect", "--image", sample, "--text", "cat .", "--device", "cuda"}},
		{exitFailure, "gsam detect: ", []string{"detect", "--image", filepath.Join(dir, "missing.png"), "--text", "cat ."}},
		{exitFailure, "gsam detect: garbage.png", append([]string{"detect", "--image", garbage, "--text", "cat ."}, m[:2]...)},
		{exitFailure, "no config.json", []string{"ground", "--image", sample, "--text", "cat .", "--model-dir", dir, "--sam-dir", dir}},
		{exitFailure, "gsam segment: ", []string{"segment", "--image", sample, "--box", "1,2,3,4", "--sam-dir", filepath.Join(dir, "nope")}},
	} {
		code, _, stderr := runCLI(t, nil, c.args...)
		if code != c.want || !strings.Contains(stderr, c.msg) {
			t.Errorf("gsam %s: exit %d, want %d with %q in stderr:\n%s", strings.Join(c.args, " "), code, c.want, c.msg, stderr)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, cmd := range []string{"ground", "detect", "segment", "bench"} {
		code, stdout, _ := runCLI(t, nil, cmd, "--help")
		if code != 0 || !strings.Contains(stdout, "Examples:") || !strings.Contains(stdout, "gsam "+cmd+" --") {
			t.Errorf("gsam %s --help: exit %d\n%s", cmd, code, stdout)
		}
	}
	if code, stdout, _ := runCLI(t, nil, "help"); code != 0 || !strings.Contains(stdout, "Commands:") {
		t.Errorf("gsam help: exit %d", code)
	}
}

func TestBenchSmall(t *testing.T) {
	code, stdout, stderr := runCLI(t, nil, "bench", "--random-weights", "--json", "--runs", "2", "--size", "64x96",
		"--gdino-config", filepath.Join(fixture.Dir(t, "gdino_swin_single"), "config.json"),
		"--sam-config", filepath.Join(fixture.Dir(t, "sam"), "config.json"))
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var rep benchReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, stdout)
	}
	var names []string
	for _, r := range rep.Results {
		names = append(names, r.Name)
		if !(r.MedianMS > 0) || r.MinMS > r.MedianMS || r.MedianMS > r.MaxMS {
			t.Errorf("%s: median %v min %v max %v", r.Name, r.MedianMS, r.MinMS, r.MaxMS)
		}
	}
	// No text stage: the text encoder runs alongside the backbone.
	want := "gdino_swin_single/total gdino_swin_single/backbone gdino_swin_single/encoder gdino_swin_single/query gdino_swin_single/decoder sam/image-encoder sam/decoder grounded-sam/sequential grounded-sam/overlapped"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("stages %s\nwant   %s", got, want)
	}
	if rep.Device != "cpu" || rep.Runs != 2 || rep.PeakHeapBytes == 0 {
		t.Errorf("report %+v", rep)
	}
}

// TestBenchTrace writes an execution trace of SAM's timed runs: a Go
// trace file (its header names the format), not empty.
func TestBenchTrace(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sam.trace")
	code, _, stderr := runCLI(t, nil, "bench", "--random-weights", "-q", "--runs", "1", "--model", "sam",
		"--sam-config", filepath.Join(fixture.Dir(t, "sam"), "config.json"), "--trace", out)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 1000 || !strings.HasPrefix(string(b), "go 1.") {
		t.Fatalf("trace file of %d bytes starting %q", len(b), b[:min(len(b), 16)])
	}
}

func TestVerifyCommand(t *testing.T) {
	code, out, _ := runCLI(t, nil, "verify", "-q", fixture.Dir(t, "tokenizer"))
	if code != 0 || !strings.Contains(out, "compared, 0 failed") {
		t.Fatalf("verify tokenizer: exit %d\n%s", code, out)
	}
	code, _, _ = runCLI(t, nil, "verify", t.TempDir())
	if code != 1 {
		t.Fatalf("verify of an empty folder: exit %d, want 1", code)
	}
	if code, _, _ = runCLI(t, nil, "verify"); code != 2 {
		t.Fatalf("verify without a folder: exit %d, want 2", code)
	}
}
