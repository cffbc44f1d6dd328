package jetstream

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/hangar-mq/hangar/core/jsapi"
	"github.com/hangar-mq/hangar/core/server"
	"github.com/prometheus/client_golang/prometheus"
)

// JSConfig is the config section of /jsz and /varz.
type JSConfig struct {
	MaxMemory    int64         `json:"max_memory"`
	MaxStore     int64         `json:"max_storage"`
	StoreDir     string        `json:"store_dir,omitempty"`
	SyncInterval time.Duration `json:"sync_interval,omitempty"`
	SyncAlways   bool          `json:"sync_always,omitempty"`
	Domain       string        `json:"domain,omitempty"`
	CompressOK   bool          `json:"compress_ok,omitempty"`
	Strict       bool          `json:"strict,omitempty"`
	Backend      string        `json:"hangar_backend,omitempty"`
}

// JSStats are the usage counters of /jsz and /varz.
type JSStats struct {
	Memory         uint64         `json:"memory"`
	Store          uint64         `json:"storage"`
	ReservedMemory uint64         `json:"reserved_memory"`
	ReservedStore  uint64         `json:"reserved_storage"`
	Accounts       int            `json:"accounts"`
	HAResources    int            `json:"ha_assets"`
	API            jsapi.APIStats `json:"api"`
}

// StreamDetail is one stream in /jsz?streams=true.
type StreamDetail struct {
	Name    string                    `json:"name"`
	Created time.Time                 `json:"created"`
	Cluster *jsapi.ClusterInfo        `json:"cluster,omitempty"`
	Config  *jsapi.StreamConfig       `json:"config,omitempty"`
	State   jsapi.StreamState         `json:"state"`
	Mirror  *jsapi.StreamSourceInfo   `json:"mirror,omitempty"`
	Sources []*jsapi.StreamSourceInfo `json:"sources,omitempty"`
}

// AccountDetail is one account in /jsz?accounts=true.
type AccountDetail struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	jsapi.AccountStats
	Streams []StreamDetail `json:"stream_detail,omitempty"`
}

// JSInfo is the /jsz document.
type JSInfo struct {
	ID       string    `json:"server_id"`
	Now      time.Time `json:"now"`
	Disabled bool      `json:"disabled,omitempty"`
	Config   JSConfig  `json:"config,omitempty"`
	JSStats
	Streams   int              `json:"streams"`
	Consumers int              `json:"consumers"`
	Messages  uint64           `json:"messages"`
	Bytes     uint64           `json:"bytes"`
	Total     int              `json:"total,omitempty"`
	Offset    int              `json:"offset,omitempty"`
	Limit     int              `json:"limit,omitempty"`
	Accounts  []*AccountDetail `json:"account_details,omitempty"`
}

func (rt *Runtime) jsConfig() JSConfig {
	c := JSConfig{MaxMemory: rt.cfg.MaxMemory, MaxStore: rt.cfg.MaxStore, StoreDir: rt.cfg.StoreDir,
		Domain: rt.cfg.Domain, CompressOK: true, Strict: rt.cfg.Strict, Backend: rt.cfg.Backend,
		SyncAlways: rt.cfg.Sync.Always, SyncInterval: rt.cfg.Sync.Interval}
	return c
}

func (rt *Runtime) jsStats() JSStats {
	st := JSStats{API: jsapi.APIStats{Level: APILevel, Total: rt.apiTotal.Load(), Errors: rt.apiErrors.Load(), Inflight: uint64(max(rt.inflight.Load(), 0))}}
	for _, ja := range rt.accountList() {
		u := ja.usage()
		st.Memory += u.mem
		st.Store += u.store
		st.ReservedMemory += u.resMem
		st.ReservedStore += u.resStore
		st.Accounts++
	}
	return st
}

// JSZ builds /jsz.
func (rt *Runtime) JSZ(accounts, streams, config bool, accFilter string) *JSInfo {
	info := &JSInfo{ID: rt.srv.ID(), Now: time.Now().UTC(), JSStats: rt.jsStats()}
	if config {
		info.Config = rt.jsConfig()
	}
	for _, ja := range rt.accountList() {
		var ad *AccountDetail
		if (accounts || streams) && (accFilter == "" || accFilter == ja.name) {
			ad = &AccountDetail{Name: ja.name, ID: ja.name, AccountStats: *ja.stats()}
			info.Accounts = append(info.Accounts, ad)
		}
		for _, s := range ja.streamList() {
			st := s.fastState()
			info.Streams++
			info.Consumers += s.numConsumers()
			info.Messages += st.Msgs
			info.Bytes += st.Bytes
			if ad != nil && streams {
				sd := StreamDetail{Name: s.name, Created: s.created, State: apiState(&st),
					Cluster: &jsapi.ClusterInfo{Leader: rt.srv.Name()}}
				sd.State.Consumers = s.numConsumers()
				if config {
					c := s.reportedConfig(s.config())
					sd.Config = &c
				}
				ad.Streams = append(ad.Streams, sd)
			}
		}
	}
	return info
}

