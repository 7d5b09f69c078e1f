package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/gsam-go/gsam/verify"
)

func runVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quiet := fs.Bool("q", false, "print only failures and the summary")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: gsam verify [-q] DIR...

Runs what a reference dump folder describes and compares every tensor it can
produce with the stored one (|got-want| <= 1e-4 + 1e-3*|want|; integers and
masks exact). The folder kind is detected from its files:
  tokenizer   cases.json + tokenizer.json (or vocab.txt)
  processor   gdino_cases.json / sam_cases.json with their pixel values
  model       config.json (grounding-dino or sam) + case/tensors.safetensors

One line per tensor: PASS|FAIL <name> maxabs=<x> maxrel=<y>, then
"verify: DIR: N compared, M failed". Exit status 0 only if N > 0 and M = 0.
`)
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	code := 0
	for _, dir := range fs.Args() {
		kind, res, err := verify.Dir(dir)
		for _, r := range res {
			if !*quiet || !r.OK() {
				fmt.Fprintln(stdout, r.String())
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "gsam verify: %v\n", err)
		}
		line, ok := verify.Summary(dir, res)
		if kind != "" {
			line += " (" + string(kind) + ")"
		}
		fmt.Fprintln(stdout, line)
		if !ok || err != nil {
			code = 1
		}
	}
	return code
}
