package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gsam-go/gsam/groundedsam"
)

// cli is one command's invocation: its name and streams.
type cli struct {
	name           string
	stdin          io.Reader
	stdout, stderr io.Writer
	quiet          bool
	trace          io.Writer // gsam bench --trace: where the timed runs' execution trace goes
}

// usageError marks a bad command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// fail prints "gsam <cmd>: <message>" and returns the exit status the
// error calls for.
func (c *cli) fail(err error) int {
	fmt.Fprintf(c.stderr, "gsam %s: %v\n", c.name, err)
	var u usageError
	if errors.As(err, &u) {
		fmt.Fprintf(c.stderr, "Run 'gsam %s --help' for usage.\n", c.name)
		return exitUsage
	}
	return exitFailure
}

// progress writes a status line on stderr unless --quiet.
func (c *cli) progress(format string, a ...any) {
	if !c.quiet {
		fmt.Fprintf(c.stderr, "gsam %s: %s\n", c.name, fmt.Sprintf(format, a...))
	}
}

// parse parses args with fs, printing help for --help. It returns the exit
// status to stop with, or -1 to go on.
func (c *cli) parse(fs *flag.FlagSet, help string, args []string) int {
	fs.SetOutput(io.Discard) // errors and help are printed here, in our words
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(c.stdout, help)
		return exitOK
	}
	if err != nil {
		return c.fail(usageError{err.Error()})
	}
	if fs.NArg() > 0 {
		return c.fail(usagef("unexpected argument %q (flags come as --name value)", fs.Arg(0)))
	}
	return -1
}

// commonFlags are shared by ground, detect and segment.
type commonFlags struct {
	image, out, format, device, revision string
	quiet                                bool
}

func (f *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.image, "image", "", "")
	fs.StringVar(&f.out, "out", "", "")
	fs.StringVar(&f.format, "format", "png", "")
	fs.StringVar(&f.device, "device", "auto", "")
	fs.StringVar(&f.revision, "revision", "", "")
	fs.BoolVar(&f.quiet, "quiet", false, "")
	fs.BoolVar(&f.quiet, "q", false, "")
}

func (f *commonFlags) check() error {
	if f.image == "" {
		return usagef("--image is required (a file, a directory of .jpg/.jpeg/.png, or - for stdin)")
	}
	if f.format != "png" && f.format != "jpg" {
		return usagef("--format %q: want png or jpg", f.format)
	}
	return checkDevice(f.device)
}

// checkDevice accepts auto, cpu and cuda. The models run on the CPU only
// for now, so cuda is refused (exit 1) rather than silently run on the CPU.
func checkDevice(d string) error {
	switch d {
	case "auto", "cpu":
		return nil
	case "cuda":
		return errors.New("--device cuda: the CUDA backend is not wired into the models yet; use --device cpu (or auto)")
	}
	return usagef("--device %q: want auto, cpu or cuda", d)
}

// common help text.
const (
	helpInput = `Input and output:
  --image FILE|DIR|-   an image file, a directory (every .jpg/.jpeg/.png in it,
                       one after the other) or - to read one image from stdin
  --out DIR            write DIR/<name>.json and the overlay DIR/<name>.png;
                       without --out the JSON goes to stdout, one line per image
  --format png|jpg     overlay format (default png)
  --device auto|cpu|cuda
                       auto and cpu run on the CPU; cuda is refused with exit 1
                       until the CUDA backend is wired into the models
  -q, --quiet          no progress lines on stderr
`
	helpDetector = `Grounding DINO:
  --model REPO         Hub repo id (default IDEA-Research/grounding-dino-tiny,
                       downloaded to the Hub cache on first use)
  --model-dir DIR      a local folder instead (config.json, model.safetensors,
                       tokenizer.json or vocab.txt)
  --text CAPTION       what to find: "cat . remote control ." (phrases
                       separated by " . ")
  --labels LIST        or a comma-separated label list: "cat,remote control"
                       (long lists run in several passes)
  --box-threshold X    keep boxes scoring above X (default 0.35)
  --text-threshold X   tokens above X form the phrase (default 0.25)
  --nms X              drop same-label boxes overlapping a better one by IoU > X
                       (default 0: off)
  --clean-labels       label each box with the whole prompt phrase, never a
                       word piece
`
	helpSAM = `SAM:
  --sam REPO           Hub repo id (default facebook/sam-vit-base)
  --sam-dir DIR        a local folder instead (config.json, model.safetensors)
  --multimask          ask for three masks per box and keep the best-IoU one
  --mask-pngs          also write each mask as DIR/<name>.mask<i>.png
`
	helpCommon = `
Other:
  --revision REV       Hub branch, tag or commit (default main)

With --out, stdout lists the files written, one per line; progress lines go to
stderr.

Environment: HF_HOME / HF_HUB_CACHE (cache), HF_TOKEN, HF_HUB_OFFLINE=1 (use
the cache only), HF_ENDPOINT.

Exit status: 0 success, 1 the work failed (unreadable image, model load
error; a directory goes on past a bad image and exits 1 at the end),
2 bad usage. Errors are printed as "gsam <command>: <message>".
`
)

// input is one image to process.
type input struct {
	path string // "-" for stdin
	name string // output file stem
}

// listInputs expands --image: a file, a directory, or "-".
func listInputs(spec string) ([]input, error) {
	if spec == "-" {
		return []input{{path: "-", name: "stdin"}}, nil
	}
	st, err := os.Stat(spec)
	if err != nil {
		return nil, err
	}
	var paths []string
	if !st.IsDir() {
		paths = []string{spec}
	} else {
		entries, err := os.ReadDir(spec)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".jpg", ".jpeg", ".png":
				if !e.IsDir() {
					paths = append(paths, filepath.Join(spec, e.Name()))
				}
			}
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("%s: no .jpg, .jpeg or .png images in this directory", spec)
		}
		sort.Strings(paths)
	}
	// Name outputs by the file stem; two files sharing a stem (a.jpg,
	// a.png) keep their extension so neither overwrites the other.
	stems := map[string]int{}
	for _, p := range paths {
		stems[stem(p)]++
	}
	out := make([]input, len(paths))
	for i, p := range paths {
		n := stem(p)
		if stems[n] > 1 {
			n = filepath.Base(p)
		}
		out[i] = input{path: p, name: n}
	}
	return out, nil
}

func stem(p string) string {
	b := filepath.Base(p)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// displayName is what the JSON's "image" field holds.
func (in input) displayName() string {
	if in.path == "-" {
		return "-"
	}
	return filepath.Base(in.path)
}

// parseFloats splits "a,b,c" into exactly n numbers.
func parseFloats(s string, n int) ([]float64, error) {
	parts := strings.Split(s, ",")
	if len(parts) != n {
		return nil, fmt.Errorf("%q has %d numbers, want %d", s, len(parts), n)
	}
	v := make([]float64, n)
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%q: %q is not a finite number", s, p)
		}
		v[i] = f
	}
	return v, nil
}

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

func seconds(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

// loadOptions builds the pipeline's load options from the model flags.
func loadOptions(model, modelDir, samRepo, samDir, revision string) groundedsam.LoadOptions {
	return groundedsam.LoadOptions{Model: model, ModelDir: modelDir, SAM: samRepo, SAMDir: samDir, Revision: revision}
}
