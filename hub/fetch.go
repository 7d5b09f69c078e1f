package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// fileMeta is what the Hub's answer to HEAD .../resolve/... tells.
type fileMeta struct {
	commit string
	etag   string // sha256 for LFS files, the git blob hash otherwise
	size   int64  // -1 when not announced
}

// retryable marks a failure worth another attempt: a dropped connection, a
// 5xx or a 429.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

func isRetryable(err error) bool {
	var r retryable
	return errors.As(err, &r)
}

func resolveURL(endpoint, repo, revision, filename string) string {
	parts := strings.Split(filename, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	// The revision is one path element: "refs/pr/1" travels as refs%2Fpr%2F1.
	return endpoint + "/" + repo + "/resolve/" + url.PathEscape(revision) + "/" + strings.Join(parts, "/")
}

// fetch is Download, also returning the commit the file was resolved at.
func (c *Client) fetch(ctx context.Context, repo, revision, filename string) (string, string, error) {
	if revision == "" {
		revision = "main"
	}
	if err := checkRepo(repo); err != nil {
		return "", "", err
	}
	if err := checkRelPath("revision", revision); err != nil {
		return "", "", err
	}
	if err := checkRelPath("file name", filename); err != nil {
		return "", "", err
	}
	if c.Offline {
		p, commit, err := c.resolveCached(repo, revision, filename)
		if err != nil {
			return "", "", fmt.Errorf("%w; offline mode (HF_HUB_OFFLINE) forbids downloading it: fetch it once online", err)
		}
		return p, commit, nil
	}
	// A commit hash never moves: a cached file needs no request.
	if commitRE.MatchString(revision) {
		if p, commit, err := c.resolveCached(repo, revision, filename); err == nil {
			return p, commit, nil
		}
	}

	u := resolveURL(c.endpoint(), repo, revision, filename)
	meta, err := c.headOnce(ctx, u, repo, revision, filename)
	if err != nil && isRetryable(err) && ctx.Err() == nil {
		// Like huggingface_hub: when the Hub cannot be reached, a cached copy
		// of the same revision will do, without waiting for retries.
		if p, commit, cerr := c.resolveCached(repo, revision, filename); cerr == nil {
			return p, commit, nil
		}
		meta, err = c.retryHead(ctx, u, repo, revision, filename, err)
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", "", ctx.Err()
		}
		return "", "", err
	}

	dir := c.repoDir(repo)
	if err := writeRef(dir, revision, meta.commit); err != nil {
		return "", "", err
	}
	pointer := snapshotPath(dir, meta.commit, filename)
	blob := filepath.Join(dir, "blobs", meta.etag)
	if _, err := os.Stat(pointer); err == nil {
		return pointer, meta.commit, nil
	}
	// huggingface_hub keeps its locks in the same place: .locks/{repo folder}/{etag}.lock.
	unlock, err := lockFile(ctx, filepath.Join(c.cacheDir(), ".locks", filepath.Base(dir), meta.etag+".lock"))
	if err != nil {
		return "", "", err
	}
	defer unlock()
	if fi, err := os.Stat(blob); err != nil || (meta.size >= 0 && fi.Size() != meta.size) {
		// Fetch by commit so that a branch moving meanwhile cannot hand us
		// another file than the one HEAD described.
		get := resolveURL(c.endpoint(), repo, meta.commit, filename)
		if err := c.downloadBlob(ctx, get, repo, revision, filename, meta, blob); err != nil {
			return "", "", err
		}
	}
	if err := linkSnapshot(blob, pointer); err != nil {
		return "", "", err
	}
	return pointer, meta.commit, nil
}