// registerMonitoring adds /jsz, the varz section, health and Prometheus.
func (rt *Runtime) registerMonitoring() {
	s := rt.srv
	s.HandleHTTP("/jsz", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		b := func(k string) bool { v, _ := strconv.ParseBool(q.Get(k)); return v }
		info := rt.JSZ(b("accounts"), b("streams") || b("consumers"), b("config"), q.Get("acc"))
		w.Header().Set("Content-Type", "application/json")
		out, _ := json.MarshalIndent(info, "", "  ")
		w.Write(out)
	})
	s.SetVarzJetStream(func() any {
		return map[string]any{
			"config": rt.jsConfig(),
			"stats":  rt.jsStats(),
			"limits": map[string]any{
				"max_request_batch":    rt.cfg.Limits.MaxRequestBatch,
				"max_ack_pending":      rt.cfg.Limits.MaxAckPending,
				"max_ha_assets":        rt.cfg.Limits.MaxHAAssets,
				"max_duplicate_window": rt.cfg.Limits.MaxDuplicateWindow,
			},
		}
	})
	s.AddHealthCheck(func(r *http.Request) *server.HealthError {
		if rt.ctx.Err() != nil {
			return &server.HealthError{Type: "JetStream", Error: "JetStream is not running"}
		}
		return nil
	})
	s.MetricsRegistry().Register(&streamCollector{rt: rt})
	// $SYS.REQ.SERVER.PING.JSZ and friends (nats server report jetstream).
	s.RegisterSysHandler("JSZ", true, func(acc string, body []byte) (any, error) {
		var o struct {
			Accounts bool   `json:"accounts"`
			Streams  bool   `json:"streams"`
			Consumer bool   `json:"consumer"`
			Config   bool   `json:"config"`
			Account  string `json:"account"`
		}
		if len(body) > 0 {
			json.Unmarshal(body, &o)
		}
		if acc != "" {
			o.Account, o.Accounts = acc, true
		}
		return rt.JSZ(o.Accounts, o.Streams || o.Consumer, o.Config, o.Account), nil
	})
}

var (
	descMsgs      = prometheus.NewDesc("hangar_jetstream_stream_messages", "Messages in the stream.", []string{"account", "stream"}, nil)
	descBytes     = prometheus.NewDesc("hangar_jetstream_stream_bytes", "Bytes in the stream.", []string{"account", "stream"}, nil)
	descConsumers = prometheus.NewDesc("hangar_jetstream_stream_consumers", "Consumers of the stream.", []string{"account", "stream"}, nil)
	descLastSeq   = prometheus.NewDesc("hangar_jetstream_stream_last_seq", "Last sequence of the stream.", []string{"account", "stream"}, nil)
	descAPI       = prometheus.NewDesc("hangar_jetstream_api_requests_total", "JetStream API requests.", nil, nil)
	descAPIErrs   = prometheus.NewDesc("hangar_jetstream_api_errors_total", "JetStream API requests that failed.", nil, nil)
)

// streamCollector reports stream gauges at scrape time.
type streamCollector struct{ rt *Runtime }

func (c *streamCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descMsgs, descBytes, descConsumers, descLastSeq, descAPI, descAPIErrs} {
		ch <- d
	}
}

func (c *streamCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descAPI, prometheus.CounterValue, float64(c.rt.apiTotal.Load()))
	ch <- prometheus.MustNewConstMetric(descAPIErrs, prometheus.CounterValue, float64(c.rt.apiErrors.Load()))
	for _, ja := range c.rt.accountList() {
		for _, s := range ja.streamList() {
			st := s.fastState()
			ch <- prometheus.MustNewConstMetric(descMsgs, prometheus.GaugeValue, float64(st.Msgs), ja.name, s.name)
			ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(st.Bytes), ja.name, s.name)
			ch <- prometheus.MustNewConstMetric(descConsumers, prometheus.GaugeValue, float64(s.numConsumers()), ja.name, s.name)
			ch <- prometheus.MustNewConstMetric(descLastSeq, prometheus.GaugeValue, float64(st.LastSeq), ja.name, s.name)
		}
	}
}
