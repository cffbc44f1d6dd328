// Package contract checks that the Go contracts and the protobuf contracts
// of record describe the same thing.
package contract

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"unicode"

	"github.com/hangar-mq/hangar/core/store"
	storev1 "github.com/hangar-mq/hangar/proto/store/v1"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// protoOnly lists proto methods that are transport forms of a Go method
// rather than methods of their own: service.method -> Go method.
var protoOnly = map[string]string{
	"StreamStore.StoreStream": "StoreBatch",
}

// streaming lists the proto methods that stream, and how.
var streaming = map[string]string{
	"StoreProvider.Restore":   "client",
	"StreamStore.StoreStream": "bidi",
	"StreamStore.Snapshot":    "server",
}

func TestServicesMatchInterfaces(t *testing.T) {
	fd := storev1.File_store_v1_store_proto
	cases := []struct {
		service string
		iface   reflect.Type
	}{
		{"StoreProvider", reflect.TypeFor[store.Provider]()},
		{"StreamStore", reflect.TypeFor[store.StreamStore]()},
		{"ConsumerStore", reflect.TypeFor[store.ConsumerStore]()},
	}
	if n := fd.Services().Len(); n != len(cases) {
		t.Errorf("store.proto has %d services, the test knows %d", n, len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.service, func(t *testing.T) {
			sd := fd.Services().ByName(protoreflect.Name(tc.service))
			if sd == nil {
				t.Fatalf("no service %s", tc.service)
			}
			goMethods := map[string]bool{}
			for i := range tc.iface.NumMethod() {
				m := tc.iface.Method(i)
				goMethods[m.Name] = true
				if m.Type.NumIn() == 0 || m.Type.In(0) != reflect.TypeFor[context.Context]() {
					t.Errorf("Go %s.%s does not take a context first", tc.service, m.Name)
				}
			}
			protoMethods := map[string]bool{}
			for i := range sd.Methods().Len() {
				md := sd.Methods().Get(i)
				name := string(md.Name())
				key := tc.service + "." + name
				if form, ok := protoOnly[key]; ok {
					if !goMethods[form] {
						t.Errorf("proto %s is a form of Go %s, which does not exist", key, form)
					}
				} else {
					protoMethods[name] = true
					if !goMethods[name] {
						t.Errorf("proto %s has no Go method", key)
					}
				}
				if got, want := streamKind(md), streaming[key]; got != want {
					t.Errorf("proto %s streams %q, want %q", key, got, want)
				}
				if f := md.Output().Fields().ByNumber(1); f == nil || f.Name() != "error" || f.Message() == nil || f.Message().Name() != "Error" {
					t.Errorf("proto %s: response %s lacks `Error error = 1`", key, md.Output().Name())
				}
				if h := handleField[tc.service]; h != "" {
					if f := md.Input().Fields().ByNumber(1); f == nil || string(f.Name()) != h || f.Kind() != protoreflect.Uint64Kind {
						t.Errorf("proto %s: request %s lacks `uint64 %s = 1`", key, md.Input().Name(), h)
					}
				}
			}
			for name := range goMethods {
				if !protoMethods[name] {
					t.Errorf("Go %s.%s has no proto method", tc.service, name)
				}
			}
		})
	}
}

// handleField is the handle every request of a service names in field 1.
var handleField = map[string]string{"StreamStore": "stream", "ConsumerStore": "consumer"}

func streamKind(md protoreflect.MethodDescriptor) string {
	switch {
	case md.IsStreamingClient() && md.IsStreamingServer():
		return "bidi"
	case md.IsStreamingClient():
		return "client"
	case md.IsStreamingServer():
		return "server"
	}
	return ""
}

