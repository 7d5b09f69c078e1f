package hub

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testRepo   = "org/model"
	testCommit = "0123456789abcdef0123456789abcdef01234567"
)

type fakeFile struct {
	data []byte
	lfs  bool
}

func (f fakeFile) etag() string {
	if f.lfs {
		s := sha256.Sum256(f.data)
		return hex.EncodeToString(s[:])
	}
	s := sha1.Sum(f.data) // stands in for the git blob hash
	return hex.EncodeToString(s[:])
}

// fakeHub mimics the Hub's resolve endpoint and a separate CDN that serves
// LFS files after a redirect.
type fakeHub struct {
	hub, cdn *httptest.Server
	files    map[string]fakeFile

	mu          sync.Mutex
	token       string // required when set
	status      int    // forced status of every resolve request
	ignoreRange bool
	corrupt     bool
	dropAfter   int // the next dropCount file bodies stop after dropAfter bytes
	dropCount   int
	blockAfter  int // the next blockCount file bodies stall after this many bytes until the client leaves
	blockCount  int
	shrink      int // bytes cut from the end of every file body

	heads, gets, bodies int
	revs, ranges        []string
	cdnAuth             []string
}

func newFakeHub(t *testing.T) *fakeHub {
	h := &fakeHub{files: map[string]fakeFile{
		"config.json":       {data: []byte(`{"model_type":"grounding-dino"}`)},
		"model.safetensors": {data: bytes.Repeat([]byte("0123456789abcdefghij"), 500), lfs: true},
		"sub/dir/vocab.txt": {data: []byte("[PAD]\n[UNK]\n")},
	}}
	h.hub = httptest.NewServer(http.HandlerFunc(h.resolve))
	h.cdn = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	t.Cleanup(h.hub.Close)
	t.Cleanup(h.cdn.Close)
	return h
}

func (h *fakeHub) client(t *testing.T) *Client {
	return &Client{Endpoint: h.hub.URL, CacheDir: t.TempDir(), RetryWait: time.Millisecond}
}

