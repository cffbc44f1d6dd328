package diff

import (
	"testing"
	"time"
)

func mem(cfg map[string]any) map[string]any {
	cfg["storage"] = "memory"
	return cfg
}

func TestDiffStreamLifecycle(t *testing.T) {
	runSteps(t, []step{
		{name: "info before", subj: "$JS.API.INFO"},
		{name: "create", subj: "$JS.API.STREAM.CREATE.ORDERS", body: mem(map[string]any{"name": "ORDERS", "subjects": []string{"orders.>"}})},
		{name: "create identical", subj: "$JS.API.STREAM.CREATE.ORDERS", body: mem(map[string]any{"name": "ORDERS", "subjects": []string{"orders.>"}})},
		{name: "create different", subj: "$JS.API.STREAM.CREATE.ORDERS", body: mem(map[string]any{"name": "ORDERS", "subjects": []string{"orders.*"}})},
		{name: "pub 1", pub: true, subj: "orders.new", data: "one"},
		{name: "pub 2", pub: true, subj: "orders.new", data: "two"},
		{name: "pub 3", pub: true, subj: "orders.old", data: "three"},
		{name: "info", subj: "$JS.API.STREAM.INFO.ORDERS"},
		{name: "info subjects", subj: "$JS.API.STREAM.INFO.ORDERS", body: map[string]any{"subjects_filter": ">"}},
		{name: "names", subj: "$JS.API.STREAM.NAMES"},
		{name: "names filter", subj: "$JS.API.STREAM.NAMES", body: map[string]any{"subject": "orders.new"}},
		{name: "list", subj: "$JS.API.STREAM.LIST"},
		{name: "msg get", subj: "$JS.API.STREAM.MSG.GET.ORDERS", body: map[string]any{"seq": 2}},
		{name: "msg get last", subj: "$JS.API.STREAM.MSG.GET.ORDERS", body: map[string]any{"last_by_subj": "orders.new"}},
		{name: "msg get missing", subj: "$JS.API.STREAM.MSG.GET.ORDERS", body: map[string]any{"seq": 99}},
		{name: "msg delete", subj: "$JS.API.STREAM.MSG.DELETE.ORDERS", body: map[string]any{"seq": 1}},
		{name: "info deleted", subj: "$JS.API.STREAM.INFO.ORDERS", body: map[string]any{"deleted_details": true}},
		{name: "purge subject", subj: "$JS.API.STREAM.PURGE.ORDERS", body: map[string]any{"filter": "orders.old"}},
		{name: "purge all", subj: "$JS.API.STREAM.PURGE.ORDERS"},
		{name: "info after purge", subj: "$JS.API.STREAM.INFO.ORDERS"},
		{name: "account info", subj: "$JS.API.INFO"},
		{name: "delete", subj: "$JS.API.STREAM.DELETE.ORDERS"},
		{name: "delete again", subj: "$JS.API.STREAM.DELETE.ORDERS"},
		{name: "info missing", subj: "$JS.API.STREAM.INFO.ORDERS"},
	})
}

func TestDiffStreamConfigErrors(t *testing.T) {
	runSteps(t, []step{
		{name: "name mismatch", subj: "$JS.API.STREAM.CREATE.A", body: mem(map[string]any{"name": "B"})},
		{name: "bad json", subj: "$JS.API.STREAM.CREATE.A", body: "{nope"},
		{name: "unknown field", subj: "$JS.API.STREAM.CREATE.A", body: mem(map[string]any{"name": "A", "bogus": 1})},
		{name: "bad retention", subj: "$JS.API.STREAM.CREATE.A", body: mem(map[string]any{"name": "A", "retention": "forever"})},
		{name: "replicas", subj: "$JS.API.STREAM.CREATE.A", body: mem(map[string]any{"name": "A", "num_replicas": 3})},
		{name: "small max age", subj: "$JS.API.STREAM.CREATE.A", body: mem(map[string]any{"name": "A", "max_age": 1000})},
		{name: "dup window > max age", subj: "$JS.API.STREAM.CREATE.A", body: mem(map[string]any{"name": "A", "max_age": 10e9, "duplicate_window": 20e9})},
		{name: "mirror with subjects", subj: "$JS.API.STREAM.CREATE.A", body: mem(map[string]any{"name": "A", "subjects": []string{"x"}, "mirror": map[string]any{"name": "B"}})},
		{name: "sealed create", subj: "$JS.API.STREAM.CREATE.A", body: mem(map[string]any{"name": "A", "sealed": true})},
		{name: "discard new per subject", subj: "$JS.API.STREAM.CREATE.A", body: mem(map[string]any{"name": "A", "discard_new_per_subject": true})},
		{name: "ok", subj: "$JS.API.STREAM.CREATE.A", body: mem(map[string]any{"name": "A", "subjects": []string{"a.>"}})},
		{name: "overlap", subj: "$JS.API.STREAM.CREATE.B", body: mem(map[string]any{"name": "B", "subjects": []string{"a.b"}})},
		{name: "update missing", subj: "$JS.API.STREAM.UPDATE.C", body: mem(map[string]any{"name": "C"})},
		{name: "update storage", subj: "$JS.API.STREAM.UPDATE.A", body: map[string]any{"name": "A", "subjects": []string{"a.>"}, "storage": "file"}},
		{name: "update ok", subj: "$JS.API.STREAM.UPDATE.A", body: mem(map[string]any{"name": "A", "subjects": []string{"a.>", "b.>"}, "max_msgs": 10})},
		{name: "delete with body", subj: "$JS.API.STREAM.DELETE.A", body: "{}"},
		{name: "unknown api", subj: "$JS.API.STREAM.FROB.A", timeout: 300 * time.Millisecond},
	})
}

