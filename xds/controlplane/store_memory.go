package controlplane

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// MemoryStore keeps policies in memory: they are lost when the process
// stops. It is the store of tests and of a control plane run without one.
type MemoryStore struct {
	localShared
	mu       sync.Mutex
	contents Contents
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{} }

// Load implements Store.
func (m *MemoryStore) Load(context.Context) (Contents, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Contents{Revision: m.contents.Revision, Records: append([]Record(nil), m.contents.Records...)}, nil
}

// Put implements Store.
func (m *MemoryStore) Put(_ context.Context, domain, yaml string, expected int64) (Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, rec, err := putRecord(m.contents, domain, yaml, expected)
	if err != nil {
		return Record{}, err
	}
	m.contents = c
	return rec, nil
}

// Delete implements Store.
func (m *MemoryStore) Delete(_ context.Context, domain string, expected int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, err := deleteRecord(m.contents, domain, expected)
	if err != nil {
		return 0, err
	}
	m.contents = c
	return c.Revision, nil
}

// Watch implements Store. Writers sharing a MemoryStore are in one process
// and reload after their own writes, so only the start is a change.
func (m *MemoryStore) Watch(ctx context.Context, changed func()) {
	changed()
	<-ctx.Done()
}

// Close implements Store.
func (m *MemoryStore) Close() error { return nil }

// putRecord returns c with domain written at the next revision. It does not
// modify c.
func putRecord(c Contents, domain, yaml string, expected int64) (Contents, Record, error) {
	i, found := findRecord(c.Records, domain)
	var cur int64
	if found {
		cur = c.Records[i].Version
	}
	if err := checkVersion(domain, expected, cur); err != nil {
		return c, Record{}, err
	}
	rec := Record{Domain: domain, YAML: yaml, Version: c.Revision + 1}
	out := Contents{Revision: rec.Version, Records: make([]Record, 0, len(c.Records)+1)}
	out.Records = append(out.Records, c.Records[:i]...)
	out.Records = append(out.Records, rec)
	if found {
		i++
	}
	out.Records = append(out.Records, c.Records[i:]...)
	return out, rec, nil
}

// deleteRecord returns c without domain, at the next revision.
func deleteRecord(c Contents, domain string, expected int64) (Contents, error) {
	i, found := findRecord(c.Records, domain)
	if !found {
		return c, fmt.Errorf("domain %q: %w", domain, ErrNotFound)
	}
	if err := checkVersion(domain, expected, c.Records[i].Version); err != nil {
		return c, err
	}
	out := Contents{Revision: c.Revision + 1, Records: make([]Record, 0, len(c.Records)-1)}
	out.Records = append(out.Records, c.Records[:i]...)
	out.Records = append(out.Records, c.Records[i+1:]...)
	return out, nil
}

func findRecord(rs []Record, domain string) (int, bool) {
	i := sort.Search(len(rs), func(i int) bool { return rs[i].Domain >= domain })
	return i, i < len(rs) && rs[i].Domain == domain
}
