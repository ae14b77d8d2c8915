package controlplane

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/floodgate/floodgate/internal/globallink"
)

// The fleet's versions as Prometheus series, read from Status at each
// scrape: a version is a label value, so only the versions in force now
// are series, and a node that expires from the status leaves them.
var (
	versionDesc = prometheus.NewDesc("floodgate_xds_version_info",
		"The snapshot version this control plane serves (always 1).", []string{"version"}, nil)
	nodeVersionDesc = prometheus.NewDesc("floodgate_xds_node_version_info",
		"The version last sent to a node and the one it acked, by resource type (always 1).",
		[]string{"node", "type_url", "state", "version"}, nil)
	nodeNackedDesc = prometheus.NewDesc("floodgate_xds_node_nacked",
		"1 while a node rejects the last version it answered, by resource type.", []string{"node", "type_url"}, nil)
	nodeStreamsDesc = prometheus.NewDesc("floodgate_xds_node_streams",
		"xDS streams a node has open, on every control plane sharing the store.", []string{"node"}, nil)
	datacenterUpDesc = prometheus.NewDesc("floodgate_global_datacenter_up",
		"1 while a datacenter's engines report it in contact with the global tier, 0 when cut off or silent (--global-redis).",
		[]string{"datacenter"}, nil)
	datacenterReportAgeDesc = prometheus.NewDesc("floodgate_global_datacenter_report_age_seconds",
		"Age of a datacenter's newest report in the global tier: it grows while the datacenter is cut off or down.",
		[]string{"datacenter"}, nil)
)

// StatusCollector is a Prometheus collector of the versions /v1/status
// shows: the one served, and each node's sent and acked versions; and,
// with ServerOptions.Datacenters, each datacenter's link to the global
// tier.
func (s *Server) StatusCollector() prometheus.Collector { return statusCollector{s} }

type statusCollector struct{ s *Server }

func (c statusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- versionDesc
	ch <- nodeVersionDesc
	ch <- nodeNackedDesc
	ch <- nodeStreamsDesc
	ch <- datacenterUpDesc
	ch <- datacenterReportAgeDesc
}

func (c statusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Status()
	ch <- prometheus.MustNewConstMetric(versionDesc, prometheus.GaugeValue, 1, st.Version)
	for _, d := range st.Datacenters {
		up := 0.0
		if d.Link == globallink.LinkUp {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(datacenterUpDesc, prometheus.GaugeValue, up, d.Datacenter)
		ch <- prometheus.MustNewConstMetric(datacenterReportAgeDesc, prometheus.GaugeValue, d.ReportAge, d.Datacenter)
	}
	for _, n := range st.Nodes {
		ch <- prometheus.MustNewConstMetric(nodeStreamsDesc, prometheus.GaugeValue, float64(n.Streams), n.ID)
		for typ, t := range n.Types {
			if t.SentVersion != "" {
				ch <- prometheus.MustNewConstMetric(nodeVersionDesc, prometheus.GaugeValue, 1, n.ID, typ, "sent", t.SentVersion)
			}
			if t.AckedVersion != "" {
				ch <- prometheus.MustNewConstMetric(nodeVersionDesc, prometheus.GaugeValue, 1, n.ID, typ, "acked", t.AckedVersion)
			}
			nacked := 0.0
			if t.Nacked {
				nacked = 1
			}
			ch <- prometheus.MustNewConstMetric(nodeNackedDesc, prometheus.GaugeValue, nacked, n.ID, typ)
		}
	}
}
