// Command idletrace reads a Go execution trace (gsam bench --trace FILE,
// or any runtime/trace output) and reports where the cores sat idle: the
// time during which only one goroutine was running, added up by the code
// that ended each such stretch (the last of this module's frames on the
// lone goroutine's stack, usually the call that started the next parallel
// region). A serial loop shows up as the call after it; the last units of
// a parallel product (its tail) as the product after it.
//
// It is its own module (it needs golang.org/x/exp/trace), so run it from
// here:
//
//	cd scripts/idletrace && go run . /tmp/gdino.trace
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"golang.org/x/exp/trace"
)

func main() {
	depth := flag.Int("depth", 6, "frames of the module's code to show per row")
	top := flag.Int("top", 20, "rows to print")
	prefix := flag.String("module", "github.com/gsam-go/gsam/", "frames outside this prefix are skipped")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: idletrace [-depth N] [-top N] FILE")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *prefix, *depth, *top); err != nil {
		fmt.Fprintln(os.Stderr, "idletrace:", err)
		os.Exit(1)
	}
}

func run(file, prefix string, depth, top int) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := trace.NewReader(f)
	if err != nil {
		return err
	}
	key := func(s trace.Stack) string {
		var parts []string
		for fr := range s.Frames() {
			if !strings.HasPrefix(fr.Func, prefix) {
				continue
			}
			parts = append(parts, fmt.Sprintf("%s:%d", strings.TrimPrefix(fr.Func, prefix), fr.Line))
			if len(parts) == depth {
				break
			}
		}
		return strings.Join(parts, " < ")
	}
	running := map[trace.GoID]bool{}
	byKey := map[string]float64{}
	var first, last, since trace.Time
	var serial, none float64
	lone, lastKey, started := trace.NoGoroutine, "", false
	state := -1 // goroutines running when the current stretch began: 0, 1 or more
	for {
		ev, err := r.ReadEvent()
		if err != nil {
			break // io.EOF, or a truncated trace: report what was read
		}
		if !started {
			first, started = ev.Time(), true
		}
		last = ev.Time()
		if state == 1 && ev.Goroutine() == lone {
			if k := key(ev.Stack()); k != "" {
				lastKey = k
			}
		}
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		from, to := st.Goroutine()
		g := st.Resource.Goroutine()
		if to == trace.GoRunning {
			running[g] = true
		} else if from == trace.GoRunning {
			delete(running, g)
		}
		n := min(len(running), 2)
		if n == state {
			continue
		}
		d := float64(ev.Time().Sub(since).Microseconds()) / 1e3
		switch state {
		case 1:
			serial += d
			byKey[lastKey] += d
		case 0:
			none += d
		}
		state, since, lastKey = n, ev.Time(), ""
		if n == 1 {
			for g := range running {
				lone = g
			}
		}
	}
	fmt.Printf("%.1f ms traced: one goroutine running %.1f ms, none %.1f ms\n",
		float64(last.Sub(first).Microseconds())/1e3, serial, none)
	type row struct {
		k  string
		ms float64
	}
	var rows []row
	for k, v := range byKey {
		rows = append(rows, row{k, v})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ms > rows[j].ms })
	for i, rw := range rows {
		if i == top {
			break
		}
		k := rw.k
		if k == "" {
			k = "(no frame of the module: runtime, GC)"
		}
		fmt.Printf("%8.1f ms  %s\n", rw.ms, k)
	}
	return nil
}
