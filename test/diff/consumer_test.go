package diff

import (
	"fmt"
	"testing"
	"time"
)

func streamS(extra M) cstep {
	cfg := M{"name": "S", "subjects": []string{"S.>"}, "storage": "memory"}
	for k, v := range extra {
		cfg[k] = v
	}
	return cstep{name: "stream", subj: "$JS.API.STREAM.CREATE.S", body: cfg}
}

func pubS(subj, data string) cstep {
	return cstep{name: "pub " + subj + " " + data, pub: true, subj: subj, data: data}
}

func next(name, consumer string, body any, d time.Duration) cstep {
	return cstep{name: name, subj: "$JS.API.CONSUMER.MSG.NEXT.S." + consumer, body: body, pull: d}
}

func cinfo(name, consumer string) cstep {
	return cstep{name: name, subj: "$JS.API.CONSUMER.INFO.S." + consumer}
}

func TestDiffConsumerLifecycle(t *testing.T) {
	runConsumerSteps(t, []cstep{
		streamS(nil),
		pubS("S.a", "1"), pubS("S.b", "2"), pubS("S.a", "3"),
		{name: "ephemeral legacy", subj: "$JS.API.CONSUMER.CREATE.S", body: M{"stream_name": "S", "config": M{}}, ignore: []string{"name"}},
		{name: "ephemeral legacy with durable", subj: "$JS.API.CONSUMER.CREATE.S", body: M{"stream_name": "S", "config": M{"durable_name": "D"}}},
		ccreate("named", "N", M{"name": "N"}, ""),
		ccreate("named, body without name", "N2", M{}, ""),
		ccreate("body name differs", "X", M{"name": "Y"}, ""),
		ccreate("durable differs", "X2", M{"durable_name": "Y"}, ""),
		ccreate("durable and name differ", "X3", M{"durable_name": "X3", "name": "Z"}, ""),
		{name: "legacy durable", subj: "$JS.API.CONSUMER.DURABLE.CREATE.S.D", body: M{"stream_name": "S", "config": M{"durable_name": "D", "ack_policy": "explicit"}}},
		{name: "legacy durable without name", subj: "$JS.API.CONSUMER.DURABLE.CREATE.S.D2", body: M{"stream_name": "S", "config": M{}}},
		{name: "legacy durable mismatch", subj: "$JS.API.CONSUMER.DURABLE.CREATE.S.D3", body: M{"stream_name": "S", "config": M{"durable_name": "Q"}}},
		{name: "filter in subject", subj: "$JS.API.CONSUMER.CREATE.S.F.S.a", body: M{"stream_name": "S", "config": M{"filter_subject": "S.a"}}},
		{name: "filter in subject mismatch", subj: "$JS.API.CONSUMER.CREATE.S.F2.S.a", body: M{"stream_name": "S", "config": M{"filter_subject": "S.b"}}},
		{name: "filter in subject, none in body", subj: "$JS.API.CONSUMER.CREATE.S.F3.S.a", body: M{"stream_name": "S", "config": M{}}},
		{name: "filter subjects with subject filter", subj: "$JS.API.CONSUMER.CREATE.S.F4.S.a", body: M{"stream_name": "S", "config": M{"filter_subjects": []string{"S.a", "S.b"}}}},
		ccreate("push", "P", M{"deliver_subject": "x.y"}, ""),
		ccreate("durable create", "C", M{"durable_name": "C", "ack_policy": "explicit"}, "create"),
		ccreate("durable create again", "C", M{"durable_name": "C", "ack_policy": "explicit"}, "create"),
		ccreate("durable create different", "C", M{"durable_name": "C", "ack_policy": "explicit", "description": "d"}, "create"),
		ccreate("update missing", "M", M{"name": "M"}, "update"),
		ccreate("update", "C", M{"durable_name": "C", "ack_policy": "explicit", "description": "d", "max_ack_pending": 5}, "update"),
		ccreate("update by default action", "C", M{"durable_name": "C", "ack_policy": "explicit", "description": "e"}, ""),
		ccreate("bad action", "C", M{"durable_name": "C"}, "frob"),
		{name: "no config", subj: "$JS.API.CONSUMER.CREATE.S.Z", body: M{"stream_name": "S"}},
		{name: "empty body", subj: "$JS.API.CONSUMER.CREATE.S.Z2"},
		{name: "stream name mismatch", subj: "$JS.API.CONSUMER.CREATE.S.Z3", body: M{"stream_name": "T", "config": M{}}},
		{name: "stream missing", subj: "$JS.API.CONSUMER.CREATE.T.Z", body: M{"stream_name": "T", "config": M{}}},
		{name: "unknown field", subj: "$JS.API.CONSUMER.CREATE.S.Z4", body: M{"stream_name": "S", "config": M{"bogus": 1}}},
		{name: "bad json", subj: "$JS.API.CONSUMER.CREATE.S.Z5", body: "{nope"},
		{name: "names", subj: "$JS.API.CONSUMER.NAMES.S", ignore: []string{"consumers"}},
		{name: "names offset", subj: "$JS.API.CONSUMER.NAMES.S", body: M{"offset": 100}},
		{name: "names missing stream", subj: "$JS.API.CONSUMER.NAMES.T"},
		{name: "list offset", subj: "$JS.API.CONSUMER.LIST.S", body: M{"offset": 12}},
		{name: "list missing stream", subj: "$JS.API.CONSUMER.LIST.T"},
		cinfo("info", "C"),
		cinfo("info missing", "NOPE"),
		{name: "info missing stream", subj: "$JS.API.CONSUMER.INFO.T.C"},
		{name: "delete", subj: "$JS.API.CONSUMER.DELETE.S.N"},
		{name: "delete again", subj: "$JS.API.CONSUMER.DELETE.S.N"},
		{name: "delete missing stream", subj: "$JS.API.CONSUMER.DELETE.T.N"},
		{name: "stepdown", subj: "$JS.API.CONSUMER.LEADER.STEPDOWN.S.C"},
		{name: "stepdown missing", subj: "$JS.API.CONSUMER.LEADER.STEPDOWN.S.NOPE"},
		{name: "stream info counts consumers", subj: "$JS.API.STREAM.INFO.S"},
		{name: "account info", subj: "$JS.API.INFO"},
		{name: "stream delete", subj: "$JS.API.STREAM.DELETE.S"},
		{name: "consumer gone with stream", subj: "$JS.API.CONSUMER.INFO.S.C"},
	})
}

