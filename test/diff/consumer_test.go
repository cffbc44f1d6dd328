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
		ccreate("named create", "NC", M{"name": "NC"}, "create"),
		ccreate("named create again", "NC", M{"name": "NC"}, "create"),
		ccreate("named create, own threshold", "NI", M{"name": "NI", "inactive_threshold": 10e9}, "create"),
		ccreate("named create again, own threshold", "NI", M{"name": "NI", "inactive_threshold": 10e9}, "create"),
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
		{name: "limited stream", subj: "$JS.API.STREAM.CREATE.T", body: M{"name": "T", "subjects": []string{"T.>"}, "storage": "memory", "max_consumers": 1}},
		{name: "first consumer", subj: "$JS.API.CONSUMER.CREATE.T.A", body: M{"stream_name": "T", "config": M{"durable_name": "A"}}},
		{name: "over max_consumers", subj: "$JS.API.CONSUMER.CREATE.T.B", body: M{"stream_name": "T", "config": M{"durable_name": "B"}}},
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

func TestDiffConsumerPull(t *testing.T) {
	ms := 400 * time.Millisecond
	runConsumerSteps(t, []cstep{
		streamS(nil),
		pubS("S.a", "1111111111"), pubS("S.b", "2222222222"),
		ccreate("create", "C", M{"durable_name": "C", "ack_policy": "explicit"}, ""),
		next("no wait batch", "C", M{"batch": 5, "no_wait": true}, ms),
		next("no wait nothing", "C", M{"batch": 5, "no_wait": true}, ms),
		next("no wait with expires", "C", M{"batch": 5, "no_wait": true, "expires": 100e6}, ms),
		next("expires", "C", M{"batch": 5, "expires": 100e6}, ms),
		next("heartbeat too large", "C", M{"batch": 5, "expires": 500e6, "idle_heartbeat": 300e6}, ms),
		next("heartbeat without expires", "C", M{"batch": 5, "idle_heartbeat": 300e6}, ms),
		next("bad json", "C", "{bad", ms),
		next("unknown field", "C", M{"batch": 1, "bogus": 1, "no_wait": true}, ms),
		next("batch 0", "C", M{"batch": 0, "no_wait": true}, ms),
		next("negative expires", "C", M{"batch": 1, "expires": -5}, ms),
		next("missing consumer", "X", nil, ms),
		{name: "missing stream", subj: "$JS.API.CONSUMER.MSG.NEXT.Q.X", pull: ms},
		pubS("S.a", "3333333333"),
		next("integer body", "C", "3", ms),
		pubS("S.b", "4444444444"), pubS("S.b", "5555555555"), pubS("S.b", "6666666666"),
		next("max bytes too small", "C", M{"batch": 5, "max_bytes": 5, "expires": 100e6}, ms),
		next("max bytes one message", "C", M{"batch": 5, "max_bytes": 60, "expires": 100e6}, ms),
		next("max bytes batch done", "C", M{"batch": 1, "max_bytes": 200, "expires": 100e6}, ms),
		next("max bytes expires", "C", M{"batch": 5, "max_bytes": 200, "expires": 100e6}, ms),
		cinfo("info", "C"),
		ccreate("limits", "L", M{"durable_name": "L", "ack_policy": "explicit", "max_batch": 2, "max_expires": 1e9, "max_bytes": 100, "max_waiting": 1}, ""),
		next("over max batch", "L", M{"batch": 5}, ms),
		next("over max expires", "L", M{"batch": 1, "expires": 5e9}, ms),
		next("over max bytes", "L", M{"batch": 1, "max_bytes": 500}, ms),
		ccreate("push", "P", M{"durable_name": "P", "deliver_subject": "dlv"}, ""),
		next("next on push", "P", M{"batch": 1}, ms),
	})
}