func TestDiffPublishPreconditions(t *testing.T) {
	runSteps(t, []step{
		{name: "create", subj: "$JS.API.STREAM.CREATE.P", body: mem(map[string]any{"name": "P", "subjects": []string{"p.>"}, "allow_rollup_hdrs": true})},
		{name: "pub", pub: true, subj: "p.a", data: "1", hdr: map[string]string{"Nats-Msg-Id": "m1"}},
		{name: "dup", pub: true, subj: "p.a", data: "1", hdr: map[string]string{"Nats-Msg-Id": "m1"}},
		{name: "expected stream wrong", pub: true, subj: "p.a", data: "x", hdr: map[string]string{"Nats-Expected-Stream": "Q"}},
		{name: "expected stream ok", pub: true, subj: "p.a", data: "x", hdr: map[string]string{"Nats-Expected-Stream": "P"}},
		{name: "expected last seq wrong", pub: true, subj: "p.a", data: "x", hdr: map[string]string{"Nats-Expected-Last-Sequence": "7"}},
		{name: "expected last seq ok", pub: true, subj: "p.a", data: "x", hdr: map[string]string{"Nats-Expected-Last-Sequence": "2"}},
		{name: "expected last msg id wrong", pub: true, subj: "p.a", data: "x", hdr: map[string]string{"Nats-Expected-Last-Msg-Id": "zz"}},
		{name: "expected last subj seq wrong", pub: true, subj: "p.b", data: "x", hdr: map[string]string{"Nats-Expected-Last-Subject-Sequence": "3"}},
		{name: "expected last subj seq zero", pub: true, subj: "p.b", data: "x", hdr: map[string]string{"Nats-Expected-Last-Subject-Sequence": "0"}},
		{name: "expected last subj seq subject", pub: true, subj: "p.c", data: "x", hdr: map[string]string{"Nats-Expected-Last-Subject-Sequence": "4", "Nats-Expected-Last-Subject-Sequence-Subject": "p.b"}},
		{name: "subject hdr alone", pub: true, subj: "p.c", data: "x", hdr: map[string]string{"Nats-Expected-Last-Subject-Sequence-Subject": "p.b"}},
		{name: "rollup sub", pub: true, subj: "p.a", data: "r", hdr: map[string]string{"Nats-Rollup": "sub"}},
		{name: "rollup bad", pub: true, subj: "p.a", data: "r", hdr: map[string]string{"Nats-Rollup": "what"}},
		{name: "ttl disabled", pub: true, subj: "p.a", data: "r", hdr: map[string]string{"Nats-TTL": "5s"}},
		{name: "info", subj: "$JS.API.STREAM.INFO.P", body: map[string]any{"subjects_filter": ">"}},
	})
}

func TestDiffLimits(t *testing.T) {
	runSteps(t, []step{
		{name: "create", subj: "$JS.API.STREAM.CREATE.L", body: mem(map[string]any{"name": "L", "subjects": []string{"l.>"}, "max_msgs": 2, "discard": "new"})},
		{name: "pub 1", pub: true, subj: "l.a", data: "1"},
		{name: "pub 2", pub: true, subj: "l.a", data: "2"},
		{name: "pub 3 rejected", pub: true, subj: "l.a", data: "3"},
		{name: "create per subject", subj: "$JS.API.STREAM.CREATE.K", body: mem(map[string]any{"name": "K", "subjects": []string{"k.>"}, "max_msgs_per_subject": 1, "discard": "new", "discard_new_per_subject": true})},
		{name: "k 1", pub: true, subj: "k.a", data: "1"},
		{name: "k 2 rejected", pub: true, subj: "k.a", data: "2"},
		{name: "create size", subj: "$JS.API.STREAM.CREATE.S", body: mem(map[string]any{"name": "S", "subjects": []string{"s.>"}, "max_msg_size": 4})},
		{name: "too big", pub: true, subj: "s.a", data: "12345"},
		{name: "create old", subj: "$JS.API.STREAM.CREATE.O", body: mem(map[string]any{"name": "O", "subjects": []string{"o.>"}, "max_msgs": 2})},
		{name: "o 1", pub: true, subj: "o.a", data: "1"},
		{name: "o 2", pub: true, subj: "o.a", data: "2"},
		{name: "o 3", pub: true, subj: "o.a", data: "3"},
		{name: "o info", subj: "$JS.API.STREAM.INFO.O"},
	})
}