func (h *fakeHub) resolve(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Method == http.MethodHead {
		h.heads++
	} else {
		h.gets++
	}
	p := r.URL.EscapedPath()
	if old, ok := strings.CutPrefix(p, "/org/old-name/"); ok { // a renamed repository
		w.Header().Set("Location", "/org/model/"+old)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	rest, ok := strings.CutPrefix(p, "/"+testRepo+"/resolve/")
	if !ok {
		w.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(w, "no repo", http.StatusNotFound)
		return
	}
	if h.token != "" && r.Header.Get("Authorization") != "Bearer "+h.token {
		http.Error(w, "auth", http.StatusUnauthorized)
		return
	}
	if h.status != 0 {
		http.Error(w, "forced", h.status)
		return
	}
	escRev, escName, _ := strings.Cut(rest, "/")
	rev, _ := url.PathUnescape(escRev)
	name, _ := url.PathUnescape(escName)
	h.revs = append(h.revs, rev)
	if rev != "main" && rev != testCommit {
		w.Header().Set("X-Error-Code", "RevisionNotFound")
		http.Error(w, "no rev", http.StatusNotFound)
		return
	}
	w.Header().Set("X-Repo-Commit", testCommit)
	f, ok := h.files[name]
	if !ok {
		w.Header().Set("X-Error-Code", "EntryNotFound")
		http.Error(w, "no file", http.StatusNotFound)
		return
	}
	if f.lfs {
		w.Header().Set("X-Linked-Etag", `"`+f.etag()+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(f.data)))
		w.Header().Set("ETag", `"not-the-content-hash"`)
		cdn := strings.Replace(h.cdn.URL, "127.0.0.1", "localhost", 1) // another host
		w.Header().Set("Location", cdn+"/blobs/"+f.etag())
		w.WriteHeader(http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+f.etag()+`"`)
	h.serveBody(w, r, f.data)
}

func (h *fakeHub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.cdnAuth = append(h.cdnAuth, r.Header.Get("Authorization"))
	h.mu.Unlock()
	etag := strings.TrimPrefix(r.URL.Path, "/blobs/")
	for _, f := range h.files {
		if f.etag() == etag {
			data := f.data
			h.mu.Lock()
			if h.corrupt {
				data = bytes.Clone(data)
				data[len(data)/2] ^= 1
			}
			h.serveBody(w, r, data)
			h.mu.Unlock()
			return
		}
	}
	http.NotFound(w, r)
}

// serveBody answers with the whole body or, for "Range: bytes=N-", its
// tail; it can drop the connection or stall part way. Called with h.mu held.
func (h *fakeHub) serveBody(w http.ResponseWriter, r *http.Request, data []byte) {
	start := 0
	if rg := r.Header.Get("Range"); rg != "" {
		h.ranges = append(h.ranges, rg)
		if !h.ignoreRange {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"))
			if err != nil || n >= len(data) {
				w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
				return
			}
			start = n
		}
	}
	status := http.StatusOK
	if start > 0 {
		status = http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, len(data)-1, len(data)))
	}
	body := data[start:]
	if r.Method == http.MethodGet {
		body = body[:len(body)-min(h.shrink, len(body))]
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	h.bodies++
	if h.dropCount > 0 {
		h.dropCount--
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\nContent-Length: %d\r\n", status, http.StatusText(status), len(body))
		if cr := w.Header().Get("Content-Range"); cr != "" {
			fmt.Fprintf(buf, "Content-Range: %s\r\n", cr)
		}
		buf.WriteString("\r\n")
		buf.Write(body[:min(h.dropAfter, len(body))])
		buf.Flush()
		conn.Close()
		return
	}
	w.WriteHeader(status)
	if h.blockCount > 0 {
		h.blockCount--
		w.Write(body[:h.blockAfter])
		w.(http.Flusher).Flush()
		h.mu.Unlock()
		<-r.Context().Done()
		h.mu.Lock()
		return
	}
	w.Write(body)
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSnapshotLayout(t *testing.T) {
	h := newFakeHub(t)
	c := h.client(t)
	c.Token = "tok" // must reach the Hub but not the CDN
	var last Progress
	c.OnProgress = func(p Progress) { last = p }
	ctx := context.Background()
	dir, err := c.Snapshot(ctx, testRepo, "", []string{"config.json", "model.safetensors", "sub/dir/vocab.txt"},
		[]string{"special_tokens_map.json"})
	if err != nil {
		t.Fatal(err)
	}
	repoDir := filepath.Join(c.CacheDir, "models--org--model")
	if want := filepath.Join(repoDir, "snapshots", testCommit); dir != want {
		t.Fatalf("dir %s, want %s", dir, want)
	}
	for name, f := range h.files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if got := readFile(t, p); !bytes.Equal(got, f.data) {
			t.Errorf("%s: wrong content", name)
		}
		target, err := os.Readlink(p)
		if err != nil {
			t.Fatalf("%s: not a symlink: %v", name, err)
		}
		want, _ := filepath.Rel(filepath.Dir(p), filepath.Join(repoDir, "blobs", f.etag()))
		if target != want {
			t.Errorf("%s links to %s, want %s", name, target, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "special_tokens_map.json")); !os.IsNotExist(err) {
		t.Errorf("the missing optional file exists: %v", err)
	}
	if ref := readFile(t, filepath.Join(repoDir, "refs", "main")); string(ref) != testCommit {
		t.Errorf("refs/main = %q", ref)
	}
	if m, _ := filepath.Glob(filepath.Join(repoDir, "blobs", "*.incomplete")); len(m) != 0 {
		t.Errorf("left behind: %v", m)
	}
	// The first file resolves "main"; the rest are pinned to its commit.
	if h.revs[0] != "main" {
		t.Errorf("first revision %q", h.revs[0])
	}
	for _, r := range h.revs[1:] {
		if r != testCommit {
			t.Errorf("later request for revision %q, want the commit", r)
		}
	}
	for _, a := range h.cdnAuth {
		if a != "" {
			t.Errorf("the CDN received Authorization %q", a)
		}
	}
	if last.File != "sub/dir/vocab.txt" || last.Done != last.Total {
		t.Errorf("last progress %+v", last)
	}

	// Again: only the metadata request for "main", no bodies.
	heads, bodies := h.heads, h.bodies
	if _, err := c.Snapshot(ctx, testRepo, "main", []string{"config.json", "model.safetensors"}, nil); err != nil {
		t.Fatal(err)
	}
	if h.heads != heads+1 || h.bodies != bodies {
		t.Errorf("cached snapshot made %d HEAD and %d body requests", h.heads-heads, h.bodies-bodies)
	}
}

func TestRenamedRepoFollowsRelativeRedirect(t *testing.T) {
	h := newFakeHub(t)
	c := h.client(t)
	p, err := c.Download(context.Background(), "org/old-name", "main", "config.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, p), h.files["config.json"].data) {
		t.Fatal("wrong content")
	}
}

func blobPath(c *Client, f fakeFile) string {
	return filepath.Join(c.CacheDir, "models--org--model", "blobs", f.etag())
}

func TestResumeFromPartialFile(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignoreRange=%v", ignore), func(t *testing.T) {
			h := newFakeHub(t)
			h.ignoreRange = ignore
			c := h.client(t)
			f := h.files["model.safetensors"]
			blob := blobPath(c, f)
			os.MkdirAll(filepath.Dir(blob), 0o755)
			if err := os.WriteFile(blob+".incomplete", f.data[:1000], 0o644); err != nil {
				t.Fatal(err)
			}
			var last Progress
			c.OnProgress = func(p Progress) { last = p }
			p, err := c.Download(context.Background(), testRepo, "main", "model.safetensors")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(readFile(t, p), f.data) {
				t.Fatal("wrong content")
			}
			if len(h.ranges) != 1 || h.ranges[0] != "bytes=1000-" {
				t.Fatalf("ranges %v", h.ranges)
			}
			// The speed counts only this run's bytes.
			if want := map[bool]int64{false: 1000, true: 0}[ignore]; last.Resumed != want || last.Done != int64(len(f.data)) {
				t.Fatalf("last progress %+v, want Resumed %d", last, want)
			}
		})
	}
}