func TestDiffConsumerAcks(t *testing.T) {
	ms := 200 * time.Millisecond
	steps := []cstep{streamS(nil)}
	for i := 1; i <= 6; i++ {
		steps = append(steps, pubS("S.a", fmt.Sprint(i)))
	}
	steps = append(steps,
		ccreate("create", "C", M{"durable_name": "C", "ack_policy": "explicit", "ack_wait": 10e9}, ""),
		next("pull", "C", M{"batch": 6, "expires": 100e6}, ms),
		cstep{name: "ack sync", ack: 2, body: "+ACK", sync: true},
		cstep{name: "ack sync again", ack: 2, body: "+ACK", sync: true},
		cstep{name: "nak", ack: 1, body: "-NAK"},
		cstep{name: "nak with delay", ack: 3, body: `-NAK {"delay": 400000000}`},
		cstep{name: "term", ack: 4, body: "+TERM because"},
		cstep{name: "progress", ack: 5, body: "+WPI"},
		cinfo("info after acks", "C"),
		next("redeliveries", "C", M{"batch": 6, "expires": 700e6}, 900*time.Millisecond),
		cinfo("info after redeliveries", "C"),
		cstep{name: "ack redelivered", ack: 1, body: "+ACK"},
		cstep{name: "ack redelivered nak-delayed", ack: 2, body: ""},
		cinfo("info after more acks", "C"),
		ccreate("ack all", "A", M{"durable_name": "A", "ack_policy": "all"}, ""),
		next("pull ack all", "A", M{"batch": 5, "expires": 100e6}, ms),
		cstep{name: "ack the third", ack: 3, body: "+ACK"},
		cinfo("ack all floor", "A"),
		cstep{name: "nak under ack all", ack: 5, body: "-NAK"},
		cinfo("ack all after nak", "A"),
		ccreate("max deliver", "MD", M{"durable_name": "MD", "ack_policy": "explicit", "ack_wait": 200e6, "max_deliver": 2, "filter_subject": "S.a"}, ""),
		next("first delivery", "MD", M{"batch": 1, "expires": 100e6}, ms),
		cstep{name: "wait ack wait", sleep: 300 * time.Millisecond, subj: "$JS.API.CONSUMER.INFO.S.MD"},
		next("second delivery", "MD", M{"batch": 1, "expires": 100e6}, ms),
		cstep{name: "wait again", sleep: 300 * time.Millisecond, subj: "$JS.API.CONSUMER.INFO.S.MD"},
		next("no third delivery", "MD", M{"batch": 1, "expires": 100e6}, ms),
		cinfo("max deliver info", "MD"),
		ccreate("ack none", "N", M{"durable_name": "N"}, ""),
		next("pull ack none", "N", M{"batch": 2, "expires": 100e6}, ms),
		cstep{name: "ack on ack none", ack: 1, body: "+ACK", sync: true},
		cinfo("ack none info", "N"),
		ccreate("next via ack", "X", M{"durable_name": "X", "ack_policy": "explicit"}, ""),
		next("pull one", "X", M{"batch": 1, "expires": 100e6}, ms),
		cinfo("before +NXT", "X"),
	)
	runConsumerSteps(t, steps)
}

func TestDiffConsumerPauseResetUnpin(t *testing.T) {
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339Nano)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)
	pv := []string{"pause_until", "pause_remaining"}
	runConsumerSteps(t, []cstep{
		streamS(nil),
		pubS("S.a", "1"), pubS("S.a", "2"),
		ccreate("create", "C", M{"durable_name": "C", "ack_policy": "explicit"}, ""),
		{name: "pause", subj: "$JS.API.CONSUMER.PAUSE.S.C", body: M{"pause_until": until}, ignore: pv},
		{name: "info paused", subj: "$JS.API.CONSUMER.INFO.S.C", ignore: pv},
		next("pull paused", "C", M{"batch": 1, "expires": 100e6}, 200*time.Millisecond),
		{name: "resume", subj: "$JS.API.CONSUMER.PAUSE.S.C"},
		next("pull resumed", "C", M{"batch": 1, "expires": 100e6}, 200*time.Millisecond),
		{name: "pause in the past", subj: "$JS.API.CONSUMER.PAUSE.S.C", body: M{"pause_until": past}, ignore: pv},
		{name: "pause missing", subj: "$JS.API.CONSUMER.PAUSE.S.X", body: M{"pause_until": until}},
		{name: "pause bad json", subj: "$JS.API.CONSUMER.PAUSE.S.C", body: "{x"},
		{name: "create paused", subj: "$JS.API.CONSUMER.CREATE.S.P", body: M{"stream_name": "S", "config": M{"durable_name": "P", "pause_until": until}}, ignore: pv},
		{name: "re-create keeps pause", subj: "$JS.API.CONSUMER.CREATE.S.P", body: M{"stream_name": "S", "config": M{"durable_name": "P"}}, ignore: pv},
		{name: "info re-created", subj: "$JS.API.CONSUMER.INFO.S.P", ignore: pv},
		{name: "reset", subj: "$JS.API.CONSUMER.RESET.S.C", ignore: pv},
		{name: "reset to seq", subj: "$JS.API.CONSUMER.RESET.S.C", body: M{"seq": 2}, ignore: pv},
		next("pull after reset", "C", M{"batch": 5, "expires": 100e6}, 200*time.Millisecond),
		{name: "reset past the end", subj: "$JS.API.CONSUMER.RESET.S.C", body: M{"seq": 100}, ignore: pv},
		{name: "reset missing", subj: "$JS.API.CONSUMER.RESET.S.X", timeout: 300 * time.Millisecond},
		{name: "unpin without group", subj: "$JS.API.CONSUMER.UNPIN.S.C", body: M{"group": "A"}},
		{name: "unpin empty", subj: "$JS.API.CONSUMER.UNPIN.S.C"},
	})
}