func (c *Client) newRequest(ctx context.Context, method, u string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("hub: %w", err)
	}
	req.Header.Set("User-Agent", "gsam-go/hub")
	// The size must be the file's, not that of a compressed transfer.
	req.Header.Set("Accept-Encoding", "identity")
	if c.Token != "" && strings.HasPrefix(u, c.endpoint()+"/") {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

// retryHead repeats the metadata request after a first attempt failed
// transiently with err, up to Retries more times.
func (c *Client) retryHead(ctx context.Context, u, repo, revision, filename string, err error) (fileMeta, error) {
	for n := 0; n < c.retries(); n++ {
		if werr := c.wait(ctx, n); werr != nil {
			return fileMeta{}, werr
		}
		meta, herr := c.headOnce(ctx, u, repo, revision, filename)
		if herr == nil || !isRetryable(herr) || ctx.Err() != nil {
			return meta, herr
		}
		err = herr
	}
	return fileMeta{}, fmt.Errorf("%w (gave up after %d attempts)", err, c.retries()+1)
}

// headOnce sends HEAD without following the redirect to the CDN: the Hub's
// first answer carries X-Repo-Commit and X-Linked-Etag, the CDN's does not.
// Relative redirects (a renamed repository) are followed.
func (c *Client) headOnce(ctx context.Context, u, repo, revision, filename string) (fileMeta, error) {
	hc := *c.httpClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hctx, cancel := context.WithTimeout(ctx, c.stallTimeout())
	defer cancel()
	for hops := 0; ; hops++ {
		req, err := c.newRequest(hctx, http.MethodHead, u)
		if err != nil {
			return fileMeta{}, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return fileMeta{}, retryable{fmt.Errorf("hub: %s: %w", repo, err)}
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			loc, err := req.URL.Parse(resp.Header.Get("Location"))
			if err == nil && loc.Host == req.URL.Host && hops < 10 && resp.Header.Get("X-Repo-Commit") == "" {
				u = loc.String()
				continue
			}
		} else if resp.StatusCode >= 400 {
			return fileMeta{}, statusError(resp, repo, revision, filename)
		}
		return parseMeta(resp.Header, repo, filename)
	}
}

func parseMeta(h http.Header, repo, filename string) (fileMeta, error) {
	m := fileMeta{commit: h.Get("X-Repo-Commit"), size: -1}
	etag := h.Get("X-Linked-Etag")
	if etag == "" {
		etag = h.Get("ETag")
	}
	m.etag = strings.Trim(strings.TrimPrefix(etag, "W/"), `"`)
	if m.commit == "" {
		return m, fmt.Errorf("hub: %s: %s: the server sent no X-Repo-Commit header (is the endpoint a Hugging Face Hub?)", repo, filename)
	}
	if m.etag == "" {
		return m, fmt.Errorf("hub: %s: %s: the server sent no ETag, cannot cache the file", repo, filename)
	}
	if err := checkHeaderName("commit", m.commit); err != nil {
		return m, err
	}
	if err := checkHeaderName("etag", m.etag); err != nil {
		return m, err
	}
	size := h.Get("X-Linked-Size")
	if size == "" {
		size = h.Get("Content-Length")
	}
	if size != "" {
		n, err := strconv.ParseInt(size, 10, 64)
		if err != nil || n < 0 {
			return m, fmt.Errorf("hub: %s: %s: invalid size %q", repo, filename, size)
		}
		m.size = n
	}
	return m, nil
}

// statusError turns an HTTP failure into an error that says what to do.
func statusError(resp *http.Response, repo, revision, filename string) error {
	msg := resp.Header.Get("X-Error-Message")
	if msg != "" {
		msg = " (" + msg + ")"
	}
	code := resp.StatusCode
	switch {
	case code == http.StatusUnauthorized:
		return fmt.Errorf("hub: %s: %w (HTTP 401)%s: the repository is private or gated, or does not exist; "+
			"set HF_TOKEN to an access token (https://huggingface.co/settings/tokens)", repo, ErrUnauthorized, msg)
	case code == http.StatusForbidden:
		return fmt.Errorf("hub: %s: %w (HTTP 403)%s: the token may not read this repository; for a gated model "+
			"accept its terms on its Hub page, and check HF_TOKEN", repo, ErrUnauthorized, msg)
	case code == http.StatusNotFound:
		switch resp.Header.Get("X-Error-Code") {
		case "RepoNotFound":
			return fmt.Errorf("hub: %s: %w (HTTP 404)%s", repo, ErrRepoNotFound, msg)
		case "RevisionNotFound":
			return fmt.Errorf("hub: %s@%s: %w (HTTP 404)%s", repo, revision, ErrRevisionNotFound, msg)
		}
		return fmt.Errorf("hub: %s@%s: %s: %w (HTTP 404)%s", repo, revision, filename, ErrEntryNotFound, msg)
	case code == http.StatusTooManyRequests || code >= 500:
		return retryable{fmt.Errorf("hub: %s: %s: server answered HTTP %d%s", repo, filename, code, msg)}
	}
	return fmt.Errorf("hub: %s: %s: unexpected HTTP %d%s", repo, filename, code, msg)
}

// downloadBlob fills blob+".incomplete", resuming what an earlier attempt
// left there, checks it and only then renames it to blob.
func (c *Client) downloadBlob(ctx context.Context, u, repo, revision, filename string, meta fileMeta, blob string) error {
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	tmp := blob + ".incomplete"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	defer f.Close()

	prog := Progress{Repo: repo, File: filename, Total: meta.size, Start: time.Now(), Resumed: -1}
	fails := 0
	for {
		have, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			return fmt.Errorf("hub: %w", err)
		}
		if meta.size >= 0 && have > meta.size { // not ours to resume
			if err := truncate(f); err != nil {
				return err
			}
			have = 0
		}
		if meta.size >= 0 && have == meta.size {
			break
		}
		if prog.Resumed < 0 {
			prog.Resumed = have
		}
		gained, err := c.getOnce(ctx, f, u, repo, revision, filename, have, prog)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err() // keep the partial file for the next run
		}
		if !isRetryable(err) {
			return err
		}
		if gained > 0 {
			fails = 0
		}
		if fails >= c.retries() {
			return fmt.Errorf("%w (gave up after %d attempts without progress)", err, fails+1)
		}
		if err := c.wait(ctx, fails); err != nil {
			return err
		}
		fails++
	}

	if err := verify(f, meta); err != nil {
		f.Close()
		os.Remove(tmp) // a wrong file is not worth resuming
		return fmt.Errorf("hub: %s: %s: %w", repo, filename, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if err := os.Rename(tmp, blob); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

func truncate(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

// getOnce appends the rest of the file from byte have on; it reports how
// many bytes it gained. The client follows the redirect to the CDN and drops
// the Authorization header there if the host differs.
func (c *Client) getOnce(ctx context.Context, f *os.File, u, repo, revision, filename string, have int64, prog Progress) (int64, error) {
	// A stalled transfer is cancelled and counts as a dropped connection:
	// the timer restarts whenever bytes arrive.
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stall := time.AfterFunc(c.stallTimeout(), cancel)
	defer stall.Stop()
	req, err := c.newRequest(gctx, http.MethodGet, u)
	if err != nil {
		return 0, err
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, retryable{fmt.Errorf("hub: %s: %s: %w", repo, filename, stalled(gctx, err, c.stallTimeout()))}
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if from, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || from != have {
			// Not the range we asked for: start over rather than splice.
			if err := truncate(f); err != nil {
				return 0, err
			}
			return 0, retryable{fmt.Errorf("hub: %s: %s: server sent range %q for bytes=%d-",
				repo, filename, resp.Header.Get("Content-Range"), have)}
		}
	case http.StatusOK:
		// The server ignored Range (or there was none): take it from the top.
		if have > 0 {
			if err := truncate(f); err != nil {
				return 0, err
			}
			have = 0
		}
	case http.StatusRequestedRangeNotSatisfiable:
		// Our partial file is not a prefix of this one.
		if err := truncate(f); err != nil {
			return 0, err
		}
		return 0, retryable{fmt.Errorf("hub: %s: %s: server refused to resume at byte %d", repo, filename, have)}
	default:
		return 0, statusError(resp, repo, revision, filename)
	}
	if have < prog.Resumed { // starting over
		prog.Resumed = 0
	}
	pw := &progressWriter{w: f, done: have, p: prog,
		fn: c.OnProgress, onWrite: func() { stall.Reset(c.stallTimeout()) }}
	n, err := io.Copy(pw, resp.Body)
	if err != nil {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		var pe *os.PathError
		if errors.As(err, &pe) { // a local write failure (disk full) is not the network's
			return n, fmt.Errorf("hub: %w", err)
		}
		return n, retryable{fmt.Errorf("hub: %s: %s: connection lost after %d bytes: %w",
			repo, filename, have+n, stalled(gctx, err, c.stallTimeout()))}
	}
	return n, nil
}

// stalled names the stall timer as the cause when it cancelled ctx.
func stalled(ctx context.Context, err error, d time.Duration) error {
	if ctx.Err() != nil {
		return fmt.Errorf("no data for %v", d)
	}
	return err
}

// contentRangeStart reads the first byte position of "bytes a-b/n".
func contentRangeStart(v string) (int64, bool) {
	v, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, false
	}
	a, _, ok := strings.Cut(v, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	return n, err == nil
}

// verify checks the finished file against the size and, for LFS files
// (whose etag is the sha256 of the content), the hash the Hub announced.
func verify(f *os.File, meta fileMeta) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if meta.size >= 0 && fi.Size() != meta.size {
		return fmt.Errorf("got %d bytes, want %d", fi.Size(), meta.size)
	}
	if !sha256RE.MatchString(meta.etag) {
		return nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != meta.etag {
		return fmt.Errorf("%w: sha256 %s, want %s", ErrChecksum, got, meta.etag)
	}
	return nil
}