// consumerConfigCases are single creates whose reply (defaults or error)
// must match.
var consumerConfigCases = []struct {
	name string
	cfg  M
}{
	{"explicit", M{"ack_policy": "explicit"}},
	{"all", M{"ack_policy": "all"}},
	{"ack wait negative", M{"ack_policy": "explicit", "ack_wait": -1}},
	{"ack wait with ack none", M{"ack_wait": 1e9}},
	{"backoff", M{"ack_policy": "explicit", "backoff": []int64{1e9, 2e9}, "max_deliver": 3}},
	{"backoff equal max deliver", M{"ack_policy": "explicit", "backoff": []int64{1e9, 2e9}, "max_deliver": 2}},
	{"backoff over max deliver", M{"ack_policy": "explicit", "backoff": []int64{1e9, 2e9, 3e9}, "max_deliver": 2}},
	{"backoff without max deliver", M{"ack_policy": "explicit", "backoff": []int64{1e9}}},
	{"backoff negative", M{"ack_policy": "explicit", "backoff": []int64{-1}, "max_deliver": 3}},
	{"backoff overrides ack wait", M{"ack_policy": "explicit", "backoff": []int64{1e9}, "max_deliver": 3, "ack_wait": 5e9}},
	{"max deliver 0", M{"max_deliver": 0}},
	{"max deliver negative", M{"max_deliver": -5}},
	{"max deliver 1", M{"max_deliver": 1}},
	{"max ack pending with ack none", M{"max_ack_pending": 10}},
	{"max ack pending -1", M{"ack_policy": "explicit", "max_ack_pending": -1}},
	{"max ack pending -5", M{"ack_policy": "explicit", "max_ack_pending": -5}},
	{"max waiting on push", M{"deliver_subject": "d", "max_waiting": 5}},
	{"max waiting negative", M{"max_waiting": -1}},
	{"heartbeat on pull", M{"idle_heartbeat": 1e9}},
	{"flow control on pull", M{"flow_control": true}},
	{"flow control without heartbeat", M{"deliver_subject": "d", "flow_control": true}},
	{"small heartbeat", M{"deliver_subject": "d", "idle_heartbeat": 50e6}},
	{"push flow control", M{"deliver_subject": "d", "flow_control": true, "idle_heartbeat": 1e9}},
	{"rate limit on pull", M{"rate_limit_bps": 1000}},
	{"rate limit on push", M{"deliver_subject": "d", "rate_limit_bps": 1000}},
	{"deliver subject wildcard", M{"deliver_subject": "d.*"}},
	{"deliver subject cycle", M{"deliver_subject": "S.x"}},
	{"deliver subject invalid", M{"deliver_subject": "d..x"}},
	{"deliver group", M{"deliver_subject": "d", "deliver_group": "g"}},
	{"deliver group on pull", M{"deliver_group": "g"}},
	{"filter outside stream", M{"filter_subject": "T.x"}},
	{"filter invalid", M{"filter_subject": "S..x"}},
	{"filter and filters", M{"filter_subject": "S.a", "filter_subjects": []string{"S.b"}}},
	{"filters with empty", M{"filter_subjects": []string{""}}},
	{"filters overlap", M{"filter_subjects": []string{"S.a", "S.*"}}},
	{"filters duplicate", M{"filter_subjects": []string{"S.a", "S.a"}}},
	{"one filter in filters", M{"filter_subjects": []string{"S.a"}}},
	{"filter full wildcard", M{"filter_subject": ">"}},
	{"sample", M{"ack_policy": "explicit", "sample_freq": "50%"}},
	{"sample bad", M{"ack_policy": "explicit", "sample_freq": "abc"}},
	{"sample number", M{"ack_policy": "explicit", "sample_freq": "30"}},
	{"max batch negative", M{"max_batch": -1}},
	{"max expires small", M{"max_expires": 1000}},
	{"max bytes negative", M{"max_bytes": -1}},
	{"pull limits", M{"max_batch": 5, "max_expires": 5e9, "max_bytes": 1024}},
	{"replicas 3", M{"num_replicas": 3}},
	{"replicas 1", M{"num_replicas": 1}},
	{"replicas negative", M{"num_replicas": -1}},
	{"mem storage", M{"mem_storage": true}},
	{"direct on pull", M{"direct": true}},
	{"headers only", M{"headers_only": true}},
	{"inactive threshold", M{"inactive_threshold": 2e9}},
	{"durable with inactive threshold", M{"durable_name": "DI", "inactive_threshold": 2e9}},
	{"durable", M{"durable_name": "DD", "ack_policy": "explicit"}},
	{"inactive threshold negative", M{"inactive_threshold": -1}},
	{"description too long", M{"description": string(make([]byte, 5000))}},
	{"metadata", M{"metadata": M{"a": "b"}}},
	{"replay original", M{"replay_policy": "original"}},
	{"bad replay policy", M{"replay_policy": "slow"}},
	{"bad ack policy", M{"ack_policy": "some"}},
	{"bad deliver policy", M{"deliver_policy": "sometimes"}},
	{"flow control ack on pull", M{"ack_policy": "flow_control"}},
	{"start time with deliver all", M{"opt_start_time": "2020-01-01T00:00:00Z"}},
	{"start seq with deliver all", M{"opt_start_seq": 2}},
	{"start seq and time", M{"deliver_policy": "by_start_sequence", "opt_start_seq": 1, "opt_start_time": "2020-01-01T00:00:00Z"}},
	{"start seq missing", M{"deliver_policy": "by_start_sequence"}},
	{"start time missing", M{"deliver_policy": "by_start_time"}},
	{"last with start seq", M{"deliver_policy": "last", "opt_start_seq": 1}},
	{"new with start time", M{"deliver_policy": "new", "opt_start_time": "2020-01-01T00:00:00Z"}},
	{"last per subject without filter", M{"deliver_policy": "last_per_subject"}},
	{"priority policy without groups", M{"priority_policy": "overflow"}},
	{"priority group empty name", M{"priority_groups": []string{""}, "priority_policy": "overflow"}},
	{"priority group long name", M{"priority_groups": []string{"toolongname_abcdefgh"}, "priority_policy": "overflow"}},
	{"priority groups on push", M{"priority_groups": []string{"A"}, "priority_policy": "overflow", "deliver_subject": "x"}},
	{"priority timeout with overflow", M{"priority_groups": []string{"A"}, "priority_policy": "overflow", "priority_timeout": 1e9}},
	{"priority groups without policy", M{"priority_groups": []string{"A"}}},
	{"priority timeout without policy", M{"priority_timeout": 1e9}},
	{"pinned defaults", M{"priority_groups": []string{"A"}, "priority_policy": "pinned_client"}},
	{"prioritized", M{"priority_groups": []string{"A"}, "priority_policy": "prioritized", "ack_policy": "explicit"}},
}

