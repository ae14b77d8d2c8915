package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// FileStoreOptions tunes a FileStore; the zero value works.
type FileStoreOptions struct {
	// PollInterval is how often Watch looks for writes by another process.
	// Default 1s.
	PollInterval time.Duration
}

func (o FileStoreOptions) withDefaults() FileStoreOptions {
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	return o
}

// FileStore keeps policies in one local JSON file. Every write replaces the
// file atomically (write, fsync, rename), so a crash leaves either the old
// or the new contents. It serves one control plane; replicas that must agree
// share a RedisStore instead. The audit log is kept in the same file; node
// reports stay in memory.
type FileStore struct {
	localShared
	path string
	opts FileStoreOptions
	mu   sync.Mutex // serializes read-modify-write within this process
}

// NewFileStore opens the store at path, creating its directory if needed.
// A missing file is an empty store.
func NewFileStore(path string, opts FileStoreOptions) (*FileStore, error) {
	if path == "" {
		return nil, errors.New("file store: empty path")
	}
	opts = opts.withDefaults()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("file store %s: %w", path, err)
	}
	s := &FileStore{path: path, opts: opts}
	if _, err := s.read(); err != nil {
		return nil, err
	}
	return s, nil
}

// Load implements Store.
func (s *FileStore) Load(context.Context) (Contents, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.read()
}

// Put implements Store.
func (s *FileStore) Put(_ context.Context, domain, yaml string, expected int64) (Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.readFile()
	if err != nil {
		return Record{}, err
	}
	c, rec, err := putRecord(d.Contents, domain, yaml, expected)
	if err != nil {
		return Record{}, err
	}
	d.Contents = c
	return rec, s.write(d)
}

// Delete implements Store.
func (s *FileStore) Delete(_ context.Context, domain string, expected int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.readFile()
	if err != nil {
		return 0, err
	}
	c, err := deleteRecord(d.Contents, domain, expected)
	if err != nil {
		return 0, err
	}
	d.Contents = c
	return c.Revision, s.write(d)
}

// Watch implements Store by polling the file's revision, so that an edit by
// another process (a restore, a second control plane on the same disk) is
// noticed.
func (s *FileStore) Watch(ctx context.Context, changed func()) {
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	last := int64(-1)
	for {
		c, err := s.Load(ctx)
		// The first read counts as a change too: a write may have come
		// between the caller's last Load and this Watch.
		if err == nil && c.Revision != last {
			changed()
			last = c.Revision
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close implements Store.
func (s *FileStore) Close() error { return nil }

// fileData is the file: the policies and, after them, the audit log
// (oldest first), which a file written before it lacks.
type fileData struct {
	Contents
	Audit []AuditEntry `json:"audit,omitempty"`
}

func (s *FileStore) read() (Contents, error) {
	d, err := s.readFile()
	return d.Contents, err
}

func (s *FileStore) readFile() (fileData, error) {
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileData{}, nil
	}
	if err != nil {
		return fileData{}, fmt.Errorf("file store: %w", err)
	}
	var d fileData
	if err := json.Unmarshal(b, &d); err != nil {
		return fileData{}, fmt.Errorf("file store %s: %w", s.path, err)
	}
	return d, nil
}

// AppendAudit implements AuditStore.
func (s *FileStore) AppendAudit(_ context.Context, e AuditEntry, max int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.readFile()
	if err != nil {
		return err
	}
	d.Audit = append(d.Audit, e)
	if over := len(d.Audit) - max; max > 0 && over > 0 {
		d.Audit = d.Audit[over:]
	}
	return s.write(d)
}

// Audit implements AuditStore.
func (s *FileStore) Audit(_ context.Context, limit int) ([]AuditEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.readFile()
	if err != nil {
		return nil, err
	}
	out := make([]AuditEntry, 0, min(limit, len(d.Audit)))
	for i := len(d.Audit) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, d.Audit[i])
	}
	return out, nil
}

func (s *FileStore) write(d fileData) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("file store: %w", err)
	}
	dir := filepath.Dir(s.path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.path)+".*")
	if err != nil {
		return fmt.Errorf("file store: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("file store %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("file store %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("file store %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("file store: %w", err)
	}
	// The rename is durable only once the directory is synced.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