func TestDroppedConnectionIsResumed(t *testing.T) {
	h := newFakeHub(t)
	h.dropAfter, h.dropCount = 3000, 2
	c := h.client(t)
	f := h.files["model.safetensors"]
	p, err := c.Download(context.Background(), testRepo, "main", "model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, p), f.data) {
		t.Fatal("wrong content")
	}
	if want := []string{"bytes=3000-", "bytes=6000-"}; fmt.Sprint(h.ranges) != fmt.Sprint(want) {
		t.Fatalf("ranges %v, want %v", h.ranges, want)
	}
}

func TestDropsWithoutEndGiveUp(t *testing.T) {
	h := newFakeHub(t)
	h.dropAfter, h.dropCount = 0, 100 // never a byte
	c := h.client(t)
	c.Retries = 2
	_, err := c.Download(context.Background(), testRepo, "main", "model.safetensors")
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") {
		t.Fatalf("err = %v", err)
	}
	if h.bodies != 3 {
		t.Fatalf("%d attempts, want 3", h.bodies)
	}
}

func TestChecksumMismatch(t *testing.T) {
	h := newFakeHub(t)
	h.corrupt = true
	c := h.client(t)
	_, err := c.Download(context.Background(), testRepo, "main", "model.safetensors")
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("err = %v, want ErrChecksum", err)
	}
	blob := blobPath(c, h.files["model.safetensors"])
	for _, p := range []string{blob, blob + ".incomplete",
		filepath.Join(c.CacheDir, "models--org--model", "snapshots", testCommit, "model.safetensors")} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after a corrupt download", p)
		}
	}
}

func TestHTTPErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("401", func(t *testing.T) {
		h := newFakeHub(t)
		h.token = "secret"
		c := h.client(t)
		_, err := c.Download(ctx, testRepo, "main", "config.json")
		if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "HF_TOKEN") {
			t.Fatalf("err = %v", err)
		}
		c.Token = "secret"
		if _, err := c.Download(ctx, testRepo, "main", "config.json"); err != nil {
			t.Fatalf("with the token: %v", err)
		}
	})
	t.Run("403", func(t *testing.T) {
		h := newFakeHub(t)
		h.status = http.StatusForbidden
		_, err := h.client(t).Download(ctx, testRepo, "main", "config.json")
		if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "403") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("404", func(t *testing.T) {
		h := newFakeHub(t)
		c := h.client(t)
		if _, err := c.Download(ctx, "org/other", "main", "config.json"); !errors.Is(err, ErrRepoNotFound) {
			t.Fatalf("repo: err = %v", err)
		}
		if _, err := c.Download(ctx, testRepo, "v9", "config.json"); !errors.Is(err, ErrRevisionNotFound) {
			t.Fatalf("revision: err = %v", err)
		}
		_, err := c.Download(ctx, testRepo, "main", "nope.json")
		if !errors.Is(err, ErrEntryNotFound) || !strings.Contains(err.Error(), "nope.json") {
			t.Fatalf("file: err = %v", err)
		}
		// A missing required file fails a snapshot.
		if _, err := c.Snapshot(ctx, testRepo, "main", []string{"config.json", "nope.json"}, nil); !errors.Is(err, ErrEntryNotFound) {
			t.Fatalf("snapshot: err = %v", err)
		}
	})
	t.Run("500", func(t *testing.T) {
		h := newFakeHub(t)
		h.status = http.StatusInternalServerError
		c := h.client(t)
		c.Retries = 2
		_, err := c.Download(ctx, testRepo, "main", "config.json")
		if err == nil || !strings.Contains(err.Error(), "HTTP 500") {
			t.Fatalf("err = %v", err)
		}
		if h.heads != 3 {
			t.Fatalf("%d attempts, want 3", h.heads)
		}
	})
}

