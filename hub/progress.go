package hub

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress is one report about a download in flight.
type Progress struct {
	Repo, File string
	Done       int64 // bytes on disk so far, including a resumed part
	Total      int64 // -1 when the server did not say
	Resumed    int64 // bytes already on disk from an earlier run when this one started
	Start      time.Time
}

// progressWriter counts what passes to w and reports it.
type progressWriter struct {
	w    io.Writer
	done int64
	p    Progress
	fn   func(Progress)

	onWrite func() // called after each write, before fn
}

func (pw *progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	pw.done += int64(n)
	if pw.onWrite != nil {
		pw.onWrite()
	}
	if pw.fn != nil {
		p := pw.p
		p.Done = pw.done
		pw.fn(p)
	}
	return n, err
}

// NewProgressBar returns an OnProgress callback that draws one line per file
// on w ("name  [=====>   ]  12.0 MiB / 660.0 MiB  1%  8.1 MiB/s"), redrawn
// in place at most ten times a second and ended with a newline.
func NewProgressBar(w io.Writer) func(Progress) {
	var mu sync.Mutex
	var last time.Time
	var lastKey string
	return func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		key := p.Repo + "\x00" + p.File + "\x00" + p.Start.String() // one download
		finished := p.Total >= 0 && p.Done >= p.Total
		if key == lastKey && !finished && now.Sub(last) < 100*time.Millisecond {
			return
		}
		if finished && key == lastKey && last.IsZero() {
			return // already ended this download's line
		}
		last, lastKey = now, key
		fmt.Fprint(w, "\r"+FormatProgress(p, now))
		if finished {
			fmt.Fprintln(w)
			last = time.Time{}
		}
	}
}

// FormatProgress renders p as one line of text, without a line ending.
func FormatProgress(p Progress, now time.Time) string {
	var speed string
	if secs := now.Sub(p.Start).Seconds(); secs > 0 {
		speed = "  " + formatBytes(int64(float64(p.Done-p.Resumed)/secs)) + "/s"
	}
	if p.Total <= 0 {
		return fmt.Sprintf("%s  %s%s", p.File, formatBytes(p.Done), speed)
	}
	frac := min(float64(p.Done)/float64(p.Total), 1)
	const width = 20
	filled := int(frac * width)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	return fmt.Sprintf("%s  [%s] %s / %s %3d%%%s", p.File, bar,
		formatBytes(p.Done), formatBytes(p.Total), int(frac*100), speed)
}

func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n), -1
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	return fmt.Sprintf("%.1f %ciB", v, "KMGT"[i])
}
