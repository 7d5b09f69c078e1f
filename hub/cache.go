package hub

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
)

var (
	repoRE    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$`)
	safeRE    = regexp.MustCompile(`^[A-Za-z0-9._-]+$`) // one path element from a header
	commitRE  = regexp.MustCompile(`^[0-9a-f]{40}$`)
	sha256RE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	symlinkFn = os.Symlink // replaced in tests to exercise the copy fallback
)

func checkRepo(repo string) error {
	if !repoRE.MatchString(repo) || strings.Contains(repo, "..") || strings.Contains(repo, "--") {
		return fmt.Errorf("hub: invalid repository id %q (want \"org/name\")", repo)
	}
	return nil
}

// checkRelPath accepts a clean relative slash path: a file name or a
// revision such as "refs/pr/1". It keeps both inside the cache.
func checkRelPath(what, p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, `\`) || path.Clean(p) != p {
		return fmt.Errorf("hub: invalid %s %q", what, p)
	}
	for _, e := range strings.Split(p, "/") {
		if e == ".." || e == "." {
			return fmt.Errorf("hub: invalid %s %q", what, p)
		}
	}
	return nil
}

func checkHeaderName(what, v string) error {
	if !safeRE.MatchString(v) || v == "." || v == ".." {
		return fmt.Errorf("hub: server sent an invalid %s %q", what, v)
	}
	return nil
}

// repoDir is the cache folder of a model repository: models--org--name.
func (c *Client) repoDir(repo string) string {
	return filepath.Join(c.cacheDir(), "models--"+strings.ReplaceAll(repo, "/", "--"))
}

func snapshotPath(repoDir, commit, filename string) string {
	return filepath.Join(repoDir, "snapshots", commit, filepath.FromSlash(filename))
}

// resolveCached finds filename in the cache without the network: revision
// is either a commit hash or a ref whose file names the commit.
func (c *Client) resolveCached(repo, revision, filename string) (p, commit string, err error) {
	dir := c.repoDir(repo)
	commit = revision
	if !commitRE.MatchString(revision) {
		b, err := os.ReadFile(filepath.Join(dir, "refs", filepath.FromSlash(revision)))
		if err != nil {
			return "", "", fmt.Errorf("hub: %s@%s: revision %w (no %s)", repo, revision, ErrNotCached,
				filepath.Join(dir, "refs", filepath.FromSlash(revision)))
		}
		commit = strings.TrimSpace(string(b))
		if !commitRE.MatchString(commit) {
			return "", "", fmt.Errorf("hub: %s@%s: ref file holds %q, not a commit hash", repo, revision, commit)
		}
	}
	p = snapshotPath(dir, commit, filename)
	if _, err := os.Stat(p); err != nil { // Stat follows the link: the blob must exist too
		return "", "", fmt.Errorf("hub: %s@%s: %s %w (no %s)", repo, revision, filename, ErrNotCached, p)
	}
	return p, commit, nil
}

// writeRef records that revision currently points at commit.
func writeRef(repoDir, revision, commit string) error {
	if revision == commit {
		return nil
	}
	p := filepath.Join(repoDir, "refs", filepath.FromSlash(revision))
	if b, err := os.ReadFile(p); err == nil && string(b) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if err := os.WriteFile(p, []byte(commit), 0o644); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	return nil
}

// linkSnapshot points the snapshot entry at its blob with a relative
// symlink, as huggingface_hub does, or copies the blob where symlinks are
// not allowed.
func linkSnapshot(blob, pointer string) error {
	if err := os.MkdirAll(filepath.Dir(pointer), 0o755); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if err := os.Remove(pointer); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("hub: %w", err)
	}
	rel, err := filepath.Rel(filepath.Dir(pointer), blob)
	if err == nil && symlinkFn(rel, pointer) == nil {
		return nil
	}
	return copyFile(blob, pointer)
}

// copyFile copies through a temporary name so that dst is never partial.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	defer in.Close()
	tmp := dst + ".incomplete"
	out, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("hub: copying %s: %w", src, err)
	}
	return nil
}
