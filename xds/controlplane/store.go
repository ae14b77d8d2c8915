package controlplane

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Record is one domain's policies as written through the admin API.
type Record struct {
	Domain string `json:"domain"`
	YAML   string `json:"yaml"`
	// Version is the store revision of the write that produced the record:
	// the domain's ETag.
	Version int64 `json:"version"`
}

// Contents is everything a store holds at one revision.
type Contents struct {
	// Revision counts writes to the store; every replica reading the same
	// store sees the same revision for the same contents.
	Revision int64    `json:"revision"`
	Records  []Record `json:"policies"` // sorted by domain
}

// AnyVersion as the expected version of Put or Delete skips the check.
const AnyVersion int64 = -1

var (
	// ErrNotFound: the domain is not in the store.
	ErrNotFound = errors.New("not in the store")
	// ErrVersionMismatch: the domain's version is not the one expected.
	ErrVersionMismatch = errors.New("version mismatch")
)

// VersionError reports a failed precondition and the version actually found
// (0 when the domain does not exist). It matches ErrVersionMismatch.
type VersionError struct {
	Domain          string
	Expected, Found int64
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("domain %q is at version %d, not %d", e.Domain, e.Found, e.Expected)
}

func (e *VersionError) Is(target error) bool { return target == ErrVersionMismatch }

// A Store keeps the admin API's policies durably, so that they survive a
// control-plane restart and are shared by the replicas that use the same
// store.
type Store interface {
	// Load returns the whole store at one revision.
	Load(ctx context.Context) (Contents, error)
	// Put writes a domain's YAML if its current version is expected (0: the
	// domain must not exist; AnyVersion: no check) and returns the new record.
	Put(ctx context.Context, domain, yaml string, expected int64) (Record, error)
	// Delete removes a domain if its current version is expected (AnyVersion:
	// no check) and returns the new revision.
	Delete(ctx context.Context, domain string, expected int64) (int64, error)
	// Watch calls changed whenever another writer may have changed the store,
	// and once at the start for writes made before it, until ctx is done.
	Watch(ctx context.Context, changed func())
	Close() error
}

// OpenStore opens the store a --store flag names: "redis://..." or
// "rediss://..." for Redis, "file:PATH" or a bare path for a local file,
// "memory:" for a store that does not survive a restart.
func OpenStore(spec string) (Store, error) {
	switch {
	case strings.HasPrefix(spec, "redis") && strings.Contains(spec, "://"):
		return OpenRedisStore(spec)
	case spec == "memory:" || spec == "":
		return NewMemoryStore(), nil
	default:
		return NewFileStore(strings.TrimPrefix(spec, "file:"), FileStoreOptions{})
	}
}

// checkVersion compares a domain's current version (0 when absent) with the
// expected one.
func checkVersion(domain string, expected, found int64) error {
	if expected == AnyVersion || expected == found {
		return nil
	}
	return &VersionError{Domain: domain, Expected: expected, Found: found}
}
