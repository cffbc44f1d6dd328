package diff

import (
	"testing"
	"time"
)

func TestDiffStreamMisc(t *testing.T) {
	short := 500 * time.Millisecond
	runSteps(t, []step{
		{name: "create", subj: "$JS.API.STREAM.CREATE.M", body: mem(map[string]any{"name": "M", "subjects": []string{"m.>"}, "allow_direct": true})},
		{name: "pub a", pub: true, subj: "m.a", data: "1", hdr: map[string]string{"X": "y"}},
		{name: "pub b", pub: true, subj: "m.b", data: "2"},
		{name: "stepdown", subj: "$JS.API.STREAM.LEADER.STEPDOWN.M"},
		{name: "peer remove", subj: "$JS.API.STREAM.PEER.REMOVE.M", body: map[string]any{"peer": "x"}},
		{name: "purge seq and keep", subj: "$JS.API.STREAM.PURGE.M", body: map[string]any{"seq": 2, "keep": 1}},
		{name: "msg get empty", subj: "$JS.API.STREAM.MSG.GET.M"},
		{name: "msg get seq and last", subj: "$JS.API.STREAM.MSG.GET.M", body: map[string]any{"seq": 1, "last_by_subj": "m.a"}},
		{name: "msg get next", subj: "$JS.API.STREAM.MSG.GET.M", body: map[string]any{"seq": 1, "next_by_subj": "m.b"}},
		{name: "msg delete missing", subj: "$JS.API.STREAM.MSG.DELETE.M", body: map[string]any{"seq": 9}},
		{name: "msg delete no erase", subj: "$JS.API.STREAM.MSG.DELETE.M", body: map[string]any{"seq": 1, "no_erase": true}},
		{name: "direct get empty", subj: "$JS.API.DIRECT.GET.M"},
		{name: "direct get missing", subj: "$JS.API.DIRECT.GET.M", body: map[string]any{"seq": 9}},
		{name: "direct get bad", subj: "$JS.API.DIRECT.GET.M", body: map[string]any{"seq": 1, "last_by_subj": "m.b"}},
		{name: "direct last missing", subj: "$JS.API.DIRECT.GET.M.m.zz"},
		{name: "direct nostream", subj: "$JS.API.DIRECT.GET.NOPE", body: map[string]any{"seq": 1}},
		{name: "info nostream body", subj: "$JS.API.STREAM.INFO.NOPE", body: map[string]any{"deleted_details": true}},
		{name: "pedantic defaults", subj: "$JS.API.STREAM.CREATE.PD", body: map[string]any{"name": "PD", "storage": "memory", "pedantic": true}},
		{name: "names bad filter", subj: "$JS.API.STREAM.NAMES", body: map[string]any{"subject": "a..b"}},
		{name: "list offset", subj: "$JS.API.STREAM.LIST", body: map[string]any{"offset": 5}},
		{name: "account purge non-system", subj: "$JS.API.ACCOUNT.PURGE.$G", timeout: short},
		{name: "meta stepdown non-system", subj: "$JS.API.META.LEADER.STEPDOWN", timeout: short},
		{name: "sources", subj: "$JS.API.STREAM.CREATE.SRC", body: mem(map[string]any{"name": "SRC", "sources": []map[string]any{{"name": "M", "filter_subject": "m.a"}}})},
		{name: "mirror", subj: "$JS.API.STREAM.CREATE.MIR", body: mem(map[string]any{"name": "MIR", "mirror": map[string]any{"name": "M"}})},
		{name: "mirror update", subj: "$JS.API.STREAM.UPDATE.MIR", body: mem(map[string]any{"name": "MIR", "mirror": map[string]any{"name": "SRC"}})},
		{name: "dup sources", subj: "$JS.API.STREAM.CREATE.DS", body: mem(map[string]any{"name": "DS", "sources": []map[string]any{{"name": "M"}, {"name": "M"}}})},
		{name: "republish cycle", subj: "$JS.API.STREAM.CREATE.RP", body: mem(map[string]any{"name": "RP", "subjects": []string{"rp.>"}, "republish": map[string]any{"src": ">", "dest": "rp.x"}})},
		{name: "sdm without ttl", subj: "$JS.API.STREAM.CREATE.SDM", body: mem(map[string]any{"name": "SDM", "subject_delete_marker_ttl": 500e6})},
		{name: "sdm ok", subj: "$JS.API.STREAM.CREATE.SDM", body: mem(map[string]any{"name": "SDM", "subject_delete_marker_ttl": 2e9, "max_age": 10e9})},
	})
}
