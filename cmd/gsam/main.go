// Command gsam runs Grounded-SAM from the command line: open-vocabulary
// detection with Grounding DINO, segmentation with SAM, both together, the
// parity check against reference dumps, and the benchmarks.
//
//	gsam ground  --image photo.jpg --text "cat . remote control ." --out out/
//	gsam detect  --image photo.jpg --text "cat ." --out out/
//	gsam segment --image photo.jpg --box 10,20,200,300 --point 50,60 --out out/
//	gsam verify  ../shared/fixtures/gdino_swin_single
//	gsam bench   --random-weights
//
// Exit status: 0 success, 1 failure of the work itself (a verify mismatch,
// an unreadable image, a model that does not load), 2 bad usage.
package main

import (
	"fmt"
	"github.com/gsam-go/gsam/groundedsam"
	"io"
	"os"
)

// Exit codes a script can rely on.
const (
	exitOK      = 0
	exitFailure = 1 // the work failed: unreadable image, model load error, verify mismatch
	exitUsage   = 2 // bad command line
)

const usage = `gsam — Grounded-SAM in pure Go: text-prompted detection (Grounding DINO) and segmentation (SAM).

Usage:
  gsam <command> [flags]

Commands:
  ground    detect objects named by a text prompt and segment each one
  detect    detect objects named by a text prompt (boxes, scores, labels)
  segment   segment objects given points and/or boxes
  verify    compare this implementation with a reference dump folder
  bench     time the full-size models (random weights: nothing to download)

Examples:
  gsam ground --image testdata/chelsea.png --text "cat ." --out out/
  gsam detect --image photos/ --labels "cat,remote control" --out out/
  gsam segment --image photo.jpg --box 10,20,200,300 --out out/
  gsam bench --random-weights --runs 3

Run 'gsam <command> --help' for the flags of each command.
Exit status: 0 success, 1 the work failed (unreadable image, model load
error), 2 bad usage.
`

func main() {
	// The models' weights dominate the live heap; collect garbage more
	// often than Go's default so it does not grow as large as the weights
	// (GOGC=25 unless GOGC/GOMEMLIMIT is set: see groundedsam.TuneGC).
	groundedsam.TuneGC()
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run dispatches a command line (without the program name) and returns the
// exit status; it is main without the process, so tests call it directly.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, args := args[0], args[1:]
	c := &cli{name: cmd, stdin: stdin, stdout: stdout, stderr: stderr}
	switch cmd {
	case "verify":
		return runVerify(args, stdout, stderr)
	case "ground":
		return c.ground(args)
	case "detect":
		return c.detect(args)
	case "segment":
		return c.segment(args)
	case "bench":
		return c.bench(args)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "gsam: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
}