func TestDiffConsumerConfigs(t *testing.T) {
	steps := []cstep{streamS(nil), pubS("S.a", "1")}
	for i, tc := range consumerConfigCases {
		name := fmt.Sprintf("C%d", i)
		if n, ok := tc.cfg["durable_name"].(string); ok {
			name = n
		}
		steps = append(steps, ccreate(tc.name, name, tc.cfg, ""),
			cstep{name: tc.name + " (delete)", subj: "$JS.API.CONSUMER.DELETE.S." + name})
	}
	runConsumerSteps(t, steps)
}

func TestDiffConsumerUpdates(t *testing.T) {
	base := func(extra M) M {
		cfg := M{"durable_name": "U", "ack_policy": "explicit", "filter_subject": "S.a", "max_waiting": 10}
		for k, v := range extra {
			cfg[k] = v
		}
		return cfg
	}
	push := func(extra M) M {
		cfg := M{"durable_name": "P", "deliver_subject": "x", "idle_heartbeat": 1e9}
		for k, v := range extra {
			cfg[k] = v
		}
		return cfg
	}
	runConsumerSteps(t, []cstep{
		streamS(nil),
		ccreate("base", "U", base(nil), ""),
		ccreate("same", "U", base(nil), ""),
		ccreate("deliver policy", "U", base(M{"deliver_policy": "new"}), ""),
		ccreate("ack policy", "U", base(M{"ack_policy": "all"}), ""),
		ccreate("max waiting", "U", base(M{"max_waiting": 11}), ""),
		ccreate("max waiting default", "U", base(M{"max_waiting": nil}), ""),
		ccreate("filter", "U", base(M{"filter_subject": "S.b"}), ""),
		ccreate("to push", "U", base(M{"deliver_subject": "y"}), ""),
		ccreate("replay", "U", base(M{"replay_policy": "original"}), ""),
		ccreate("mem storage", "U", base(M{"mem_storage": true}), ""),
		ccreate("ack wait", "U", base(M{"ack_wait": 5e9}), ""),
		ccreate("start seq", "U", base(M{"deliver_policy": "by_start_sequence", "opt_start_seq": 4}), ""),
		ccreate("metadata", "U", base(M{"metadata": M{"x": "y"}}), ""),
		ccreate("inactive threshold", "U", base(M{"inactive_threshold": 5e9}), ""),
		ccreate("replicas", "U", base(M{"num_replicas": 1}), ""),
		ccreate("max deliver and backoff", "U", base(M{"max_deliver": 5, "backoff": []int64{1e9, 2e9}}), ""),
		ccreate("push base", "P", push(nil), ""),
		ccreate("push heartbeat", "P", push(M{"idle_heartbeat": 2e9}), ""),
		ccreate("push subject", "P", push(M{"deliver_subject": "y"}), ""),
		ccreate("push flow control", "P", push(M{"flow_control": true}), ""),
		ccreate("push to pull", "P", M{"durable_name": "P"}, ""),
		ccreate("push rate", "P", push(M{"rate_limit_bps": 100}), ""),
		cinfo("info U", "U"),
		cinfo("info P", "P"),
	})
}

