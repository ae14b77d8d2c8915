package controlplane

import (
	"context"
	"sync"
	"time"

	"github.com/floodgate/floodgate/internal/globallink"
)

// datacentersTimeout bounds reading the global tier for one status: a
// global tier that does not answer must not hold the status page.
const datacentersTimeout = time.Second

// datacentersFresh is how long one read of the global tier serves: a
// dashboard refresh asks for the status several times, and a global tier
// that does not answer would hold each of them for datacentersTimeout.
const datacentersFresh = 500 * time.Millisecond

// datacentersRead is the last read of the global tier. Its mutex is held
// through a read, so that callers meanwhile wait for it rather than read
// again.
type datacentersRead struct {
	mu  sync.Mutex
	at  time.Time
	dcs []globallink.Datacenter
	err string
}

// readDatacenters fills st's datacenters from the global tier, or says
// why it could not.
func (s *Server) readDatacenters(ctx context.Context, st *Status) {
	if s.opts.Datacenters == nil {
		return
	}
	r := &s.datacenters
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.at.IsZero() || time.Since(r.at) >= datacentersFresh {
		ctx, cancel := context.WithTimeout(ctx, datacentersTimeout)
		defer cancel()
		dcs, err := s.opts.Datacenters(ctx)
		r.dcs, r.err, r.at = dcs, "", time.Now()
		if err != nil {
			r.err = err.Error()
		}
		if r.dcs == nil {
			r.dcs = []globallink.Datacenter{}
		}
	}
	st.Datacenters, st.DatacentersError = r.dcs, r.err
}