func TestOffline(t *testing.T) {
	h := newFakeHub(t)
	c := h.client(t)
	ctx := context.Background()
	files := []string{"config.json", "model.safetensors"}
	online, err := c.Snapshot(ctx, testRepo, "main", files, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.hub.Close()
	h.cdn.Close()
	c.Offline = true
	dir, err := c.Snapshot(ctx, testRepo, "main", files, []string{"special_tokens_map.json"})
	if err != nil || dir != online {
		t.Fatalf("offline snapshot = %s, %v; want %s", dir, err, online)
	}
	if _, err := c.Download(ctx, testRepo, testCommit, "config.json"); err != nil {
		t.Fatalf("by commit: %v", err)
	}
	_, err = c.Download(ctx, testRepo, "main", "tokenizer.json")
	if !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), "tokenizer.json") || !strings.Contains(err.Error(), "HF_HUB_OFFLINE") {
		t.Fatalf("missing file: err = %v", err)
	}
	c.CacheDir = t.TempDir()
	_, err = c.Download(ctx, testRepo, "main", "config.json")
	if !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), "refs") {
		t.Fatalf("empty cache: err = %v", err)
	}
}

func TestUnreachableHubFallsBackToCache(t *testing.T) {
	h := newFakeHub(t)
	c := h.client(t)
	ctx := context.Background()
	want, err := c.Download(ctx, testRepo, "main", "config.json")
	if err != nil {
		t.Fatal(err)
	}
	h.hub.Close()
	// No retries before using the cache: with an hour between attempts,
	// waiting would hit the deadline.
	c.RetryWait = time.Hour
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	got, err := c.Download(ctx, testRepo, "main", "config.json")
	if err != nil || got != want {
		t.Fatalf("got %s, %v", got, err)
	}
	c.Retries = -1
	if _, err := c.Download(ctx, testRepo, "main", "tokenizer.json"); err == nil || ctx.Err() != nil {
		t.Fatal("want an error for an uncached file with the Hub down")
	}
}

func TestCancel(t *testing.T) {
	h := newFakeHub(t)
	h.blockAfter, h.blockCount = 500, 1
	c := h.client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.OnProgress = func(p Progress) {
		if p.Done >= 500 {
			cancel()
		}
	}
	_, err := c.Download(ctx, testRepo, "main", "model.safetensors")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	blob := blobPath(c, h.files["model.safetensors"])
	if _, err := os.Stat(blob); !os.IsNotExist(err) {
		t.Fatal("the final blob exists after a cancelled download")
	}
	// The partial file stays, to be resumed.
	if fi, err := os.Stat(blob + ".incomplete"); err != nil || fi.Size() != 500 {
		t.Fatalf("partial file: %v, %v", fi, err)
	}
}

func TestStalledTransferIsResumed(t *testing.T) {
	h := newFakeHub(t)
	h.blockAfter, h.blockCount = 700, 1
	c := h.client(t)
	c.StallTimeout = 50 * time.Millisecond
	f := h.files["model.safetensors"]
	p, err := c.Download(context.Background(), testRepo, "main", "model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, p), f.data) {
		t.Fatal("wrong content")
	}
	if fmt.Sprint(h.ranges) != "[bytes=700-]" {
		t.Fatalf("ranges %v", h.ranges)
	}
}

func TestWrongSizeIsAnError(t *testing.T) {
	h := newFakeHub(t)
	h.shrink = 5 // HEAD announces the full size, GET sends five bytes less
	c := h.client(t)
	_, err := c.Download(context.Background(), testRepo, "main", "config.json")
	if want := fmt.Sprintf("want %d", len(h.files["config.json"].data)); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want one with %q", err, want)
	}
	blob := blobPath(c, h.files["config.json"])
	for _, p := range []string{blob, blob + ".incomplete"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s exists after a short download", p)
		}
	}
}