func TestDiffConsumerPriorityGroups(t *testing.T) {
	ms := 200 * time.Millisecond
	steps := []cstep{streamS(nil)}
	for i := 1; i <= 6; i++ {
		steps = append(steps, pubS("S.a", fmt.Sprint(i)))
	}
	pin := []string{"pinned_client_id", "pinned_ts"}
	steps = append(steps,
		ccreate("pinned", "C", M{"durable_name": "C", "ack_policy": "explicit", "priority_groups": []string{"A"}, "priority_policy": "pinned_client", "priority_timeout": 5e9}, ""),
		next("no group", "C", M{"batch": 1, "expires": 100e6}, ms),
		next("unknown group", "C", M{"batch": 1, "expires": 100e6, "group": "B"}, ms),
		next("gets pinned", "C", M{"batch": 1, "expires": 100e6, "group": "A"}, ms),
		next("other client waits", "C", M{"batch": 1, "expires": 100e6, "group": "A"}, ms),
		next("wrong id", "C", M{"batch": 1, "expires": 100e6, "group": "A", "id": "bogus"}, ms),
		cstep{name: "pinned info", subj: "$JS.API.CONSUMER.INFO.S.C", ignore: pin},
		cstep{name: "unpin", subj: "$JS.API.CONSUMER.UNPIN.S.C", body: M{"group": "A"}},
		cstep{name: "unpin unknown group", subj: "$JS.API.CONSUMER.UNPIN.S.C", body: M{"group": "B"}},
		next("stale id", "C", M{"batch": 1, "expires": 100e6, "group": "A", "id": "bogus"}, ms),
		next("new pin", "C", M{"batch": 1, "expires": 100e6, "group": "A"}, ms),
		cstep{name: "unpinned info", subj: "$JS.API.CONSUMER.UNPIN.S.C", body: M{"group": "A"}},
		cinfo("info after unpin", "C"),
		ccreate("short pin", "T", M{"durable_name": "T", "ack_policy": "explicit", "priority_groups": []string{"A"}, "priority_policy": "pinned_client", "priority_timeout": 200e6}, ""),
		next("pin T", "T", M{"batch": 1, "expires": 100e6, "group": "A"}, 100*time.Millisecond),
		cstep{name: "pin times out", sleep: 600 * time.Millisecond},
		cinfo("pin gone", "T"),
		ccreate("overflow", "O", M{"durable_name": "O", "ack_policy": "explicit", "priority_groups": []string{"A"}, "priority_policy": "overflow"}, ""),
		next("overflow no group", "O", M{"batch": 1, "expires": 100e6}, ms),
		next("min pending not met", "O", M{"batch": 1, "expires": 100e6, "group": "A", "min_pending": 10}, ms),
		next("min pending met", "O", M{"batch": 1, "expires": 100e6, "group": "A", "min_pending": 2}, ms),
		next("min ack pending not met", "O", M{"batch": 1, "expires": 100e6, "group": "A", "min_ack_pending": 5}, ms),
		next("min ack pending met", "O", M{"batch": 1, "expires": 100e6, "group": "A", "min_ack_pending": 1}, ms),
		next("no wait, not met", "O", M{"batch": 1, "no_wait": true, "group": "A", "min_pending": 10}, ms),
		ccreate("prioritized", "P", M{"durable_name": "P", "ack_policy": "explicit", "priority_groups": []string{"A"}, "priority_policy": "prioritized"}, ""),
		next("priority out of range", "P", M{"batch": 1, "expires": 100e6, "group": "A", "priority": 10}, ms),
		next("priority 3", "P", M{"batch": 1, "expires": 100e6, "group": "A", "priority": 3}, ms),
		cinfo("prioritized info", "P"),
	)
	runConsumerSteps(t, steps)
}