func TestDiffConsumerStart(t *testing.T) {
	runConsumerSteps(t, []cstep{
		streamS(nil),
		pubS("S.a", "1"), pubS("S.b", "2"), pubS("S.a", "3"), pubS("S.c", "4"), pubS("S.b", "5"),
		ccreate("last", "L", M{"deliver_policy": "last"}, ""),
		ccreate("last filtered", "LF", M{"deliver_policy": "last", "filter_subject": "S.a"}, ""),
		ccreate("last filtered no match", "LN", M{"deliver_policy": "last", "filter_subject": "S.z"}, ""),
		ccreate("new", "N", M{"deliver_policy": "new"}, ""),
		ccreate("start seq", "Q", M{"deliver_policy": "by_start_sequence", "opt_start_seq": 3}, ""),
		ccreate("start seq filtered", "QF", M{"deliver_policy": "by_start_sequence", "opt_start_seq": 3, "filter_subject": "S.b"}, ""),
		ccreate("start seq past end", "QB", M{"deliver_policy": "by_start_sequence", "opt_start_seq": 100}, ""),
		ccreate("last per subject", "LPS", M{"deliver_policy": "last_per_subject", "filter_subject": "S.>"}, ""),
		next("last per subject pull", "LPS", M{"batch": 10, "no_wait": true}, 300*time.Millisecond),
		cinfo("last per subject after", "LPS"),
		ccreate("start time", "T", M{"deliver_policy": "by_start_time", "opt_start_time": "2000-01-01T00:00:00Z"}, ""),
		ccreate("start time future", "TF", M{"deliver_policy": "by_start_time", "opt_start_time": "2100-01-01T00:00:00Z"}, ""),
		ccreate("filters", "MF", M{"filter_subjects": []string{"S.a", "S.c"}}, ""),
		next("filters pull", "MF", M{"batch": 10, "no_wait": true}, 300*time.Millisecond),
		pubS("S.a", "6"),
		cinfo("last after publish", "L"),
		cinfo("filters after publish", "MF"),
		{name: "purge all", subj: "$JS.API.STREAM.PURGE.S"},
		cinfo("filters after purge", "MF"),
		cinfo("new after purge", "N"),
		cinfo("start seq after purge", "QB"),
	})
}