func TestConcurrentDownloadsShareOneTransfer(t *testing.T) {
	h := newFakeHub(t)
	c := h.client(t)
	f := h.files["model.safetensors"]
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var p string
			p, errs[i] = c.Download(context.Background(), testRepo, "main", "model.safetensors")
			if errs[i] == nil {
				if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, f.data) {
					errs[i] = fmt.Errorf("wrong content: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if h.bodies != 1 {
		t.Fatalf("%d transfers, want 1", h.bodies)
	}
}

func TestCopyWhenSymlinksFail(t *testing.T) {
	old := symlinkFn
	symlinkFn = func(string, string) error { return errors.New("no symlinks here") }
	defer func() { symlinkFn = old }()
	h := newFakeHub(t)
	c := h.client(t)
	p, err := c.Download(context.Background(), testRepo, "main", "model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("want a regular file: %v %v", fi, err)
	}
	if !bytes.Equal(readFile(t, p), h.files["model.safetensors"].data) {
		t.Fatal("wrong content")
	}
}

func TestInvalidNames(t *testing.T) {
	h := newFakeHub(t)
	c := h.client(t)
	ctx := context.Background()
	for _, tc := range [][3]string{
		{"../evil", "main", "config.json"},
		{"org/a/b", "main", "config.json"},
		{"org--x/y", "main", "config.json"},
		{testRepo, "main", "../../../etc/passwd"},
		{testRepo, "main", "/abs"},
		{testRepo, "main", "a//b"},
		{testRepo, "../x", "config.json"},
	} {
		if _, err := c.Download(ctx, tc[0], tc[1], tc[2]); err == nil {
			t.Errorf("Download%q: want an error", tc)
		}
	}
	if h.heads+h.gets != 0 {
		t.Fatalf("invalid names reached the server")
	}
}

func TestNewClientFromEnvironment(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HF_HOME", home)
	t.Setenv("HF_HUB_CACHE", "")
	t.Setenv("HUGGINGFACE_HUB_CACHE", "")
	t.Setenv("HF_TOKEN", "")
	t.Setenv("HF_TOKEN_PATH", "")
	t.Setenv("HF_ENDPOINT", "http://mirror.example")
	t.Setenv("HF_HUB_OFFLINE", "1")
	os.WriteFile(filepath.Join(home, "token"), []byte("hf_file\n"), 0o600)
	c := NewClient()
	if c.CacheDir != filepath.Join(home, "hub") || c.Token != "hf_file" || !c.Offline || c.endpoint() != "http://mirror.example" {
		t.Fatalf("client %+v", c)
	}
	t.Setenv("HF_HUB_CACHE", "/elsewhere")
	t.Setenv("HF_TOKEN", "hf_env")
	t.Setenv("HF_HUB_OFFLINE", "0")
	c = NewClient()
	if c.CacheDir != "/elsewhere" || c.Token != "hf_env" || c.Offline {
		t.Fatalf("client %+v", c)
	}
}

func TestProgressBar(t *testing.T) {
	start := time.Now().Add(-2 * time.Second)
	line := FormatProgress(Progress{File: "model.safetensors", Done: 512 << 20, Total: 1 << 30, Start: start}, start.Add(2*time.Second))
	for _, want := range []string{"model.safetensors", "512.0 MiB / 1.0 GiB", " 50%", "256.0 MiB/s", "[==========>"} {
		if !strings.Contains(line, want) {
			t.Errorf("%q lacks %q", line, want)
		}
	}
	var buf bytes.Buffer
	bar := NewProgressBar(&buf)
	bar(Progress{File: "a", Done: 1, Total: 10, Start: start})
	bar(Progress{File: "a", Done: 10, Total: 10, Start: start})
	bar(Progress{File: "a", Done: 10, Total: 10, Start: start})
	if out := buf.String(); strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") || !strings.Contains(out, "100%") {
		t.Fatalf("bar output %q", out)
	}
	// The same file name in another download gets its own line.
	bar(Progress{Repo: "other/repo", File: "a", Done: 10, Total: 10, Start: start})
	if out := buf.String(); strings.Count(out, "\n") != 2 {
		t.Fatalf("bar output %q", out)
	}
}
