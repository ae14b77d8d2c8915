package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// PutNodes implements NodeStore: one hash field per control plane and node,
// holding its status as JSON.
func (s *RedisStore) PutNodes(ctx context.Context, nodes []NodeStatus) error {
	if len(nodes) == 0 {
		return nil
	}
	fields := make([]any, 0, 2*len(nodes))
	for _, n := range nodes {
		b, err := json.Marshal(n)
		if err != nil {
			return fmt.Errorf("redis store: node %q: %w", n.ID, err)
		}
		fields = append(fields, nodeField(n), b)
	}
	if err := s.rdb.HSet(ctx, s.nodesKey(), fields...).Err(); err != nil {
		return fmt.Errorf("redis store: put nodes: %w", err)
	}
	return nil
}

// Nodes implements NodeStore. Whoever reads drops the expired reports, so
// the hash holds no more than the nodes of the last expiry.
func (s *RedisStore) Nodes(ctx context.Context, now time.Time, expiry time.Duration) ([]NodeStatus, error) {
	all, err := s.rdb.HGetAll(ctx, s.nodesKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("redis store: nodes: %w", err)
	}
	out := make([]NodeStatus, 0, len(all))
	var gone []string
	for field, v := range all {
		var n NodeStatus
		if err := json.Unmarshal([]byte(v), &n); err != nil || departed(n, now, expiry) {
			gone = append(gone, field) // a record no version of this code can read is dropped too
			continue
		}
		out = append(out, n)
	}
	if len(gone) > 0 {
		if err := s.rdb.HDel(ctx, s.nodesKey(), gone...).Err(); err != nil {
			s.opts.Logger.Warn("redis store: drop expired nodes", "err", err)
		}
	}
	return out, nil
}

// AppendAudit implements AuditStore: a list, newest first, trimmed to max
// in the same transaction.
func (s *RedisStore) AppendAudit(ctx context.Context, e AuditEntry, max int) error {
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("redis store: audit entry: %w", err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.LPush(ctx, s.auditKey(), b)
		if max > 0 {
			p.LTrim(ctx, s.auditKey(), 0, int64(max-1))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis store: append audit: %w", err)
	}
	return nil
}

// Audit implements AuditStore.
func (s *RedisStore) Audit(ctx context.Context, limit int) ([]AuditEntry, error) {
	if limit <= 0 {
		return nil, nil
	}
	vs, err := s.rdb.LRange(ctx, s.auditKey(), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("redis store: audit: %w", err)
	}
	out := make([]AuditEntry, 0, len(vs))
	for _, v := range vs {
		var e AuditEntry
		if err := json.Unmarshal([]byte(v), &e); err != nil {
			return nil, fmt.Errorf("redis store: audit entry %q: %w", v, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *RedisStore) nodesKey() string { return s.opts.Prefix + "nodes" }
func (s *RedisStore) auditKey() string { return s.opts.Prefix + "audit" }
