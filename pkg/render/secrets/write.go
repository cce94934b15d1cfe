package secrets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// writeNew writes content (ciphertext only) to path atomically with mode
// 0600, and never over an existing file: it writes a temporary file beside
// path, syncs it, and hard-links it to path, which fails if path exists
// (where hard links are missing, it renames after checking path is free).
// The temporary file's name does not end in .yaml, so Flux never reads one
// left by a crash.
func writeNew(path string, content []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if rerr := os.Remove(tmp); err == nil && rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
			err = rerr
		}
	}()
	_, werr := f.Write(content)
	err = errors.Join(werr, f.Chmod(0o600), f.Sync(), f.Close())
	if err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s appeared while writing; left as it is", path)
		}
		// A file system without hard links: rename, after a last look.
		if _, serr := os.Lstat(path); !errors.Is(serr, os.ErrNotExist) {
			return fmt.Errorf("%s appeared while writing; left as it is", path)
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