func TestMessagesMatchTypes(t *testing.T) {
	msgs := storev1.File_store_v1_store_proto.Messages()
	cases := []struct {
		goType  reflect.Type
		message string
		renames map[string]string // Go field -> proto field, when not the snake case
		extra   []string          // proto fields with no Go field (handles)
	}{
		{reflect.TypeFor[store.StreamConfig](), "StreamConfig", nil, nil},
		{reflect.TypeFor[store.NewMsg](), "NewMsg", nil, nil},
		{reflect.TypeFor[store.Msg](), "Msg", nil, nil},
		{reflect.TypeFor[store.StoreResult](), "StoreResult", map[string]string{"Err": "error"}, nil},
		{reflect.TypeFor[store.Range](), "Range", nil, nil},
		{reflect.TypeFor[store.LostData](), "LostData", nil, nil},
		{reflect.TypeFor[store.StreamState](), "StreamState", nil, nil},
		{reflect.TypeFor[store.SimpleState](), "SimpleState", nil, nil},
		{reflect.TypeFor[store.ExpireResult](), "ExpireResult", nil, nil},
		{reflect.TypeFor[store.Capabilities](), "Capabilities", nil, nil},
		{reflect.TypeFor[store.ProviderDescription](), "ProviderDescription", nil, nil},
		{reflect.TypeFor[store.SeqPair](), "SeqPair", nil, nil},
		{reflect.TypeFor[store.Pending](), "Pending", nil, nil},
		{reflect.TypeFor[store.ConsumerState](), "ConsumerState", nil, nil},
		{reflect.TypeFor[store.ConsumerInfo](), "ConsumerInfo", nil, nil},
		{reflect.TypeFor[store.PurgeRequest](), "PurgeRequest", nil, []string{"stream"}},
		{reflect.TypeFor[store.RangeRequest](), "LoadRangeRequest", nil, []string{"stream"}},
		{reflect.TypeFor[store.SnapshotOptions](), "SnapshotRequest", nil, []string{"stream"}},
	}
	for _, tc := range cases {
		t.Run(tc.message, func(t *testing.T) {
			md := msgs.ByName(protoreflect.Name(tc.message))
			if md == nil {
				t.Fatalf("no message %s", tc.message)
			}
			want := map[string]bool{}
			for i := range tc.goType.NumField() {
				f := tc.goType.Field(i)
				name := snake(f.Name)
				if r, ok := tc.renames[f.Name]; ok {
					name = r
				}
				want[name] = true
				if md.Fields().ByName(protoreflect.Name(name)) == nil {
					t.Errorf("Go %s.%s has no proto field %s", tc.goType.Name(), f.Name, name)
				}
			}
			for _, e := range tc.extra {
				want[e] = true
			}
			for i := range md.Fields().Len() {
				if name := string(md.Fields().Get(i).Name()); !want[name] {
					t.Errorf("proto %s.%s has no Go field", tc.message, name)
				}
			}
		})
	}
}

func TestErrorKindsMatch(t *testing.T) {
	ed := storev1.File_store_v1_store_proto.Enums().ByName("ErrorKind")
	kinds := append([]store.ErrorKind{store.KindUnknown}, store.Kinds()...)
	if ed.Values().Len() != len(kinds) {
		t.Errorf("proto ErrorKind has %d values, Go %d", ed.Values().Len(), len(kinds))
	}
	for _, k := range kinds {
		name := "ERROR_KIND_" + strings.ToUpper(snake(k.String()))
		v := ed.Values().ByName(protoreflect.Name(name))
		if v == nil || int32(v.Number()) != int32(k) {
			t.Errorf("Go kind %s (%d) has no proto value %s with that number", k, k, name)
		}
	}
	for _, k := range store.Kinds() {
		if k.Sentinel() == nil || store.KindOf(k.Sentinel()) != k {
			t.Errorf("kind %s does not round-trip through its sentinel", k)
		}
	}
}

// snake converts a Go name to proto snake case: MaxMsgsPerSubject ->
// max_msgs_per_subject, AllowMsgTTL -> allow_msg_ttl, ID -> id.
func snake(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) && i > 0 {
			prevLower := unicode.IsLower(r[i-1]) || unicode.IsDigit(r[i-1])
			nextLower := i+1 < len(r) && unicode.IsLower(r[i+1])
			if prevLower || (unicode.IsUpper(r[i-1]) && nextLower) {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{"MaxMsgsPerSubject": "max_msgs_per_subject", "AllowMsgTTL": "allow_msg_ttl",
		"ID": "id", "EOF": "eof", "FirstSeq": "first_seq", "TooManyResults": "too_many_results"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}
