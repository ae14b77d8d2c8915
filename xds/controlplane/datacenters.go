package controlplane

import (
	"context"
	"time"

	"github.com/floodgate/floodgate/internal/globallink"
)

// datacentersTimeout bounds reading the global tier for one status: a
// global tier that does not answer must not hold the status page.
const datacentersTimeout = time.Second

// readDatacenters fills st's datacenters from the global tier, or says
// why it could not.
func (s *Server) readDatacenters(ctx context.Context, st *Status) {
	if s.opts.Datacenters == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, datacentersTimeout)
	defer cancel()
	dcs, err := s.opts.Datacenters(ctx)
	if err != nil {
		st.DatacentersError = err.Error()
	}
	if dcs == nil {
		dcs = []globallink.Datacenter{}
	}
	st.Datacenters = dcs
}
