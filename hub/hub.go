// Package hub downloads files of Hugging Face Hub model repositories into the
// Hub's own local cache layout (the one Python's huggingface_hub uses), so a
// model fetched by either tool is found by the other:
//
//	{cache}/models--{org}--{name}/blobs/{etag}
//	{cache}/models--{org}--{name}/snapshots/{commit}/{filename} -> ../../blobs/{etag}
//	{cache}/models--{org}--{name}/refs/{revision}   (holds the commit hash)
//
// Downloads resume after a dropped connection, are checked against the
// size and (for LFS files) the sha256 the Hub announces, and only appear
// under their final name once complete.
package hub

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultEndpoint is the Hub used when HF_ENDPOINT is not set.
const DefaultEndpoint = "https://huggingface.co"

// Errors a download can wrap; test them with errors.Is.
var (
	ErrUnauthorized     = errors.New("access denied")
	ErrRepoNotFound     = errors.New("repository not found")
	ErrRevisionNotFound = errors.New("revision not found")
	ErrEntryNotFound    = errors.New("file not found in the repository")
	ErrNotCached        = errors.New("not in the local cache")
	ErrChecksum         = errors.New("downloaded file does not match its checksum")
)

// Client downloads from one Hub endpoint into one cache directory. The zero
// value works (public Hub, default cache, no token); NewClient fills the
// fields from the environment the way huggingface_hub does.
type Client struct {
	Endpoint string // e.g. https://huggingface.co; "" means DefaultEndpoint
	CacheDir string // the hub cache; "" means DefaultCacheDir()
	Token    string // sent as "Authorization: Bearer" to Endpoint only
	Offline  bool   // never touch the network; answer from the cache

	// HTTPClient carries the requests; nil means a client with
	// http.DefaultTransport. Its CheckRedirect is ignored for the metadata
	// request, which must see the Hub's first answer.
	HTTPClient *http.Client

	// OnProgress, if set, is called as bytes arrive (see NewProgressBar).
	OnProgress func(Progress)

	// Retries is how many times a failing request is retried in a row
	// (dropped connection, 5xx, 429) before giving up: 0 means 5, a
	// negative value means none. Attempts that gain bytes reset the count.
	Retries int
	// RetryWait is the first pause between attempts, doubled after each
	// failure; 0 means one second.
	RetryWait time.Duration
	// StallTimeout bounds the wait for the metadata answer and for each
	// next piece of a download before the attempt counts as dropped;
	// 0 means 30 seconds.
	StallTimeout time.Duration
}

// NewClient returns a Client configured from HF_ENDPOINT, HF_HUB_CACHE /
// HF_HOME, HF_TOKEN / the token file and HF_HUB_OFFLINE, with a progress bar
// on stderr when stderr is a terminal.
func NewClient() *Client {
	c := &Client{
		Endpoint: os.Getenv("HF_ENDPOINT"),
		CacheDir: DefaultCacheDir(),
		Token:    DefaultToken(),
		Offline:  envTrue(os.Getenv("HF_HUB_OFFLINE")),
	}
	if isTerminal(os.Stderr) {
		c.OnProgress = NewProgressBar(os.Stderr)
	}
	return c
}

// hfHome is $HF_HOME, else $XDG_CACHE_HOME/huggingface, else
// ~/.cache/huggingface.
func hfHome() string {
	if h := os.Getenv("HF_HOME"); h != "" {
		return h
	}
	if x := os.Getenv("XDG_CACHE_HOME"); x != "" {
		return filepath.Join(x, "huggingface")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	return filepath.Join(home, ".cache", "huggingface")
}

// DefaultCacheDir is $HF_HUB_CACHE, else (the older) $HUGGINGFACE_HUB_CACHE,
// else $HF_HOME/hub.
func DefaultCacheDir() string {
	for _, k := range []string{"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"} {
		if d := os.Getenv(k); d != "" {
			return d
		}
	}
	return filepath.Join(hfHome(), "hub")
}

// DefaultToken is $HF_TOKEN, else the contents of $HF_TOKEN_PATH or
// $HF_HOME/token (written by `huggingface-cli login`), else "".
func DefaultToken() string {
	if t := strings.TrimSpace(os.Getenv("HF_TOKEN")); t != "" {
		return t
	}
	path := os.Getenv("HF_TOKEN_PATH")
	if path == "" {
		path = filepath.Join(hfHome(), "token")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func envTrue(v string) bool {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "1", "ON", "YES", "TRUE":
		return true
	}
	return false
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (c *Client) endpoint() string {
	e := c.Endpoint
	if e == "" {
		e = DefaultEndpoint
	}
	return strings.TrimRight(e, "/")
}

func (c *Client) cacheDir() string {
	if c.CacheDir == "" {
		return DefaultCacheDir()
	}
	return c.CacheDir
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient == nil {
		return &http.Client{}
	}
	return c.HTTPClient
}

func (c *Client) retries() int {
	switch {
	case c.Retries < 0:
		return 0
	case c.Retries == 0:
		return 5
	}
	return c.Retries
}

func (c *Client) stallTimeout() time.Duration {
	if c.StallTimeout <= 0 {
		return 30 * time.Second
	}
	return c.StallTimeout
}

// wait sleeps before retry number n (0-based), or returns early with the
// context's error.
func (c *Client) wait(ctx context.Context, n int) error {
	d := c.RetryWait
	if d <= 0 {
		d = time.Second
	}
	d <<= min(n, 6)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Download makes sure filename of repo at revision ("" means "main") is in
// the cache and returns the path of its snapshot entry.
func (c *Client) Download(ctx context.Context, repo, revision, filename string) (string, error) {
	p, _, err := c.fetch(ctx, repo, revision, filename)
	return p, err
}

// Snapshot downloads the required and optional files of repo at revision
// and returns the snapshot directory that holds them all. Every file comes
// from the same commit: the revision is pinned to the commit the first file
// resolves to. An optional file the repository lacks is skipped.
func (c *Client) Snapshot(ctx context.Context, repo, revision string, required, optional []string) (string, error) {
	if len(required)+len(optional) == 0 {
		return "", errors.New("hub: Snapshot needs at least one file")
	}
	rev := revision
	dir := ""
	for i, name := range append(append([]string{}, required...), optional...) {
		isOptional := i >= len(required)
		_, commit, err := c.fetch(ctx, repo, rev, name)
		if err != nil {
			if isOptional && (errors.Is(err, ErrEntryNotFound) || errors.Is(err, ErrNotCached)) {
				continue
			}
			return "", err
		}
		rev = commit
		dir = filepath.Join(c.repoDir(repo), "snapshots", commit)
	}
	if dir == "" {
		return "", fmt.Errorf("hub: %s: none of the optional files %v exists", repo, optional)
	}
	return dir, nil
}
