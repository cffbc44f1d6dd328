package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// serverCollector exports the /varz counters at scrape time, so the hot
// path pays nothing for Prometheus.
type serverCollector struct {
	s     *Server
	descs map[string]*prometheus.Desc
}

var metricDefs = []struct {
	name, help string
	counter    bool
}{
	{"connections", "Current client connections.", false},
	{"total_connections", "Client connections accepted since start.", true},
	{"subscriptions", "Current subscriptions across accounts.", false},
	{"in_msgs", "Messages received from clients.", true},
	{"out_msgs", "Messages sent to clients.", true},
	{"in_bytes", "Payload bytes received from clients.", true},
	{"out_bytes", "Payload bytes sent to clients.", true},
	{"slow_consumers", "Connections closed as slow consumers.", true},
	{"mem_bytes", "Resident memory of the process.", false},
	{"cpu_percent", "CPU use of the process.", false},
	{"uptime_seconds", "Seconds since the server started.", false},
}

func newServerCollector(s *Server) *serverCollector {
	c := &serverCollector{s: s, descs: map[string]*prometheus.Desc{}}
	for _, d := range metricDefs {
		name := "hangar_server_" + d.name
		if d.counter {
			name += "_total"
		}
		c.descs[d.name] = prometheus.NewDesc(name, d.help, nil, prometheus.Labels{"server_id": s.id, "server_name": s.name})
	}
	return c
}

func (c *serverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *serverCollector) Collect(ch chan<- prometheus.Metric) {
	v := c.s.Varz()
	vals := map[string]float64{
		"connections": float64(v.Connections), "total_connections": float64(v.TotalConnections),
		"subscriptions": float64(v.Subscriptions), "in_msgs": float64(v.InMsgs), "out_msgs": float64(v.OutMsgs),
		"in_bytes": float64(v.InBytes), "out_bytes": float64(v.OutBytes), "slow_consumers": float64(v.SlowConsumers),
		"mem_bytes": float64(v.Mem), "cpu_percent": v.CPU, "uptime_seconds": v.Now.Sub(v.Start).Seconds(),
	}
	for _, d := range metricDefs {
		t := prometheus.GaugeValue
		if d.counter {
			t = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(c.descs[d.name], t, vals[d.name])
	}
}

// MetricsRegistry returns the server's Prometheus registry; extensions
// register their collectors on it.
func (s *Server) MetricsRegistry() *prometheus.Registry { return s.metricsRegistry() }

func (s *Server) metricsRegistry() *prometheus.Registry {
	s.regOnce.Do(func() {
		r := prometheus.NewRegistry()
		r.MustRegister(newServerCollector(s), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		s.registry = r
	})
	return s.registry
}