func TestDiffConsumerRetention(t *testing.T) {
	ms := 200 * time.Millisecond
	sinfo := func(name string) cstep { return cstep{name: name, subj: "$JS.API.STREAM.INFO.S"} }
	t.Run("workqueue", func(t *testing.T) {
		runConsumerSteps(t, []cstep{
			streamS(M{"retention": "workqueue"}),
			pubS("S.a", "1"), pubS("S.b", "2"),
			ccreate("ack none pull", "N", M{"durable_name": "N"}, ""),
			ccreate("push ack none", "C5", M{"durable_name": "C5", "deliver_subject": "x", "filter_subject": "S.z"}, ""),
			ccreate("deliver last", "C4", M{"durable_name": "C4", "ack_policy": "explicit", "deliver_policy": "last", "filter_subject": "S.q"}, ""),
			ccreate("first", "C1", M{"durable_name": "C1", "ack_policy": "explicit"}, ""),
			ccreate("second unfiltered", "C2", M{"durable_name": "C2", "ack_policy": "explicit"}, ""),
			ccreate("second filtered", "C3", M{"durable_name": "C3", "ack_policy": "explicit", "filter_subject": "S.a"}, ""),
			next("pull", "C1", M{"batch": 2, "no_wait": true}, ms),
			cstep{name: "ack first", ack: 1, sync: true},
			sinfo("after ack"),
			{name: "delete first", subj: "$JS.API.CONSUMER.DELETE.S.C1"},
			sinfo("after delete"),
			ccreate("filtered", "F1", M{"durable_name": "F1", "ack_policy": "explicit", "filter_subject": "S.a"}, ""),
			ccreate("overlapping", "F2", M{"durable_name": "F2", "ack_policy": "explicit", "filter_subject": "S.>"}, ""),
			ccreate("disjoint", "F3", M{"durable_name": "F3", "ack_policy": "explicit", "filter_subject": "S.b"}, ""),
			next("pull disjoint", "F3", M{"batch": 2, "no_wait": true}, ms),
			cstep{name: "term it", ack: 1, body: "+TERM"},
			sinfo("after term"),
		})
	})
	t.Run("interest", func(t *testing.T) {
		runConsumerSteps(t, []cstep{
			streamS(M{"retention": "interest"}),
			pubS("S.a", "1"),
			sinfo("no interest"),
			ccreate("c1", "C1", M{"durable_name": "C1", "ack_policy": "explicit"}, ""),
			ccreate("c2", "C2", M{"durable_name": "C2", "ack_policy": "explicit", "filter_subject": "S.b"}, ""),
			pubS("S.a", "2"), pubS("S.b", "3"), pubS("S.c", "4"),
			sinfo("three"),
			next("pull c1", "C1", M{"batch": 3, "no_wait": true}, ms),
			cstep{name: "ack 1", ack: 1, sync: true},
			cstep{name: "ack 2", ack: 2, sync: true},
			sinfo("after c1 acks"),
			{name: "delete c2", subj: "$JS.API.CONSUMER.DELETE.S.C2", sleep: 100 * time.Millisecond},
			sinfo("after delete c2"),
			ccreate("ack none", "C3", M{"durable_name": "C3"}, ""),
			pubS("S.a", "5"),
			next("pull c3", "C3", M{"batch": 3, "no_wait": true}, ms),
			sinfo("after c3 delivered"),
			next("pull c1 again", "C1", M{"batch": 3, "no_wait": true}, ms),
			cstep{name: "ack 4", ack: 1, sync: true},
			cstep{name: "ack 5", ack: 2, sync: true},
			sinfo("all acked"),
		})
	})
}
